"""Incidents entered by hand (a citizen complaint, a patrol finding): same lifecycle as the
camera's, kept apart in the KPIs by `source = "reported"`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pipeline.records import Presence
from pipeline.store import audit
from pipeline.store.tables import IncidentRow, utc_now

NO_CAMERA = ""  # camera and zone of a report made away from any camera


@dataclass(frozen=True, slots=True)
class Report:
    type: str
    severity: str
    place: str
    note: str | None = None
    camera: str | None = None
    zone: str | None = None


def add_reported(session: Session, report: Report, actor: str) -> IncidentRow:
    """Store a reported incident as `new` (it goes to review like any other) and audit it."""
    now = utc_now()
    row = IncidentRow(
        id=uuid.uuid4().hex,
        camera=report.camera or NO_CAMERA,
        zone=report.zone or NO_CAMERA,
        type=report.type,
        severity=report.severity,
        first_seen_s=0.0,
        alert_s=0.0,
        last_seen_s=0.0,
        first_seen_at=now,
        alert_at=now,
        last_seen_at=now,
        x1=0.0,
        y1=0.0,
        x2=0.0,
        y2=0.0,
        confidence=1.0,
        object_classes=[],
        presence=Presence.active.value,
        status="new",
        source="reported",
        reported_by=actor,
        place=report.place,
    )
    session.add(row)
    session.flush()
    detail = {"type": report.type, "place": report.place, "camera": report.camera}
    if report.note:
        detail["note"] = report.note
    audit.append(session, actor, "incident.report", row.id, detail)
    return row
