"""A separate process appending audit entries (tests/pipeline/test_audit_processes.py):
`python -m tests.pipeline.audit_writer URL NAME COUNT START_AT` waits until the wall-clock
START_AT, so that the writers begin together, then appends COUNT entries."""

from __future__ import annotations

import sys
import time

from sqlalchemy.orm import Session

from pipeline.store import audit
from pipeline.store.db import make_engine


def main(url: str, name: str, count: int, start_at: float) -> None:
    engine = make_engine(url)
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(count):
        with Session(engine) as session:
            audit.append(session, name, "evidence.view", None, {"i": i})
            session.commit()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
