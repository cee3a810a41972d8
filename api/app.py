"""The FastAPI application factory: `create_app(settings, runtime)`.

Nothing is created at import time; `streetwatch serve` and the tests build the runtime
(engine, store, bus, cameras) and hand it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError

from api.body_limit import BodyLimit
from api.deps import authorize
from api.events import watch_cameras
from api.params import data_error, reject_nul
from api.request_limit import RequestLimit
from api.routers import (
    actions,
    auth,
    cameras,
    enforcement,
    evidence,
    export,
    health,
    incidents,
    integrations,
    kpis,
    legal_hold,
    live,
    reports,
    stats,
    users,
    zones,
)
from api.routers.evidence import ViewLog
from api.runtime import Runtime
from api.security import LoginLimiter
from api.settings import ApiSettings
from pipeline.config import ZoneConfig

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
ROUTERS = (
    health,
    auth,
    users,
    cameras,
    zones,
    incidents,
    actions,
    evidence,
    live,
    stats,
    enforcement,
    integrations,
    kpis,
    export,
    reports,
    legal_hold,
)


def create_app(settings: ApiSettings, runtime: Runtime) -> FastAPI:
    """The API (and the UI's static files at `/`) over `runtime`."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        watchers = (
            [asyncio.create_task(watch_cameras(runtime))] if runtime.announces_cameras else []
        )
        try:
            yield
        finally:
            for watcher in watchers:
                watcher.cancel()
            runtime.stop()

    # authorize runs for every route: the role table decides, not each handler.
    app = FastAPI(
        title="streetwatch",
        version="0.1.0",
        lifespan=lifespan,
        # reject_nul first: `authorize` may look a `?ticket=` up in the database.
        dependencies=[Depends(reject_nul), Depends(authorize)],
    )
    app.add_exception_handler(DataError, data_error)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.login_limiter = LoginLimiter(settings.login_max_failures, settings.login_window_s)
    app.state.evidence_views = ViewLog()
    for module in ROUTERS:
        app.include_router(module.router)
    # Innermost: a request waits for its place only once BodyLimit has let it in.
    app.add_middleware(RequestLimit, limit=settings.max_concurrent_requests)
    # Added before CORS so that CORS wraps it: a browser can then read the 413 too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
        )
    _mount_static(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def freeze_startup_heap() -> None:
    """Call once before serving. What exists by then (routes, schemas, mappers, the model)
    lives as long as the server; frozen, it is left out of the garbage collections that the
    short-lived objects of every request keep starting, which otherwise walk all of it
    (the incident list cost a third more CPU without this)."""
    gc.collect()
    gc.freeze()


def _mount_static(app: FastAPI) -> None:
    if not STATIC_DIR.is_dir():
        logger.warning("no UI files at %s; serving the API only", STATIC_DIR)
        return
    # Mounted last so /api/... routes win; the pages themselves are public.
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="ui")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus ZoneConfig, which zone routes validate by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    zone_schema = ZoneConfig.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(zone_schema.pop("$defs", {}))
    components["ZoneConfig"] = zone_schema
    app.openapi_schema = schema
    return schema
