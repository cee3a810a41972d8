"""Live events: new incidents from the evidence sink, status changes from the API, and
camera state changes, all published on the runtime's AlertBus as JSON-ready dicts.

Event shape: `{"type": "incident.opened" | "incident.updated" | "camera.status",
"incident": IncidentPublic, "camera": CameraPublic}` (one of the last two).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.camera_view import camera_public
from api.convert import incidents_public
from api.runtime import Runtime
from api.schemas import IncidentPublic
from pipeline.records import IncidentRecord
from pipeline.store.incident_query import TeamScope
from pipeline.store.tables import IncidentRow
from pipeline.store.workflow import HANDED_TO_TEAM

logger = logging.getLogger(__name__)

OPENED = "incident.opened"
UPDATED = "incident.updated"
CAMERA = "camera.status"


def incident_event(kind: str, incident: IncidentPublic) -> dict[str, Any]:
    return {"type": kind, "incident": incident.model_dump(mode="json")}


def publish_incident(runtime: Runtime, session: Session, row: IncidentRow, kind: str) -> None:
    [public] = incidents_public(session, [row])
    runtime.bus.publish(incident_event(kind, public))


def make_incident_listener(runtime: Runtime) -> Callable[[IncidentRecord], None]:
    """An IncidentSink listener that publishes each stored incident as `incident.opened`."""

    def on_stored(record: IncidentRecord) -> None:
        _publish_stored(runtime, record.id, OPENED)

    return on_stored


def make_update_listener(runtime: Runtime) -> Callable[[str], None]:
    """An IncidentSink listener that publishes `incident.updated` when the camera changed an
    incident's status (rectified, reopened)."""

    def on_updated(incident_id: str) -> None:
        _publish_stored(runtime, incident_id, UPDATED)

    return on_updated


def _publish_stored(runtime: Runtime, incident_id: str, kind: str) -> None:
    # Runs on the sink's writer thread, right after the row was committed.
    with Session(runtime.engine) as session:
        row = session.get(IncidentRow, incident_id)
        if row is None:
            logger.warning("incident %s was announced but is not stored", incident_id)
            return
        publish_incident(runtime, session, row, kind)


def event_visible(event: dict[str, Any], scope: TeamScope | None) -> bool:
    """Whether a subscriber with this scope (None: everything) may receive the event."""
    incident = event.get("incident")
    if scope is None or incident is None:
        return True
    return (
        incident.get("team") == scope.team
        and incident.get("status") in HANDED_TO_TEAM
        and (incident.get("camera"), incident.get("zone")) in set(scope.zones)
    )


async def watch_cameras(runtime: Runtime, interval_s: float = 1.0) -> None:
    """Publish `camera.status` whenever a running camera's state changes (until cancelled)."""
    last: dict[str, str] = {}
    while True:
        try:
            _publish_changes(runtime, last)
        except Exception:  # a status glitch must not end the watcher for every camera
            logger.exception("camera status check failed")
        await asyncio.sleep(interval_s)


def _publish_changes(runtime: Runtime, last: dict[str, str]) -> None:
    for name, live in list(runtime.cameras.items()):
        state = live.status.state.value
        if last.get(name) == state:
            continue
        last[name] = state
        zones = [z.name for z in live.camera.zones]
        camera = camera_public(runtime, name, live.camera.detect_fps, zones)
        runtime.bus.publish({"type": CAMERA, "camera": camera.model_dump(mode="json")})
