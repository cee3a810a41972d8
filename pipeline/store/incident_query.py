"""Incident lists for the API: filters, keyset pagination, repeat counts and statistics."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session, lazyload, raiseload

from pipeline.store.suppression import suppressed_clause
from pipeline.store.tables import EvidenceRow, IncidentRow
from pipeline.store.workflow import HANDED_TO_TEAM


@dataclass(frozen=True, slots=True)
class TeamScope:
    """What a patrol user may see: its team's zones, only once dispatched to the team."""

    team: str | None
    zones: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: str | None = None
    presence: str | None = None
    camera: str | None = None
    zone: str | None = None
    type: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    scope: TeamScope | None = None
    source: str | None = None  # camera | reported
    suppressed: bool | None = None  # None: both; False: hide suppressed spots (review queue)


Cursor = tuple[datetime, str]  # (alert_at, id) of the last item of the previous page


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    """What a list shows of one evidence file (no path: the API serves it by kind)."""

    kind: str
    sha256: str
    media_type: str


# The instants a filter may name. Python's datetime range ends at years 1 and 9999: an
# offset at either edge cannot become UTC (how times are stored and compared), and day
# arithmetic near the end overflows. Nothing streetwatch records lies outside this range.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_instant(name: str, value: datetime) -> None:
    """Raise ValueError (naming the parameter) unless `value` has a time zone and lies in
    [EARLIEST, LATEST)."""
    if value.tzinfo is None:
        raise ValueError(
            f"{name}: give a time zone (e.g. 2024-06-01T00:00:00Z), got {value.isoformat()}"
        )
    try:
        in_range = EARLIEST <= value < LATEST
    except OverflowError:  # the comparison converts to UTC, which the edges cannot reach
        in_range = False
    if not in_range:
        raise ValueError(
            f"{name}: {value.isoformat()} is outside {EARLIEST.year} to {LATEST.year - 1}"
        )


def apply_filter(query: Select[Any], f: IncidentFilter) -> Select[Any]:
    simple = {
        IncidentRow.status: f.status,
        IncidentRow.presence: f.presence,
        IncidentRow.camera: f.camera,
        IncidentRow.zone: f.zone,
        IncidentRow.type: f.type,
        IncidentRow.team: f.team,
        IncidentRow.source: f.source,
    }
    for column, value in simple.items():
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(IncidentRow.alert_at >= f.since)
    if f.until is not None:
        query = query.where(IncidentRow.alert_at < f.until)
    if f.scope is not None:
        query = query.where(_scope_clause(f.scope))
    if f.suppressed is not None:
        clause = suppressed_clause()
        query = query.where(clause if f.suppressed else ~clause)
    return query


def _scope_clause(scope: TeamScope) -> Any:
    if scope.team is None or not scope.zones:
        return false()
    in_zones = or_(*(and_(IncidentRow.camera == c, IncidentRow.zone == z) for c, z in scope.zones))
    return and_(IncidentRow.team == scope.team, IncidentRow.status.in_(HANDED_TO_TEAM), in_zones)


def visible(session: Session, incident_id: str, scope: TeamScope | None) -> IncidentRow | None:
    """The incident if it exists and the scope (None: everything) lets its holder see it.
    Its evidence loads when first touched (the detail view reads it another way)."""
    query = select(IncidentRow).options(lazyload(IncidentRow.evidence))
    query = query.where(IncidentRow.id == incident_id)
    if scope is not None:
        query = query.where(_scope_clause(scope))
    return session.scalar(query)


def is_visible(session: Session, incident_id: str, scope: TeamScope | None) -> bool:
    """`visible(...) is not None` without loading the row and its evidence (one id lookup)."""
    query = select(IncidentRow.id).where(IncidentRow.id == incident_id)
    if scope is not None:
        query = query.where(_scope_clause(scope))
    return session.scalar(query) is not None


def page(
    session: Session, f: IncidentFilter, limit: int, after: Cursor | None
) -> tuple[list[IncidentRow], Cursor | None]:
    """One page, newest alert first, and the cursor of the next page (None at the end)."""
    # Evidence comes from `evidence_summaries` (one column query for the page); loading it
    # as ORM objects through the relationship cost more than half of a 50-incident page.
    query = apply_filter(select(IncidentRow).options(raiseload(IncidentRow.evidence)), f)
    if after is not None:
        at, incident_id = after
        query = query.where(
            or_(
                IncidentRow.alert_at < at,
                and_(IncidentRow.alert_at == at, IncidentRow.id < incident_id),
            )
        )
    query = query.order_by(IncidentRow.alert_at.desc(), IncidentRow.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, (rows[-1].alert_at, rows[-1].id)


def evidence_summaries(
    session: Session, incident_ids: list[str]
) -> dict[str, list[EvidenceSummary]]:
    """The evidence of each incident, in the order it was stored (absent ids: none)."""
    found: dict[str, list[EvidenceSummary]] = {i: [] for i in incident_ids}
    query = (
        select(
            EvidenceRow.incident_id, EvidenceRow.kind, EvidenceRow.sha256, EvidenceRow.media_type
        )
        .where(EvidenceRow.incident_id.in_(incident_ids))
        .order_by(EvidenceRow.id)
    )
    for incident_id, kind, sha256, media_type in session.execute(query):
        found[incident_id].append(EvidenceSummary(kind, sha256, media_type))
    return found


def repeat_counts(session: Session, rows: Sequence[IncidentRow]) -> dict[str, int]:
    """How many earlier incidents each one's repeat chain holds (0: first at its spot).
    The rows' own links are known; only earlier incidents off the page are looked up
    (none for a page of first offences)."""
    incident_ids = [r.id for r in rows]
    parent: dict[str, str | None] = {r.id: r.repeat_of for r in rows}
    frontier = {p for p in parent.values() if p is not None and p not in parent}
    while frontier:
        query = select(IncidentRow.id, IncidentRow.repeat_of).where(IncidentRow.id.in_(frontier))
        found: dict[str, str | None] = {i: p for i, p in session.execute(query)}
        parent.update(found)
        frontier = {p for p in found.values() if p is not None and p not in parent}
    counts: dict[str, int] = {}
    for incident_id in incident_ids:
        depth, node, seen = 0, parent.get(incident_id), {incident_id}
        while node is not None and node not in seen:  # `seen` guards against a corrupt loop
            seen.add(node)
            depth += 1
            node = parent.get(node)
        counts[incident_id] = depth
    return counts


def stats(session: Session, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """Counts by type, zone and day, and review / resolve durations (median, p90)."""
    rows = session.scalars(
        apply_filter(select(IncidentRow), IncidentFilter(since=since, until=until))
    )
    by_type: Counter[str] = Counter()
    by_zone: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    review: list[float] = []
    resolve: list[float] = []
    for row in rows:
        by_type[row.type] += 1
        by_zone[f"{row.camera}/{row.zone}"] += 1
        by_day[row.alert_at.date().isoformat()] += 1
        if row.reviewed_at is not None:
            review.append((row.reviewed_at - row.alert_at).total_seconds())
        if row.resolved_at is not None:
            resolve.append((row.resolved_at - row.alert_at).total_seconds())
    return {
        "by_type": dict(by_type),
        "by_zone": dict(by_zone),
        "by_day": dict(sorted(by_day.items())),
        "review_seconds": _summary(review),
        "resolve_seconds": _summary(resolve),
    }


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p90": p90}
