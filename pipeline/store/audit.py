"""The tamper-evident audit log: every entry's hash covers the hash of the entry before it.

`hash = sha256(prev_hash + canonical JSON of {at, actor, action, incident_id, detail})`, so
changing, inserting or deleting a row breaks the chain from that row on; `verify_chain`
finds where.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from pipeline.store.tables import AuditRow, utc_now

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
# Appends read the newest hash and write the next row. Two writers must not chain onto the
# same predecessor, so a process-wide lock is held from the read until the caller's
# transaction ends (commit or rollback). Across processes (`serve --api-workers`, the camera
# process, CLI commands) PostgreSQL takes an advisory lock and SQLite its write lock, both
# held to the end of the transaction.
_APPEND_LOCK = threading.Lock()
_HELD_KEY = "streetwatch.audit_lock"
_PG_LOCK_KEY = 0x5357_4155  # "SWAU"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    incident_id: str | None
    detail: dict[str, Any]


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The chained hash of one entry (timestamps in UTC to the microsecond)."""
    body = {
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "incident_id": entry.incident_id,
        "detail": entry.detail,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor: str,
    action: str,
    incident_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRow:
    """Add one entry inside the caller's transaction (committed with the caller's change)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # A write that changes nothing makes the transaction a writer, and SQLite lets one
        # writer in at a time: another process's append now waits (busy timeout) until
        # this transaction ends, so it reads the hash written here. Read first and two
        # processes could both chain onto the same entry (seen with two API workers).
        # Before the process lock: a caller that wrote already holds SQLite's lock, and
        # taking them in the other order would let two threads wait on each other.
        session.execute(text(f"DELETE FROM {AuditRow.__tablename__} WHERE 0"))
    _hold_until_transaction_ends(session)
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    entry = AuditEntry(utc_now(), actor, action, incident_id, dict(detail or {}))
    prev = session.scalar(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
    prev_hash = prev or GENESIS_HASH
    row = AuditRow(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        incident_id=entry.incident_id,
        detail=entry.detail,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, entry),
    )
    session.add(row)
    session.flush()
    return row


def _hold_until_transaction_ends(session: Session) -> None:
    """Take the append lock once per transaction; its end (commit, rollback, close) frees it."""
    if session.info.get(_HELD_KEY):
        return  # this transaction already holds it (several entries in one change)
    if not event.contains(session, "after_transaction_end", _release):
        event.listen(session, "after_transaction_end", _release)
    _APPEND_LOCK.acquire()
    session.info[_HELD_KEY] = True


def _release(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint ended, not the transaction
    if session.info.pop(_HELD_KEY, False):
        _APPEND_LOCK.release()


def entries_for_incident(session: Session, incident_id: str) -> list[AuditRow]:
    query = select(AuditRow).where(AuditRow.incident_id == incident_id).order_by(AuditRow.id)
    return list(session.scalars(query))


def verify_chain(engine: Engine) -> list[str]:
    """Problems in the audit chain; an empty list means no entry was altered or removed."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    with Session(engine) as session:
        for row in session.scalars(select(AuditRow).order_by(AuditRow.id)):
            if row.prev_hash != expected_prev:
                problems.append(f"entry {row.id}: does not follow the entry before it")
            entry = AuditEntry(row.at, row.actor, row.action, row.incident_id, row.detail)
            if entry_hash(row.prev_hash, entry) != row.hash:
                problems.append(f"entry {row.id} ({row.action}): content does not match its hash")
            expected_prev = row.hash
    return problems
