"""The camera/zone catalog in the database: the source of truth once the YAML is imported.

The YAML is imported on first start (when the catalog is empty); after that zones are
edited through the API and `export_config` writes them back out as YAML-ready config.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.store.tables import CameraRow, ZoneRow, utc_now

logger = logging.getLogger(__name__)


class CatalogError(LookupError):
    """A camera or zone that is not (or already) in the catalog."""


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(CameraRow))


def import_config(engine: Engine, app: AppConfig, *, replace: bool = False) -> bool:
    """Copy the config's cameras and zones into the catalog.

    Only when the catalog is empty, unless `replace` (then the catalog becomes the config).
    Returns whether anything was imported.
    """
    with Session(engine) as session, session.begin():
        if not is_empty(session) and not replace:
            return False
        for row in session.scalars(select(CameraRow)):
            session.delete(row)
        session.flush()
        for camera in app.cameras:
            session.add(_camera_row(camera))
            session.flush()
            for position, zone in enumerate(camera.zones):
                session.add(_zone_row(camera.name, zone, position))
    logger.info("imported %d cameras into the catalog", len(app.cameras))
    return True


def export_config(engine: Engine, base: AppConfig) -> AppConfig:
    """`base` (detector, class map, evidence settings) with the catalog's cameras and zones.

    The catalog holds where a camera is and what it watches; how it is read (`reader`,
    `decode`, `tamper_check`, `crop_to_zones`) stays in the YAML's entry of the same name.
    """
    from_yaml = {camera.name: camera for camera in base.cameras}
    with Session(engine) as session:
        cameras = [
            _camera_config(row, zone_configs(session, row.name), from_yaml.get(row.name))
            for row in session.scalars(select(CameraRow).order_by(CameraRow.name))
        ]
    if not cameras:
        return base
    return base.model_copy(update={"cameras": cameras})


def camera_rows(session: Session) -> list[CameraRow]:
    return list(session.scalars(select(CameraRow).order_by(CameraRow.name)))


def zone_rows(session: Session, camera: str) -> list[ZoneRow]:
    query = select(ZoneRow).where(ZoneRow.camera == camera).order_by(ZoneRow.position, ZoneRow.name)
    return list(session.scalars(query))


def zone_configs(session: Session, camera: str) -> list[ZoneConfig]:
    return [ZoneConfig.model_validate(row.definition) for row in zone_rows(session, camera)]


def require_camera(session: Session, camera: str) -> CameraRow:
    row = session.get(CameraRow, camera)
    if row is None:
        raise CatalogError(f"no camera named {camera!r}")
    return row


def add_zone(session: Session, camera: str, zone: ZoneConfig) -> ZoneRow:
    require_camera(session, camera)
    if session.get(ZoneRow, (camera, zone.name)) is not None:
        raise CatalogError(f"camera {camera} already has a zone named {zone.name!r}")
    position = session.scalar(
        select(func.coalesce(func.max(ZoneRow.position), -1)).where(ZoneRow.camera == camera)
    )
    row = _zone_row(camera, zone, int(position if position is not None else -1) + 1)
    session.add(row)
    session.flush()
    return row


def replace_zone(session: Session, camera: str, name: str, zone: ZoneConfig) -> ZoneRow:
    """Overwrite zone `name` (a different `zone.name` renames it)."""
    row = _require_zone(session, camera, name)
    if zone.name != name and session.get(ZoneRow, (camera, zone.name)) is not None:
        raise CatalogError(f"camera {camera} already has a zone named {zone.name!r}")
    position = row.position
    session.delete(row)
    session.flush()
    new_row = _zone_row(camera, zone, position)
    session.add(new_row)
    session.flush()
    return new_row


def delete_zone(session: Session, camera: str, name: str) -> None:
    session.delete(_require_zone(session, camera, name))
    session.flush()


def _require_zone(session: Session, camera: str, name: str) -> ZoneRow:
    require_camera(session, camera)
    row = session.get(ZoneRow, (camera, name))
    if row is None:
        raise CatalogError(f"camera {camera} has no zone named {name!r}")
    return row


def _camera_row(camera: CameraConfig) -> CameraRow:
    return CameraRow(
        name=camera.name,
        source=str(camera.source),
        detect_fps=camera.detect_fps,
        timezone=camera.timezone,
        latitude=camera.latitude,
        longitude=camera.longitude,
    )


def _zone_row(camera: str, zone: ZoneConfig, position: int) -> ZoneRow:
    return ZoneRow(
        camera=camera,
        name=zone.name,
        definition=zone.model_dump(mode="json"),
        position=position,
        updated_at=utc_now(),
    )


def _camera_config(
    row: CameraRow, zones: list[ZoneConfig], from_yaml: CameraConfig | None
) -> CameraConfig:
    # A device index was stored as text; digits alone mean the index again.
    source: Any = int(row.source) if row.source.isdigit() else row.source
    catalog = {
        "name": row.name,
        "source": source,
        "detect_fps": row.detect_fps,
        "timezone": row.timezone,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "zones": zones,
    }
    if from_yaml is None:  # added through the API: default reading settings
        return CameraConfig.model_validate(catalog)
    return CameraConfig.model_validate({**from_yaml.model_dump(), **catalog})
