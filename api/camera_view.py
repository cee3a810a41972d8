"""Camera list entries: the catalog joined with the live status of running cameras."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.runtime import Runtime
from api.schemas import CameraPublic
from pipeline.live import CameraState
from pipeline.store import catalog


def camera_list(runtime: Runtime, session: Session) -> list[CameraPublic]:
    """Every catalogued camera (or configured, before an import) with its state."""
    rows = catalog.camera_rows(session)
    if rows:
        entries = [
            (row.name, row.detect_fps, [z.name for z in catalog.zone_rows(session, row.name)])
            for row in rows
        ]
    elif runtime.config is not None:
        entries = [
            (c.name, c.detect_fps, [z.name for z in c.zones]) for c in runtime.config.cameras
        ]
    else:
        entries = []
    return [camera_public(runtime, name, fps, zones) for name, fps, zones in entries]


def camera_public(runtime: Runtime, name: str, detect_fps: float, zones: list[str]) -> CameraPublic:
    live = runtime.cameras.get(name)
    if live is None:
        # Not analysed by this process: it is offline as far as the API can tell.
        return CameraPublic(
            name=name,
            state=CameraState.offline.value,
            last_frame_at=None,
            detect_fps=detect_fps,
            lag_s=0.0,
            frames_dropped=0,
            zones=zones,
        )
    status = live.status
    return CameraPublic(
        name=name,
        state=status.state.value,
        last_frame_at=status.last_frame_at,
        detect_fps=detect_fps,
        lag_s=round(status.lag_s, 3),
        frames_dropped=status.frames_dropped,
        zones=zones,
        frames_read=status.frames_read,
        frames_detected=status.frames_detected,
        reconnects=status.reconnects,
        retry_delay_s=status.retry_delay_s,
        analysis_errors=status.analysis_errors,
    )
