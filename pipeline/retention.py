"""Evidence retention: which closed incidents' files are due for deletion, and a disk cap.

Policy (`RetentionConfig`):
- dismissed incidents keep their evidence `dismissed_days` after the review (or the alert
  when there was none), rectified ones `closed_days` after the rectification;
- when the evidence folder is larger than `disk_cap_gb` after that, more closed incidents go,
  the longest closed first, until it fits; only those closed at least `CAP_SETTLE` ago (a
  clip may still be on its way for an incident dismissed a minute ago);
- open incidents (every other status) and incidents on legal hold are never pruned.

The incident row stays (KPIs and history need it); its evidence rows and files go,
`evidence_pruned_at` is set and an audit entry lists what was removed. `plan_retention`
only reads; `pipeline.retention_apply.apply_plan` deletes.

>>> plan = plan_retention(session, evidence_dir, RetentionConfig(), now)  # doctest: +SKIP
>>> [p.incident_id for p in plan.incidents]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config_enforcement import RetentionConfig
from pipeline.store.tables import IncidentRow
from pipeline.store.workflow import CLOSED

logger = logging.getLogger(__name__)

GB = 1_000_000_000  # disk_cap_gb counts decimal gigabytes, like disk vendors and `df -H`
CAP_SETTLE = timedelta(hours=1)
_DAY_S = 86400.0

Reason = Literal["age", "disk_cap"]


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One evidence file that would go; `size_bytes` is its size on disk (0 if missing)."""

    kind: str
    path: str  # relative to the evidence folder
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class PlannedIncident:
    """A closed incident whose evidence is due, and why (`age` or `disk_cap`)."""

    incident_id: str
    status: str
    closed_at: datetime
    age_days: float  # since closed_at
    reason: Reason
    files: tuple[PlannedFile, ...]

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What one retention run would delete, and the disk figures it was based on."""

    now: datetime
    config: RetentionConfig
    incidents: tuple[PlannedIncident, ...]
    disk_used_bytes: int  # every file under the evidence folder
    held: tuple[str, ...]  # closed incidents past their retention, kept by a legal hold

    @property
    def total_files(self) -> int:
        return sum(len(p.files) for p in self.incidents)

    @property
    def total_bytes(self) -> int:
        return sum(p.size_bytes for p in self.incidents)

    @property
    def cap_bytes(self) -> int | None:
        cap = self.config.disk_cap_gb
        return None if cap is None else int(cap * GB)

    @property
    def projected_bytes(self) -> int:
        """The evidence folder's size once the plan is carried out."""
        return max(0, self.disk_used_bytes - self.total_bytes)

    @property
    def over_cap_bytes(self) -> int:
        """How far above the cap the folder stays even after the plan (0: fits)."""
        cap = self.cap_bytes
        return 0 if cap is None else max(0, self.projected_bytes - cap)


@dataclass(frozen=True, slots=True)
class _Candidate:
    row: IncidentRow
    closed_at: datetime
    keep_days: float


def closed_at(row: IncidentRow) -> datetime:
    """When a closed incident's retention clock started."""
    if row.status == "rectified":
        return row.rectified_at or row.resolved_at or row.alert_at
    return row.reviewed_at or row.alert_at


def plan_retention(
    session: Session, evidence_dir: Path, config: RetentionConfig, now: datetime
) -> RetentionPlan:
    """Which incidents' evidence is due at `now` (timezone-aware). Reads only."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    candidates, held = _closed_with_evidence(session, config, now)
    due = [c for c in candidates if _age_days(c, now) >= c.keep_days]
    planned = [_planned(c, now, "age", evidence_dir) for c in due]
    disk_used = folder_bytes(evidence_dir)
    cap = config.disk_cap_gb
    if cap is not None:
        planned += _over_cap(candidates, due, planned, disk_used, int(cap * GB), now, evidence_dir)
    plan = RetentionPlan(now, config, tuple(planned), disk_used, tuple(held))
    logger.debug(
        "retention plan: %d incidents, %d bytes of %d; %d bytes over the cap after it",
        len(plan.incidents),
        plan.total_bytes,
        disk_used,
        plan.over_cap_bytes,
    )
    return plan


def _closed_with_evidence(
    session: Session, config: RetentionConfig, now: datetime
) -> tuple[list[_Candidate], list[str]]:
    """Closed incidents that still have evidence, longest closed first; and the held ones
    that would otherwise be due."""
    keep = {"dismissed": config.dismissed_days, "rectified": config.closed_days}
    query = select(IncidentRow).where(IncidentRow.status.in_(CLOSED), IncidentRow.evidence.any())
    candidates: list[_Candidate] = []
    held: list[str] = []
    for row in session.scalars(query):
        candidate = _Candidate(row, closed_at(row), keep[row.status])
        if not row.legal_hold:
            candidates.append(candidate)
        elif _age_days(candidate, now) >= candidate.keep_days:
            held.append(row.id)
    candidates.sort(key=lambda c: (c.closed_at, c.row.alert_at, c.row.id))
    return candidates, sorted(held)


def _over_cap(
    candidates: list[_Candidate],
    due: list[_Candidate],
    planned: list[PlannedIncident],
    disk_used: int,
    cap: int,
    now: datetime,
    evidence_dir: Path,
) -> list[PlannedIncident]:
    """More closed incidents, longest closed first, until the folder fits under `cap`."""
    remaining = disk_used - sum(p.size_bytes for p in planned)
    chosen = {c.row.id for c in due}
    extra: list[PlannedIncident] = []
    for candidate in candidates:
        if remaining <= cap:
            break
        if candidate.row.id in chosen or candidate.closed_at > now - CAP_SETTLE:
            continue
        item = _planned(candidate, now, "disk_cap", evidence_dir)
        extra.append(item)
        remaining -= item.size_bytes
    return extra


def _age_days(candidate: _Candidate, now: datetime) -> float:
    return (now - candidate.closed_at).total_seconds() / _DAY_S


def _planned(
    candidate: _Candidate, now: datetime, reason: Reason, evidence_dir: Path
) -> PlannedIncident:
    row = candidate.row
    files = tuple(
        PlannedFile(e.kind, e.path, e.sha256, _size_on_disk(evidence_dir, e.path))
        for e in row.evidence
    )
    return PlannedIncident(
        row.id, row.status, candidate.closed_at, _age_days(candidate, now), reason, files
    )


def _size_on_disk(evidence_dir: Path, relative: str) -> int:
    try:
        return (evidence_dir / relative).stat().st_size
    except OSError:
        return 0


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder` (0 when it does not exist)."""
    total = 0
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                continue  # removed while we walked
    return total
