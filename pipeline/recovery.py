"""Start-up recovery and `streetwatch verify`: evidence on disk and rows in the database agree.

Evidence files are renamed into place before their row is committed, so a crash can leave
files without a row (swept here, and logged) but never a row without its files. Files of
incidents still waiting in the pending-write queue (the database was unreachable) have no row
yet either; they are kept for the replay. `verify` recomputes every stored SHA-256 and the
audit chain and reports any mismatch.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.evidence import sha256_file, sweep_temporaries
from pipeline.pending_queue import pending_dir_for, queued_incident_ids
from pipeline.store.db import check_integrity
from pipeline.store.tables import EvidenceRow, IncidentRow

log = logging.getLogger(__name__)

BUSY_AGE_S = 120.0  # files this young may belong to another writer's incident in progress


@dataclass(slots=True)
class RecoveryReport:
    temporaries: list[Path] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)  # incident folders with no row
    queued: int = 0  # incidents kept because the pending-write queue still refers to them
    integrity: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VerifyReport:
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)


def recover(engine: Engine, evidence_dir: Path, pending_dir: Path | None = None) -> RecoveryReport:
    """Sweep what a crash can leave behind; run before any camera starts.

    Another writer on the same folder may be between writing an incident's files and
    committing its row, so only the process holding the folder's writer lock sweeps at once;
    others leave anything younger than `BUSY_AGE_S` alone.
    """
    report = RecoveryReport(integrity=check_integrity(engine))
    for problem in report.integrity:
        log.error("database integrity: %s", problem)
    if not evidence_dir.is_dir():
        return report
    min_age = 0.0 if _take_writer_lock(evidence_dir) else BUSY_AGE_S
    report.temporaries = sweep_temporaries(evidence_dir, min_age_s=min_age)
    queued = queued_incident_ids(pending_dir or pending_dir_for(evidence_dir))
    report.queued = len(queued)
    known = _incident_ids(engine) | queued
    now = time.time()
    for folder in _incident_folders(evidence_dir):
        if folder.name not in known and now - folder.stat().st_mtime >= min_age:
            shutil.rmtree(folder, ignore_errors=True)
            report.orphans.append(folder)
    if report.temporaries or report.orphans:
        log.warning(
            "recovery: removed %d unfinished files and %d evidence folders without an incident",
            len(report.temporaries),
            len(report.orphans),
        )
    return report


def verify(engine: Engine, evidence_dir: Path) -> VerifyReport:
    """Recompute every evidence hash and the audit chain."""
    report = VerifyReport()
    with Session(engine) as session:
        rows = session.execute(
            select(EvidenceRow.incident_id, EvidenceRow.path, EvidenceRow.sha256)
        ).all()
    root = evidence_dir.resolve()
    for incident_id, relative, expected in rows:
        path = (root / relative).resolve()
        report.files_checked += 1
        if not path.is_relative_to(root) or not path.is_file():
            report.problems.append(f"incident {incident_id}: evidence file missing: {relative}")
        elif sha256_file(path) != expected:
            report.problems.append(f"incident {incident_id}: SHA-256 mismatch: {relative}")
    report.problems.extend(f"audit log: {p}" for p in _audit_problems(engine))
    report.problems.extend(f"database: {p}" for p in check_integrity(engine))
    return report


def _audit_problems(engine: Engine) -> list[str]:
    try:
        from pipeline.store.audit import verify_chain
    except ImportError:  # the audit log arrives with the API; without it there is nothing to check
        return []
    return verify_chain(engine)


_LOCKS: dict[Path, int] = {}


def _take_writer_lock(evidence_dir: Path) -> bool:
    """An exclusive lock held for the life of this process; False if another has it."""
    path = (evidence_dir / ".writer.lock").resolve()
    if path in _LOCKS:
        return True
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _LOCKS[path] = fd
    return True


def _incident_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(IncidentRow.id)))


def _incident_folders(root: Path) -> list[Path]:
    # Layout: <root>/<first two characters of the id>/<id>/
    return [
        inc
        for prefix in root.iterdir()
        if prefix.is_dir() and len(prefix.name) == 2
        for inc in prefix.iterdir()
        if inc.is_dir()
    ]
