"""Suppressed spots (hide a spot that keeps being dismissed from review, reversibly) and
incidents reported by hand (citizen complaints, patrol findings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from sqlalchemy import select

from api.convert import incident_detail
from api.deps import CurrentUser, DbSession, RuntimeDep, SettingsDep
from api.events import OPENED, publish_incident
from api.params import RowId
from api.schemas import IncidentDetail
from api.schemas_enforcement import CandidatePublic, SuppressionPublic, SuppressRequest
from api.uploads import read_photo
from pipeline.config import RuleType, Severity
from pipeline.records import EvidenceKind
from pipeline.store import suppression
from pipeline.store.reported import Report, add_reported
from pipeline.store.repository import IncidentNotFoundError, evidence_row
from pipeline.store.tables import SpotSuppressionRow

router = APIRouter(tags=["enforcement"])


def _public(spot: SpotSuppressionRow) -> SuppressionPublic:
    return SuppressionPublic(
        id=spot.id,
        camera=spot.camera,
        zone=spot.zone,
        box=spot.box,
        reason=spot.reason,
        created_by=spot.created_by,
        created_at=spot.created_at,
        lifted_by=spot.lifted_by,
        lifted_at=spot.lifted_at,
    )


@router.post("/api/incidents/{incident_id}/suppress-spot", response_model=SuppressionPublic)
def suppress_spot(
    incident_id: str, body: SuppressRequest, user: CurrentUser, db: DbSession
) -> SuppressionPublic:
    try:
        spot = suppression.suppress(db, incident_id, body.reason, user.username)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}") from None
    db.commit()
    return _public(spot)


@router.get("/api/suppressions", response_model=list[SuppressionPublic])
def list_suppressions(db: DbSession, include_lifted: bool = False) -> list[SuppressionPublic]:
    query = select(SpotSuppressionRow).order_by(SpotSuppressionRow.id.desc())
    if not include_lifted:
        query = query.where(SpotSuppressionRow.lifted_at.is_(None))
    return [_public(s) for s in db.scalars(query)]


@router.post("/api/suppressions/{suppression_id}/lift", response_model=SuppressionPublic)
def lift_suppression(suppression_id: RowId, user: CurrentUser, db: DbSession) -> SuppressionPublic:
    try:
        spot = suppression.lift(db, suppression_id, user.username)
    except suppression.SuppressionNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    db.commit()
    return _public(spot)


@router.get("/api/suppressions/candidates", response_model=list[CandidatePublic])
def suppression_candidates(
    db: DbSession,
    min_dismissed: Annotated[int, Query(ge=2, le=100)] = 3,
    days: Annotated[float, Query(gt=0, le=365)] = 30,
) -> list[CandidatePublic]:
    return [
        CandidatePublic(
            camera=c.camera,
            zone=c.zone,
            box=c.box,
            dismissed=c.dismissed,
            latest_incident=c.latest_incident,
        )
        for c in suppression.candidates(db, min_dismissed, days)
    ]


@router.post("/api/incidents/report", response_model=IncidentDetail)
def report_incident(
    type_: Annotated[RuleType, Form(alias="type")],
    place: Annotated[str, Form(min_length=1, max_length=500)],
    user: CurrentUser,
    db: DbSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    severity: Annotated[Severity, Form()] = Severity.medium,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    camera: Annotated[str | None, Form(max_length=128)] = None,
    zone: Annotated[str | None, Form(max_length=128)] = None,
    photo: Annotated[UploadFile | None, File(description="JPEG or PNG, at most 5 MB")] = None,
) -> IncidentDetail:
    data = None if photo is None else read_photo(photo, settings.max_upload_bytes)
    report = Report(type_.value, severity.value, place, note, camera, zone)
    row = add_reported(db, report, user.username)
    written = None
    if data is not None:
        written = runtime.writer.write_image(row.id, EvidenceKind.report_photo, jpeg=data)
        row.evidence.append(evidence_row(written))
    try:
        db.commit()
    except Exception:
        if written is not None:  # no row points at it: leave no orphan photo behind
            (runtime.evidence_dir / written.path).unlink(missing_ok=True)
        raise
    publish_incident(runtime, db, row, OPENED)
    return incident_detail(db, row)
