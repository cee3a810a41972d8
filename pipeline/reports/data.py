"""What a report is about: the period's incidents, counts by day and hour, KPIs and spots.

Dismissed incidents (false positives) are never counted as violations. The public variant
goes further and only shows incidents a person has reviewed and kept (status confirmed or
later), so an unreviewed detection is never published.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.reports.period import Period
from pipeline.reports.pictures import PICTURE_KINDS, PictureSource, resolve_inside
from pipeline.store.kpis import KpiRow, compute_kpis
from pipeline.store.ledger import SpotEntry, spot_ledger
from pipeline.store.tables import CameraRow, IncidentRow

Variant = Literal["internal", "public"]
VARIANTS: tuple[str, ...] = ("internal", "public")
# Statuses a person has reviewed and kept: what the public variant may show.
REVIEWED_KEPT = frozenset(
    {"confirmed", "dispatched", "acknowledged", "resolved", "rectified", "reopened"}
)
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
HOT_SPOTS = 10


@dataclass(frozen=True, slots=True)
class IncidentItem:
    """One incident as a report lists it (times in the report's time zone)."""

    id: str
    camera: str
    zone: str
    type: str
    severity: str
    status: str
    team: str | None
    source: str
    alert_at: datetime
    repeat_of: str | None
    picture: PictureSource | None

    @property
    def is_repeat(self) -> bool:
        return self.repeat_of is not None


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report shows, gathered once and rendered as HTML and/or PDF.

    >>> data = gather(session, evidence_dir, parse_month("2026-11", tz), "internal")
    >>> data.totals.discovered, len(data.incidents)  # doctest: +SKIP
    """

    period: Period
    variant: Variant
    generated_at: datetime
    incidents: list[IncidentItem]
    by_day: dict[date, int]
    by_hour: dict[int, int]
    totals: KpiRow
    team_kpis: list[KpiRow]
    hot_spots: list[SpotEntry]
    repeat_offenders: list[SpotEntry]

    @property
    def public(self) -> bool:
        return self.variant == "public"

    @property
    def repeats(self) -> int:
        return sum(1 for item in self.incidents if item.is_repeat)


def default_timezone(session: Session) -> ZoneInfo:
    """The cameras' time zone when they all share one, else UTC."""
    names = set(session.scalars(select(CameraRow.timezone)))
    if len(names) == 1:
        try:
            return ZoneInfo(names.pop())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def gather(
    session: Session, evidence_dir: Path, period: Period, variant: Variant, now: datetime
) -> ReportData:
    """The report's data for `period`; `now` is when it was generated (shown on it)."""
    incidents = [
        _item(row, period, evidence_dir)
        for row in _incident_rows(session, period)
        if _shown(row.status, variant)
    ]
    by_day = {period.first_day + timedelta(days=n): 0 for n in range(period.days)}
    by_day.update(Counter(item.alert_at.date() for item in incidents))
    hours = Counter(item.alert_at.hour for item in incidents)
    public = variant == "public"
    spots = spot_ledger(session, period.start, period.end, 1, confirmed_only=public)
    return ReportData(
        period=period,
        variant=variant,
        generated_at=now.astimezone(period.tz),
        incidents=incidents,
        by_day=by_day,
        by_hour={hour: hours.get(hour, 0) for hour in range(24)},
        totals=compute_kpis(session, period.start, period.end, "all", source="all")[0],
        team_kpis=compute_kpis(session, period.start, period.end, "team"),
        hot_spots=spots[:HOT_SPOTS],
        repeat_offenders=[spot for spot in spots if spot.violations >= 2],
    )


def _shown(status: str, variant: Variant) -> bool:
    if variant == "public":
        return status in REVIEWED_KEPT
    return status != "dismissed"


def _incident_rows(session: Session, period: Period) -> list[IncidentRow]:
    query = (
        select(IncidentRow)
        .where(IncidentRow.alert_at >= period.start, IncidentRow.alert_at < period.end)
        .order_by(IncidentRow.alert_at, IncidentRow.id)
    )
    return list(session.scalars(query))


def _item(row: IncidentRow, period: Period, evidence_dir: Path) -> IncidentItem:
    return IncidentItem(
        id=row.id,
        camera=row.camera,
        zone=row.zone,
        type=row.type,
        severity=row.severity,
        status=row.status,
        team=row.team,
        source=row.source,
        alert_at=row.alert_at.astimezone(period.tz),
        repeat_of=row.repeat_of,
        picture=_picture_source(row, evidence_dir),
    )


def _picture_source(row: IncidentRow, evidence_dir: Path) -> PictureSource | None:
    files = {e.kind: e.path for e in row.evidence}
    for kind in PICTURE_KINDS:
        if kind not in files:
            continue
        path = resolve_inside(evidence_dir, files[kind])
        if path is None:
            continue  # pruned by retention or missing: try the next kind
        # The box is in the alert frame's pixels; a photo taken by hand has no such box.
        on_frame = kind != "report_photo" and row.source == "camera"
        box = row.box if on_frame else None
        return PictureSource(row.id, path, box, tuple(row.object_classes or ()), row.type)
    return None


def pick_for_pictures(incidents: list[IncidentItem], limit: int) -> list[IncidentItem]:
    """Up to `limit` incidents with a picture: repeats, then by severity; shown by time."""
    candidates = [item for item in incidents if item.picture is not None]
    ranked = sorted(
        candidates,
        key=lambda i: (not i.is_repeat, SEVERITY_RANK.get(i.severity, 9), i.alert_at, i.id),
    )
    return sorted(ranked[: max(0, limit)], key=lambda i: (i.alert_at, i.id))
