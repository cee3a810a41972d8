"""Team and zone KPIs: discovery, review precision, disposal and rectification rates, times.

A period selects incidents by `alert_at` in [start, end). The figures of one group:

- `discovered`: incidents found by a camera (`source == "camera"`); `reported`: incidents
  entered by hand (`source == "reported"`). These two are always counted apart.
- Every other figure is computed over the incidents of one source only, `camera` unless
  asked otherwise, so a camera's review precision is never diluted by hand-entered reports
  (which people confirm themselves) and the two kinds of work can be judged separately:
  `confirmed` (reviewed and not dismissed), `dismissed`, `review_precision` =
  confirmed / (confirmed + dismissed), `resolved` (resolved_at set), `disposal_rate` =
  resolved / confirmed, `rectified` (rectified_at set), `rectification_rate` =
  rectified / resolved. A rate with a zero denominator is None, never 0.
- Handling times in seconds: review = alert_at -> reviewed_at, dispatch = reviewed_at ->
  dispatched_at, resolve = dispatched_at -> resolved_at, over the incidents that have both
  ends. A negative span is left out: after a reopen the incident is dispatched again while
  its old resolved_at is still set, and that pair does not describe one piece of work.
  The median is the usual one (the mean of the two middle values for an even count); the
  p90 is the nearest-rank 90th percentile: the value at rank ceil(0.9 * n) of the n sorted
  values, so it is always a time that really happened.

Grouping: `zone` by "camera/zone" (every zone of the catalog is listed, with zeros when it
had no incident); `team` by the team the incident was dispatched to, else the one team
responsible for its zone, else "(unassigned)" (no team, or several teams share the zone);
every team is listed. `all` gives one row named "all".

Example:
    >>> rows = compute_kpis(session, datetime(2024, 6, 1, tzinfo=UTC),
    ...                     datetime(2024, 7, 1, tzinfo=UTC), by="team")
    >>> [(row.group, row.discovered, row.disposal_rate) for row in rows]
    [('team-1', 12, 0.75), ('team-2', 0, None), ('(unassigned)', 3, None)]
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.incident_query import check_instant
from pipeline.store.tables import IncidentRow, TeamRow, TeamZoneRow, ZoneRow

GroupBy = Literal["zone", "team", "all"]
Source = Literal["camera", "reported", "all"]
GROUPINGS: tuple[str, ...] = ("zone", "team", "all")
SOURCES: tuple[str, ...] = ("camera", "reported", "all")
UNASSIGNED = "(unassigned)"
ALL_GROUP = "all"

_COLUMNS = (
    IncidentRow.camera,
    IncidentRow.zone,
    IncidentRow.team,
    IncidentRow.source,
    IncidentRow.status,
    IncidentRow.alert_at,
    IncidentRow.reviewed_at,
    IncidentRow.dispatched_at,
    IncidentRow.resolved_at,
    IncidentRow.rectified_at,
)


@dataclass(frozen=True, slots=True)
class KpiRow:
    """The KPIs of one group (a "camera/zone", a team name, or "all") over one period."""

    group: str
    discovered: int
    reported: int
    confirmed: int
    dismissed: int
    review_precision: float | None
    resolved: int
    disposal_rate: float | None
    rectified: int
    rectification_rate: float | None
    review_median_s: float | None
    review_p90_s: float | None
    dispatch_median_s: float | None
    dispatch_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: sorted value number ceil(0.9 * n); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(0.9 * len(ordered))
    return float(ordered[rank - 1])


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def check_period(start: datetime, end: datetime) -> None:
    """Raise ValueError unless start and end carry a time zone, lie in the range filters
    accept, and start < end."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise ValueError(f"{name} {value.isoformat()} has no time zone; add one (e.g. Z)")
        check_instant(name, value)
    if end <= start:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")


def compute_kpis(
    session: Session,
    start: datetime,
    end: datetime,
    by: GroupBy,
    *,
    source: Source = "camera",
) -> list[KpiRow]:
    """KPIs per group for incidents alerted in [start, end); see the module docstring."""
    check_period(start, end)
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    query = select(*_COLUMNS).where(IncidentRow.alert_at >= start, IncidentRow.alert_at < end)
    rows = list(session.execute(query))
    grouped: dict[str, list[Any]] = defaultdict(list)
    if by == "zone":
        for name in _catalog_zones(session):
            grouped.setdefault(name, [])
        for row in rows:
            grouped[f"{row.camera}/{row.zone}"].append(row)
    elif by == "team":
        owner = _zone_owners(session)
        for name in session.scalars(select(TeamRow.name)):
            grouped.setdefault(name, [])
        for row in rows:
            grouped[row.team or owner.get((row.camera, row.zone), UNASSIGNED)].append(row)
    else:
        grouped[ALL_GROUP] = rows
    order = sorted(grouped, key=lambda name: (name == UNASSIGNED, name))
    return [kpi_row(name, grouped[name], source) for name in order]


def kpi_row(group: str, rows: Iterable[Any], source: Source = "camera") -> KpiRow:
    """The KPIs of one group's incidents (rows with the columns of `IncidentRow`)."""
    rows = list(rows)
    discovered = sum(1 for r in rows if r.source == "camera")
    reported = sum(1 for r in rows if r.source == "reported")
    chosen = rows if source == "all" else [r for r in rows if r.source == source]
    confirmed = sum(1 for r in chosen if r.reviewed_at is not None and r.status != "dismissed")
    dismissed = sum(1 for r in chosen if r.status == "dismissed")
    resolved = sum(1 for r in chosen if r.resolved_at is not None)
    rectified = sum(1 for r in chosen if r.rectified_at is not None)
    review = _spans(chosen, "alert_at", "reviewed_at")
    dispatch = _spans(chosen, "reviewed_at", "dispatched_at")
    resolve = _spans(chosen, "dispatched_at", "resolved_at")
    return KpiRow(
        group=group,
        discovered=discovered,
        reported=reported,
        confirmed=confirmed,
        dismissed=dismissed,
        review_precision=ratio(confirmed, confirmed + dismissed),
        resolved=resolved,
        disposal_rate=ratio(resolved, confirmed),
        rectified=rectified,
        rectification_rate=ratio(rectified, resolved),
        review_median_s=median(review),
        review_p90_s=p90(review),
        dispatch_median_s=median(dispatch),
        dispatch_p90_s=p90(dispatch),
        resolve_median_s=median(resolve),
        resolve_p90_s=p90(resolve),
    )


def _spans(rows: Iterable[Any], begin: str, finish: str) -> list[float]:
    spans: list[float] = []
    for row in rows:
        a, b = getattr(row, begin), getattr(row, finish)
        if a is not None and b is not None and b >= a:
            spans.append((b - a).total_seconds())
    return spans


def _catalog_zones(session: Session) -> list[str]:
    query = select(ZoneRow.camera, ZoneRow.name)
    return [f"{camera}/{name}" for camera, name in session.execute(query)]


def _zone_owners(session: Session) -> dict[tuple[str, str], str]:
    """(camera, zone) -> team name, for zones exactly one team is responsible for."""
    query = select(TeamZoneRow.camera, TeamZoneRow.zone, TeamRow.name).join(
        TeamRow, TeamRow.id == TeamZoneRow.team_id
    )
    teams: dict[tuple[str, str], set[str]] = defaultdict(set)
    for camera, zone, name in session.execute(query):
        teams[(camera, zone)].add(name)
    return {key: next(iter(names)) for key, names in teams.items() if len(names) == 1}
