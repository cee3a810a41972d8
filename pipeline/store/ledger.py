"""The repeat-offender / hot-spot ledger: violations per spot, with their days and hours.

Vendors work "guerrilla style": they leave when a patrol comes and return at the same hours.
The ledger groups a period's incidents into spots and counts, per spot, how many violations
there were, on which weekdays and at which local hours, how many were linked as repeats and
how many came back after the spot had been seen clear (rectified).

How incidents become spots (both rules, joined with a union-find):
1. `repeat_of` links. The incident manager links a new incident to the latest earlier one
   at the same camera and zone with box IoU >= 0.5, so a chain is one spot even when the
   boxes drift a little from day to day. Chains are followed to their first incident also
   through incidents before the period, so two repeats of the same old incident stay one spot.
2. Box IoU >= 0.5 (`box_iou`) with the latest earlier incident of the same camera and zone,
   the same rule the incident manager uses. This catches what carries no link: incidents
   whose link was cut (the earlier one deleted by retention) or stored before linking.
Incidents of different cameras or zones are never one spot. Rule 2 scans back from each
incident to its first match, which is near when spots repeat (the usual case); a zone whose
boxes never repeat costs n^2 / 2 IoU checks.

Dismissed incidents (false positives) are not violations and are left out; unreviewed ones
count unless `confirmed_only`. Weekdays and hours are in the camera's own time zone
(`cameras.timezone`; UTC when the camera is not in the catalog). The spot's box is the box of
its latest incident (where the offender stands now).

Example:
    >>> spots = spot_ledger(session, start, end, min_violations=2)
    >>> spots[0].violations, spots[0].by_hour[18]
    (9, 6)
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.kpis import check_period
from pipeline.store.repository import box_iou
from pipeline.store.tables import CameraRow, IncidentRow

logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPOT_IOU = 0.5
ID_CHUNK = 500

_COLUMNS = (
    IncidentRow.id,
    IncidentRow.camera,
    IncidentRow.zone,
    IncidentRow.alert_at,
    IncidentRow.x1,
    IncidentRow.y1,
    IncidentRow.x2,
    IncidentRow.y2,
    IncidentRow.repeat_of,
    IncidentRow.rectified_at,
    IncidentRow.reopened_at,
)


@dataclass(frozen=True, slots=True)
class SpotEntry:
    """One spot of the ledger: where (camera, zone, box), how often, and when.

    `repeats`: incidents linked as repeats (`repeat_of` set). `after_rectification`:
    incidents that began after an earlier incident at the spot had been rectified (the spot
    was seen clear and the offender came back). `reopened`: incidents the camera reopened
    because the spot was not kept clear after the patrol resolved them.
    `by_weekday` has all of "mon".."sun" and `by_hour` all of 0..23 (zeros included).
    """

    camera: str
    zone: str
    box: tuple[float, float, float, float]
    violations: int
    repeats: int
    by_weekday: dict[str, int]
    by_hour: dict[int, int]
    first_at: datetime
    last_at: datetime
    incident_ids: list[str]
    after_rectification: int = 0
    reopened: int = 0


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        root = self.parent.setdefault(key, key)
        while root != self.parent[root]:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def spot_ledger(
    session: Session,
    start: datetime,
    end: datetime,
    min_violations: int = 1,
    *,
    confirmed_only: bool = False,
) -> list[SpotEntry]:
    """Spots with at least `min_violations` violations alerted in [start, end).

    Most violations first (then the latest last violation, then camera, zone).
    """
    check_period(start, end)
    if min_violations < 1:
        raise ValueError(f"min_violations must be at least 1, not {min_violations}")
    query = (
        select(*_COLUMNS)
        .where(IncidentRow.alert_at >= start, IncidentRow.alert_at < end)
        .where(IncidentRow.status != "dismissed")
        .order_by(IncidentRow.alert_at, IncidentRow.id)
    )
    if confirmed_only:
        query = query.where(IncidentRow.reviewed_at.is_not(None))
    rows = list(session.execute(query))
    chains = _chains(session, rows)
    zones = _camera_zones(session)
    entries = [
        _entry(members, zones.get(members[0].camera), chains)
        for members in _group_spots(rows, chains)
        if len(members) >= min_violations
    ]
    entries.sort(key=lambda e: (-e.violations, -e.last_at.timestamp(), e.camera, e.zone))
    return entries


@dataclass(frozen=True, slots=True)
class _Chains:
    roots: dict[str, str]  # incident id -> first incident of its repeat_of chain
    rectified_before: dict[str, list[datetime]]  # id -> rectified_at of ancestors outside


def _group_spots(rows: list[Any], chains: _Chains) -> list[list[Any]]:
    """The rows (oldest first) split into spots: linked by repeat chains or by box IoU."""
    spots = _UnionFind()
    by_zone: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        # Chain roots are namespaced per camera/zone: a corrupt cross-zone link joins nothing.
        spots.union(row.id, f"root:{row.camera}/{row.zone}/{chains.roots[row.id]}")
        by_zone[(row.camera, row.zone)].append(row)
    for members in by_zone.values():
        for i, row in enumerate(members):
            box = _box(row)
            for j in range(i - 1, -1, -1):  # the latest earlier incident first
                if box_iou(box, _box(members[j])) >= SPOT_IOU:
                    spots.union(row.id, members[j].id)
                    break
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[spots.find(row.id)].append(row)
    return list(grouped.values())


def _chains(session: Session, rows: list[Any]) -> _Chains:
    """Each row's chain root, following `repeat_of` also through incidents before the period."""
    parent: dict[str, str | None] = {row.id: row.repeat_of for row in rows}
    rectified: dict[str, datetime] = {}  # of the ancestors outside the period
    frontier = {p for p in parent.values() if p is not None and p not in parent}
    while frontier:  # fetched a generation at a time
        found: dict[str, str | None] = {}
        for incident_id, repeat_of, rectified_at in _ancestors(session, sorted(frontier)):
            found[incident_id] = repeat_of
            if rectified_at is not None:
                rectified[incident_id] = rectified_at
        for missing in frontier - found.keys():
            parent[missing] = None  # the link points at a deleted incident: it ends there
        parent.update(found)
        frontier = {p for p in found.values() if p is not None and p not in parent}
    roots: dict[str, str] = {}
    before: dict[str, list[datetime]] = {}
    for row in rows:
        node, seen, times = row.id, {row.id}, []
        while (up := parent.get(node)) is not None and up not in seen:  # guards loops
            seen.add(up)
            node = up
            if up in rectified:
                times.append(rectified[up])
        roots[row.id] = node
        before[row.id] = times
    return _Chains(roots, before)


