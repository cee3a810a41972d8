"""Cameras: list with live state, and the latest picture of one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from api.camera_view import camera_list
from api.deps import DbSession, RuntimeDep
from api.evidence_files import resolve_inside
from api.schemas import CameraPublic
from pipeline.records import EvidenceKind
from pipeline.store.tables import EvidenceRow, IncidentRow

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraPublic])
def list_cameras(runtime: RuntimeDep, db: DbSession) -> list[CameraPublic]:
    return camera_list(runtime, db)


@router.get(
    "/{name}/snapshot",
    response_class=Response,
    response_model=None,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no picture yet"}},
)
def snapshot(name: str, runtime: RuntimeDep, db: DbSession) -> Response:
    """The camera's newest frame, or else its newest alert picture (for drawing zones)."""
    live = runtime.cameras.get(name)
    jpeg = live.latest_jpeg if live is not None else None
    if jpeg is not None:
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    query = (
        select(EvidenceRow.path)
        .join(IncidentRow, IncidentRow.id == EvidenceRow.incident_id)
        .where(IncidentRow.camera == name, EvidenceRow.kind == EvidenceKind.alert_clean.value)
        .order_by(IncidentRow.alert_at.desc())
        .limit(1)
    )
    relative = db.scalar(query)
    path = resolve_inside(runtime.evidence_dir, relative) if relative else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no picture of camera {name!r} yet")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
