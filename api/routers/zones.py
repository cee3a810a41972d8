"""Zones of a camera: read, add, replace, delete; applied to the running camera at once.

Bodies are ZoneConfig JSON, validated with the same model as the YAML, so a bad field is
reported with its path and value exactly as `streetwatch check-config` would.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import CurrentUser, DbSession, RuntimeDep
from api.runtime import Runtime
from api.schemas import Ok
from pipeline.config import ZoneConfig
from pipeline.config_load import describe_errors
from pipeline.store import audit, catalog

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/cameras/{name}/zones", tags=["zones"])

_ZONE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ZoneConfig"}}},
    }
}
ZoneBody = Annotated[dict[str, Any], Body(description="a ZoneConfig, as in the YAML")]


def _validate(data: dict[str, Any]) -> ZoneConfig:
    try:
        return ZoneConfig.model_validate(data)
    except ValidationError as exc:
        lines = describe_errors(exc, data)
        detail = [
            {"loc": ["body", *err["loc"]], "msg": line, "type": err["type"]}
            for err, line in zip(exc.errors(), lines, strict=True)
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None


def _apply(runtime: Runtime, db: Session, camera: str) -> None:
    """Hand the camera's stored zones to its running pipeline (if it runs here)."""
    live = runtime.cameras.get(camera)
    if live is not None:
        live.replace_zones(catalog.zone_configs(db, camera))
        logger.info("camera %s: zones replaced while running", camera)


def _not_found(exc: catalog.CatalogError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


@router.get("", response_model=list[dict[str, Any]])
def list_zones(name: str, db: DbSession) -> list[dict[str, Any]]:
    try:
        catalog.require_camera(db, name)
    except catalog.CatalogError as exc:
        raise _not_found(exc) from None
    return [z.model_dump(mode="json") for z in catalog.zone_configs(db, name)]


@router.post(
    "",
    response_model=dict[str, Any],
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_ZONE_BODY,
)
def add_zone(
    name: str, body: ZoneBody, principal: CurrentUser, db: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    zone = _validate(body)
    try:
        catalog.add_zone(db, name, zone)
    except catalog.CatalogError as exc:
        code = status.HTTP_409_CONFLICT if "already" in str(exc) else status.HTTP_404_NOT_FOUND
        raise HTTPException(code, str(exc)) from None
    audit.append(db, principal.username, "zone.create", None, {"camera": name, "zone": zone.name})
    db.commit()
    _apply(runtime, db, name)
    return zone.model_dump(mode="json")


@router.put("/{zone}", response_model=dict[str, Any], openapi_extra=_ZONE_BODY)
def replace_zone(
    name: str,
    zone: str,
    body: ZoneBody,
    principal: CurrentUser,
    db: DbSession,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    new = _validate(body)
    try:
        catalog.replace_zone(db, name, zone, new)
    except catalog.CatalogError as exc:
        code = status.HTTP_409_CONFLICT if "already" in str(exc) else status.HTTP_404_NOT_FOUND
        raise HTTPException(code, str(exc)) from None
    detail = {"camera": name, "zone": zone, "definition": new.model_dump(mode="json")}
    audit.append(db, principal.username, "zone.update", None, detail)
    db.commit()
    _apply(runtime, db, name)
    return new.model_dump(mode="json")


@router.delete("/{zone}", response_model=Ok)
def delete_zone(
    name: str, zone: str, principal: CurrentUser, db: DbSession, runtime: RuntimeDep
) -> Ok:
    try:
        catalog.delete_zone(db, name, zone)
    except catalog.CatalogError as exc:
        raise _not_found(exc) from None
    audit.append(db, principal.username, "zone.delete", None, {"camera": name, "zone": zone})
    db.commit()
    _apply(runtime, db, name)
    return Ok()