def _ancestors(session: Session, ids: list[str]) -> Iterator[Any]:
    """(id, repeat_of, rectified_at) of `ids`, asked in chunks (databases cap parameters)."""
    for offset in range(0, len(ids), ID_CHUNK):
        chunk = ids[offset : offset + ID_CHUNK]
        yield from session.execute(
            select(IncidentRow.id, IncidentRow.repeat_of, IncidentRow.rectified_at).where(
                IncidentRow.id.in_(chunk)
            )
        )


def _box(row: Any) -> tuple[float, float, float, float]:
    return (row.x1, row.y1, row.x2, row.y2)


def _camera_zones(session: Session) -> dict[str, tzinfo]:
    zones: dict[str, tzinfo] = {}
    for name, tz_name in session.execute(select(CameraRow.name, CameraRow.timezone)):
        try:
            zones[name] = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("camera %s: unknown time zone %r, using UTC", name, tz_name)
    return zones


def _entry(members: list[Any], tz: tzinfo | None, chains: _Chains) -> SpotEntry:
    by_weekday = dict.fromkeys(WEEKDAYS, 0)
    by_hour = dict.fromkeys(range(24), 0)
    for row in members:
        local = row.alert_at.astimezone(tz) if tz is not None else row.alert_at
        by_weekday[WEEKDAYS[local.weekday()]] += 1
        by_hour[local.hour] += 1
    latest = members[-1]
    rectified = [r.rectified_at for r in members if r.rectified_at is not None]
    for row in members:
        rectified += chains.rectified_before[row.id]
    return SpotEntry(
        camera=latest.camera,
        zone=latest.zone,
        box=_box(latest),
        violations=len(members),
        repeats=sum(1 for r in members if r.repeat_of is not None),
        by_weekday=by_weekday,
        by_hour=by_hour,
        first_at=members[0].alert_at,
        last_at=latest.alert_at,
        incident_ids=[r.id for r in members],
        after_rectification=sum(1 for r in members if any(at <= r.alert_at for at in rectified)),
        reopened=sum(1 for r in members if r.reopened_at is not None),
    )
