"""Evidence files for signed-in users, with byte ranges so `<video>` can seek.

Ids and kinds are checked strictly, the path comes from the database (never from the URL)
and must resolve inside the evidence folder. Every viewing is audited, at most once per
user, incident and kind per minute (a playing video makes many range requests).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DbSession, RuntimeDep, ScopeDep, run_db
from api.evidence_files import INCIDENT_ID, resolve_inside
from pipeline.records import EvidenceKind
from pipeline.store import audit
from pipeline.store.incident_query import TeamScope, is_visible
from pipeline.store.tables import EvidenceRow

router = APIRouter(prefix="/api/evidence", tags=["evidence"])

AUDIT_EVERY_S = 60.0
SMALL_FILE_BYTES = 4 * 1024 * 1024
PICTURE_HEADERS = {"Cache-Control": "private, no-store"}
_KINDS = {k.value for k in EvidenceKind}


class ViewLog:
    """Remembers when each (user, incident, kind) viewing was last audited."""

    def __init__(self, every_s: float = AUDIT_EVERY_S) -> None:
        self.every_s = every_s
        self._last: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def due(self, key: tuple[str, str, str]) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self.every_s) < self.every_s:
                return False
            self._last[key] = now
            if len(self._last) > 10_000:  # forget old entries now and then
                self._last = {k: t for k, t in self._last.items() if now - t < self.every_s}
            return True


@router.get(
    "/{incident_id}/{kind}",
    response_class=FileResponse,
    response_model=None,
    responses={206: {"description": "partial content"}, 416: {"description": "bad range"}},
)
async def evidence_file(
    incident_id: str,
    kind: str,
    request: Request,
    user: CurrentUser,
    db: DbSession,
    runtime: RuntimeDep,
    scope: ScopeDep,
) -> Response:
    if not INCIDENT_ID.match(incident_id) or kind not in _KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evidence")
    row = await run_db(runtime, _visible_evidence, db, incident_id, kind, scope)
    found = None
    if row is not None:  # the file system may be slow storage: not on the event loop
        found = await run_in_threadpool(_locate, runtime.evidence_dir, row.path, row.media_type)
    if row is None or found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evidence")
    views: ViewLog = request.app.state.evidence_views
    if views.due((user.username, incident_id, kind)):
        await run_in_threadpool(_audit_view, db, user.username, incident_id, kind)
    if isinstance(found, bytes):
        return Response(found, media_type=row.media_type, headers=PICTURE_HEADERS)
    return FileResponse(
        found,
        media_type=row.media_type,
        headers={"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"},
    )


def _locate(evidence_dir: Path, relative: str, media_type: str) -> Path | bytes | None:
    """The file inside the evidence folder (None: missing or outside it); a picture up to
    SMALL_FILE_BYTES comes back read, as bytes: pictures are sent whole, and reading one
    here saves FileResponse's own trips to the thread pool (stat, open, read, close)."""
    path = resolve_inside(evidence_dir, relative)
    if path is None or not media_type.startswith("image/"):
        return path
    try:
        with path.open("rb") as file:
            data = file.read(SMALL_FILE_BYTES + 1)
    except FileNotFoundError:  # pruned by retention a moment ago
        return None
    return data if len(data) <= SMALL_FILE_BYTES else path


def _visible_evidence(
    db: Session, incident_id: str, kind: str, scope: TeamScope | None
) -> EvidenceRow | None:
    if not is_visible(db, incident_id, scope):
        return None
    return db.scalar(
        select(EvidenceRow).where(EvidenceRow.incident_id == incident_id, EvidenceRow.kind == kind)
    )


def _audit_view(db: Session, username: str, incident_id: str, kind: str) -> None:
    audit.append(db, username, "evidence.view", incident_id, {"kind": kind})
    db.commit()
