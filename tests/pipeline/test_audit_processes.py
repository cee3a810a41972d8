"""Audit entries appended by several processes at once (API workers, the camera process)
still form one chain on SQLite."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pipeline.store import audit, db, users
from pipeline.store.db import make_engine, migrate

APPENDS = 150


def test_two_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = make_engine(url)
    migrate(engine)
    start_at = str(time.time() + 3)  # both have imported everything by then
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.pipeline.audit_writer",
                url,
                f"w{n}",
                str(APPENDS),
                start_at,
            ]
        )
        for n in (1, 2)
    ]
    for writer in writers:
        assert writer.wait(120) == 0
    with Session(engine) as session:
        count = session.query(audit.AuditRow).count()
    assert count == 2 * APPENDS
    assert audit.verify_chain(engine) == []
    engine.dispose()


def test_an_append_after_a_write_does_not_wait_on_another_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread A has written (it holds SQLite's write lock) and then appends; thread B
    appends meanwhile. B must wait for A's commit, not hold the process's append lock
    while A waits for it (that ended in "database is locked" after the busy timeout)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 3000)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    db.migrate(engine)
    a_wrote = threading.Event()
    errors: list[BaseException] = []

    def writer_then_append() -> None:
        with Session(engine) as session:
            users.create_team(session, "team-a", [])  # a write of the caller's own,
            session.flush()  # before its entry (as suppress() does)
            a_wrote.set()
            time.sleep(0.5)  # B is at its append now
            audit.append(session, "a", "team.create", None, {"team": "team-a"})
            session.commit()

    def append() -> None:
        a_wrote.wait(5)
        try:
            with Session(engine) as session:
                audit.append(session, "b", "evidence.view")
                session.commit()
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=writer_then_append), threading.Thread(target=append)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert time.monotonic() - started < 2.5  # no busy-timeout wait
    assert audit.verify_chain(engine) == []
    engine.dispose()
