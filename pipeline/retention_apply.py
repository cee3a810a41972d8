"""Carrying out a retention plan: evidence rows, files, `evidence_pruned_at` and the audit.

Order, for crash safety: one transaction per incident deletes its evidence rows, sets
`evidence_pruned_at` and appends the audit entry; the files are unlinked only after that
commit. A crash in between leaves files that no row points at, which `streetwatch verify`
does not flag (it checks rows against files, and every remaining row still has its file),
and which `finish_interrupted` removes at the start of the next run: it deletes unreferenced
files in the folders of incidents marked pruned. The other order (files first) would leave
rows whose files are gone, which `verify` rightly reports as missing evidence.

Pruning needs no writer lock (`pipeline.recovery`): that lock decides who sweeps
temporaries and orphan folders, and pruning touches neither. It only deletes files that its
own committed transaction removed the rows of, for incidents that are closed, so no writer
adds to them; a late clip (written after a quick dismissal) keeps its file and row and goes
on a later run. The incident row is re-read with `FOR UPDATE` (PostgreSQL) inside the
transaction, so a legal hold set after the plan was made still wins.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.evidence import TEMP_PREFIX, incident_relative_dir
from pipeline.recovery import BUSY_AGE_S
from pipeline.retention import PlannedIncident, RetentionPlan
from pipeline.store import audit
from pipeline.store.tables import EvidenceRow, IncidentRow, utc_now
from pipeline.store.workflow import CLOSED

logger = logging.getLogger(__name__)

RETENTION_ACTOR = "retention"
PRUNE_ACTION = "evidence.prune"


@dataclass(slots=True)
class RetentionResult:
    """What a run removed; `skipped` holds (incident id, why) for planned ones left alone."""

    pruned: list[str] = field(default_factory=list)
    files_removed: int = 0
    bytes_freed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be removed
    leftovers_removed: list[Path] = field(default_factory=list)


def apply_plan(
    engine: Engine, evidence_dir: Path, plan: RetentionPlan, actor: str = RETENTION_ACTOR
) -> RetentionResult:
    """Delete the evidence of every incident in `plan` (re-checked one by one)."""
    result = RetentionResult(leftovers_removed=finish_interrupted(engine, evidence_dir))
    root = evidence_dir.resolve()
    for item in plan.incidents:
        removed = _prune_rows(engine, item, actor)
        if isinstance(removed, str):
            result.skipped.append((item.incident_id, removed))
            logger.info("retention: kept incident %s: %s", item.incident_id, removed)
            continue
        result.pruned.append(item.incident_id)
        for relative in removed:
            try:
                freed = _unlink(root, relative)
            except OSError as exc:  # e.g. permissions: the next run's leftover pass retries
                logger.error("retention: cannot remove %s: %s", relative, exc)
                result.errors.append(f"{relative}: {exc.strerror or exc}")
                continue
            if freed is not None:
                result.files_removed += 1
                result.bytes_freed += freed
        _remove_empty_folder(root, item.incident_id)
    if result.pruned:
        logger.info(
            "retention: removed %d files (%d bytes) of %d incidents",
            result.files_removed,
            result.bytes_freed,
            len(result.pruned),
        )
    return result


def _prune_rows(engine: Engine, item: PlannedIncident, actor: str) -> list[str] | str:
    """Delete the incident's evidence rows and audit it; the removed paths, or why not."""
    with Session(engine) as session, session.begin():
        row = session.get(IncidentRow, item.incident_id, with_for_update=True)
        if row is None:
            return "incident no longer exists"
        if row.status not in CLOSED:
            return f"incident is {row.status} now (open)"
        if row.legal_hold:
            return "incident is on legal hold"
        # Whatever evidence it has now, including a file added since the plan was made.
        rows = list(row.evidence)
        if not rows:
            return "no evidence left"
        files = [
            {"kind": e.kind, "path": e.path, "sha256": e.sha256, "size_bytes": e.size_bytes}
            for e in rows
        ]
        paths = [e.path for e in rows]
        row.evidence.clear()  # delete-orphan: the rows go with this transaction
        row.evidence_pruned_at = utc_now()
        detail = {"reason": item.reason, "status": row.status, "files": files}
        audit.append(session, actor, PRUNE_ACTION, row.id, detail)
    return paths


def _inside(root: Path, relative: str) -> Path | None:
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path != root else None


def _unlink(root: Path, relative: str) -> int | None:
    """Remove one evidence file; its size, or None when it was already gone."""
    path = _inside(root, relative)
    if path is None:
        logger.error("retention: evidence path %r is outside the evidence folder", relative)
        return None
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return None
    return size


def _remove_empty_folder(root: Path, incident_id: str) -> None:
    # Not empty (a file nobody listed, a temporary) or already gone: leave it.
    with contextlib.suppress(OSError):
        os.rmdir(root / incident_relative_dir(incident_id))


def finish_interrupted(engine: Engine, evidence_dir: Path) -> list[Path]:
    """Remove files left in the folders of pruned incidents that no evidence row names.

    That is what a crash between a prune's commit and its unlinks leaves. Files younger
    than `BUSY_AGE_S` are spared: a late clip may be in place with its row not yet committed.
    """
    root = evidence_dir.resolve()
    with Session(engine) as session:
        was_pruned = IncidentRow.evidence_pruned_at.is_not(None)
        pruned = list(session.scalars(select(IncidentRow.id).where(was_pruned)))
        # A file added after the prune (a late clip) has a row again and stays.
        referenced = set(
            session.scalars(select(EvidenceRow.path).join(IncidentRow).where(was_pruned))
        )
    cutoff = time.time() - BUSY_AGE_S
    removed: list[Path] = []
    for incident_id in pruned:
        folder = root / incident_relative_dir(incident_id)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            relative = path.relative_to(root).as_posix()
            if path.name.startswith(TEMP_PREFIX) or relative in referenced:
                continue  # temporaries are the start-up sweep's; named files stay
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.error("retention: cannot remove leftover %s: %s", path, exc)
        _remove_empty_folder(root, incident_id)
    if removed:
        logger.warning("retention: removed %d files left by an interrupted run", len(removed))
    return removed
