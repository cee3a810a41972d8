"""Audit entries appended by several processes at once (API workers, the camera process)
still form one chain on SQLite."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy.orm import Session

from pipeline.store import audit
from pipeline.store.db import make_engine, migrate

APPENDS = 150


def _append_many(url: str, name: str, start: multiprocessing.synchronize.Event) -> None:
    engine = make_engine(url)
    start.wait()
    for i in range(APPENDS):
        with Session(engine) as session:
            audit.append(session, name, "evidence.view", None, {"i": i})
            session.commit()
    engine.dispose()


def test_two_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = make_engine(url)
    migrate(engine)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    writers = [spawn.Process(target=_append_many, args=(url, f"w{n}", start)) for n in (1, 2)]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    with Session(engine) as session:
        count = session.query(audit.AuditRow).count()
    assert count == 2 * APPENDS
    assert audit.verify_chain(engine) == []
    engine.dispose()
