"""Workflow actions on an incident: review, dispatch, acknowledge, resolve.

Each validates the status transition (409 when the incident is not in a status the action
starts from), is written to the audit log with its actor, and is published on the alert
bus as `incident.updated`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from sqlalchemy.orm import Session

from api.convert import incident_detail
from api.deps import CurrentUser, DbSession, RuntimeDep, ScopeDep, SettingsDep
from api.events import UPDATED, publish_incident
from api.runtime import Runtime
from api.schemas import DispatchRequest, IncidentDetail, ReviewRequest
from api.uploads import read_photo
from pipeline.records import EvidenceKind
from pipeline.store import users
from pipeline.store.incident_query import TeamScope, visible
from pipeline.store.repository import IncidentNotFoundError
from pipeline.store.tables import EvidenceRow, IncidentRow
from pipeline.store.workflow import TransitionError, apply_action

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/incidents/{incident_id}", tags=["actions"])


def _act(
    db: Session,
    runtime: Runtime,
    incident_id: str,
    step: tuple[str, str],
    actor: str,
    changes: dict[str, Any] | None = None,
) -> IncidentRow:
    action, target = step
    try:
        row = apply_action(db, incident_id, action, target, actor, changes)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}") from None
    except TransitionError as exc:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return row


def _finish(db: Session, runtime: Runtime, row: IncidentRow) -> IncidentDetail:
    db.commit()
    publish_incident(runtime, db, row, UPDATED)
    return incident_detail(db, row)


def _require_visible(db: Session, incident_id: str, scope: TeamScope | None) -> None:
    if visible(db, incident_id, scope) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}")


@router.post("/review", response_model=IncidentDetail)
def review(
    incident_id: str, body: ReviewRequest, user: CurrentUser, db: DbSession, runtime: RuntimeDep
) -> IncidentDetail:
    target = "confirmed" if body.decision == "confirm" else "dismissed"
    changes = {"review_reason": body.reason, "review_note": body.note}
    row = _act(db, runtime, incident_id, ("review", target), user.username, changes)
    return _finish(db, runtime, row)


@router.post("/dispatch", response_model=IncidentDetail)
def dispatch(
    incident_id: str, body: DispatchRequest, user: CurrentUser, db: DbSession, runtime: RuntimeDep
) -> IncidentDetail:
    team = users.find_team(db, body.team)
    if team is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no team named {body.team!r}")
    incident = db.get(IncidentRow, incident_id)
    if incident is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}")
    if (incident.camera, incident.zone) not in users.team_zones(db, team.id):
        # The team would never see it: its queue only shows its own zones.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"team {team.name} does not cover {incident.camera}/{incident.zone}",
        )
    row = _act(
        db, runtime, incident_id, ("dispatch", "dispatched"), user.username, {"team": team.name}
    )
    return _finish(db, runtime, row)


@router.post("/acknowledge", response_model=IncidentDetail)
def acknowledge(
    incident_id: str, user: CurrentUser, db: DbSession, runtime: RuntimeDep, scope: ScopeDep
) -> IncidentDetail:
    _require_visible(db, incident_id, scope)
    row = _act(db, runtime, incident_id, ("acknowledge", "acknowledged"), user.username)
    return _finish(db, runtime, row)


@router.post("/resolve", response_model=IncidentDetail)
def resolve(
    incident_id: str,
    note: Annotated[str, Form(max_length=2000)],
    user: CurrentUser,
    db: DbSession,
    runtime: RuntimeDep,
    scope: ScopeDep,
    settings: SettingsDep,
    photo: Annotated[UploadFile | None, File(description="JPEG or PNG, at most 5 MB")] = None,
) -> IncidentDetail:
    data = None if photo is None else read_photo(photo, settings.max_upload_bytes)
    _require_visible(db, incident_id, scope)
    row = _act(
        db, runtime, incident_id, ("resolve", "resolved"), user.username, {"resolution_note": note}
    )
    if data is None:
        return _finish(db, runtime, row)
    evidence = runtime.writer.write_image(incident_id, EvidenceKind.resolution_photo, jpeg=data)
    row.evidence.append(
        EvidenceRow(
            incident_id=incident_id,
            kind=evidence.kind.value,
            path=evidence.path,
            sha256=evidence.sha256,
            size_bytes=evidence.size_bytes,
            media_type=evidence.media_type,
        )
    )
    try:
        detail = _finish(db, runtime, row)
    except Exception:
        # The row never committed: do not leave an orphan photo behind.
        (runtime.evidence_dir / evidence.path).unlink(missing_ok=True)
        raise
    return detail
