"""Live events for the monitoring wall: a WebSocket and a Server-Sent Events stream.

Both forward AlertBus events (`incident.opened`, `incident.updated`, `camera.status`) as
JSON; patrol users only get their team's dispatched incidents. Browsers cannot set headers
on a WebSocket, so it signs in with the session cookie or a single-use `?ticket=`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from api.deps import CurrentUser, DbSession, RuntimeDep, ScopeDep
from api.events import event_visible
from pipeline.alerts import AsyncSubscription
from pipeline.store.incident_query import TeamScope

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/live", tags=["live"])

KEEPALIVE_S = 15.0


@router.websocket("")
async def live_ws(
    websocket: WebSocket, user: CurrentUser, db: DbSession, runtime: RuntimeDep, scope: ScopeDep
) -> None:
    db.close()  # the connection may stay open for hours; do not hold a database connection
    await websocket.accept()
    sub = runtime.bus.subscribe()
    closed = asyncio.create_task(_wait_closed(websocket))
    try:
        while not closed.done():
            getter = asyncio.create_task(sub.get())
            done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            event = getter.result()
            if event_visible(event, scope):
                await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send
    finally:
        sub.close()
        closed.cancel()
        logger.debug("live WebSocket of %s closed", user.username)


async def _wait_closed(websocket: WebSocket) -> None:
    # Clients do not send anything we use; reading is how a disconnect is noticed.
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.get(
    "/sse",
    response_class=StreamingResponse,
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live_sse(
    request: Request, user: CurrentUser, db: DbSession, runtime: RuntimeDep, scope: ScopeDep
) -> StreamingResponse:
    db.close()
    sub = runtime.bus.subscribe()
    return StreamingResponse(
        _sse_stream(request, sub, scope),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _sse_stream(
    request: Request, sub: AsyncSubscription, scope: TeamScope | None
) -> AsyncIterator[str]:
    try:
        yield ": connected\n\n"  # a comment: opens the stream at once, ignored by EventSource
        while True:
            try:
                event = await asyncio.wait_for(sub.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            if event_visible(event, scope):
                yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n"
    finally:
        sub.close()
