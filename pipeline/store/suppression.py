"""Spots suppressed from the review queue: street furniture or a permitted stall that keeps
being flagged and dismissed.

A spot is the box of the incident it was created from; a later incident belongs to it when
it is in the same camera and zone and its box centre lies inside that box. Suppression only
hides incidents from the review queue (they are still detected, stored and counted), and
lifting it shows them again; both are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from pipeline.store import audit
from pipeline.store.repository import IncidentNotFoundError, box_iou
from pipeline.store.tables import IncidentRow, SpotSuppressionRow, utc_now

Box = tuple[float, float, float, float]


class SuppressionNotFoundError(LookupError):
    pass


def covers(spot: SpotSuppressionRow, camera: str, zone: str, box: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return (
        spot.camera == camera
        and spot.zone == zone
        and spot.x1 <= cx <= spot.x2
        and spot.y1 <= cy <= spot.y2
    )


def suppressed_clause() -> ColumnElement[bool]:
    """SQL: the incident row lies in an active suppressed spot."""
    cx = (IncidentRow.x1 + IncidentRow.x2) / 2
    cy = (IncidentRow.y1 + IncidentRow.y2) / 2
    s = SpotSuppressionRow
    return exists().where(
        and_(
            s.lifted_at.is_(None),
            s.camera == IncidentRow.camera,
            s.zone == IncidentRow.zone,
            s.x1 <= cx,
            cx <= s.x2,
            s.y1 <= cy,
            cy <= s.y2,
        )
    )


def active(session: Session, cameras: Sequence[str] | None = None) -> list[SpotSuppressionRow]:
    query = select(SpotSuppressionRow).where(SpotSuppressionRow.lifted_at.is_(None))
    if cameras is not None:
        query = query.where(SpotSuppressionRow.camera.in_(list(cameras)))
    return list(session.scalars(query))


def suppressed_ids(session: Session, rows: Sequence[IncidentRow]) -> set[str]:
    spots = active(session, sorted({r.camera for r in rows}))
    return {r.id for r in rows if any(covers(s, r.camera, r.zone, r.box) for s in spots)}


def suppress(session: Session, incident_id: str, reason: str, actor: str) -> SpotSuppressionRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise IncidentNotFoundError(incident_id)
    spot = SpotSuppressionRow(
        camera=row.camera,
        zone=row.zone,
        x1=row.x1,
        y1=row.y1,
        x2=row.x2,
        y2=row.y2,
        reason=reason,
        created_by=actor,
        created_at=utc_now(),
    )
    session.add(spot)
    session.flush()
    detail = {"suppression": spot.id, "reason": reason, "box": list(row.box)}
    audit.append(session, actor, "spot.suppress", incident_id, detail)
    return spot


def lift(session: Session, suppression_id: int, actor: str) -> SpotSuppressionRow:
    spot = session.get(SpotSuppressionRow, suppression_id)
    if spot is None:
        raise SuppressionNotFoundError(f"no suppressed spot {suppression_id}")
    if spot.lifted_at is None:
        spot.lifted_at = utc_now()
        spot.lifted_by = actor
        detail = {"suppression": spot.id, "camera": spot.camera, "zone": spot.zone}
        audit.append(session, actor, "spot.lift", None, detail)
    return spot


@dataclass(frozen=True, slots=True)
class Candidate:
    """A spot dismissed often enough to offer suppressing it."""

    camera: str
    zone: str
    box: Box
    dismissed: int
    latest_incident: str


def candidates(
    session: Session, min_dismissed: int = 3, days: float = 30, now: datetime | None = None
) -> list[Candidate]:
    """Spots (IoU >= 0.5 with the group's first box) with at least `min_dismissed` dismissed
    incidents in the last `days`, not already suppressed; most dismissed first."""
    since = (now or utc_now()) - timedelta(days=days)
    query = (
        select(IncidentRow)
        .where(IncidentRow.status == "dismissed", IncidentRow.alert_at >= since)
        .order_by(IncidentRow.alert_at.desc())
    )
    groups: list[list[IncidentRow]] = []
    for row in session.scalars(query):
        home = next(
            (
                g
                for g in groups
                if g[0].camera == row.camera
                and g[0].zone == row.zone
                and box_iou(g[0].box, row.box) >= 0.5
            ),
            None,
        )
        if home is None:
            groups.append([row])
        else:
            home.append(row)
    spots = active(session)
    out = [
        Candidate(g[0].camera, g[0].zone, g[0].box, len(g), g[0].id)
        for g in groups
        if len(g) >= min_dismissed
        and not any(covers(s, g[0].camera, g[0].zone, g[0].box) for s in spots)
    ]
    return sorted(out, key=lambda c: -c.dismissed)
