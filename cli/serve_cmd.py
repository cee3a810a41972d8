"""`streetwatch serve`: the HTTP API and web UI, with every catalogued camera running live."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import create_app, freeze_startup_heap
from api.demo_users import ensure_demo_users
from api.events import make_incident_listener, make_update_listener, watch_cameras
from api.relay import RelayHub
from api.runtime import Runtime
from api.settings import ApiSettings
from cli.api_workers import ApiWorkerPool, WorkerStartError, listening_socket
from cli.common import add_storage_args, detector_config, open_storage
from detector.config import DetectorConfig
from detector.shared import shared_detector
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig, CameraConfig
from pipeline.config_load import load_config
from pipeline.integrations import Integrations
from pipeline.live import LiveCamera, Supervisor
from pipeline.readers import SourceOpener
from pipeline.sink import IncidentSink
from pipeline.store.catalog import export_config, import_config

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the HTTP API and web UI (and the live cameras)")
    p.add_argument("--config", required=True, type=Path, help="camera/zone YAML")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", type=Path, help="ONNX model (overrides the config)")
    p.add_argument("--no-cameras", action="store_true", help="serve the API without analysis")
    p.add_argument(
        "--api-workers",
        type=int,
        default=1,
        metavar="N",
        help="1 (default): one process runs the cameras and serves the API; N > 1: the "
        "cameras run in this process and N worker processes serve the API, to use more "
        "cores under load (docs/reliability.md)",
    )
    add_storage_args(p)
    p.set_defaults(func=serve)


def build_runtime(args: argparse.Namespace) -> tuple[ApiSettings, Runtime]:
    """Storage, catalog (YAML imported on first start) and, unless disabled, live cameras."""
    settings = ApiSettings(data_dir=args.data_dir) if args.data_dir else ApiSettings()
    storage = open_storage(args.data_dir)
    yaml_config = load_config(args.config)
    if import_config(storage.engine, yaml_config):
        print(f"imported cameras and zones from {args.config} into the database")
    # From now on the database holds the cameras and zones; the YAML keeps the rest.
    app_config = export_config(storage.engine, yaml_config)
    runtime = Runtime(
        storage.engine, storage.store, storage.evidence_dir, AlertBus(), config=app_config
    )
    if not args.no_cameras:
        add_cameras(runtime, app_config, detector_config(app_config.detector, args.model))
    integrations = Integrations(app_config.integrations, runtime.bus, storage.engine)
    if integrations.enabled:
        # Subscribed to the bus already; started before the cameras, stopped after the
        # sink has announced its last incident.
        runtime.on_startup.insert(0, integrations.start)
        runtime.on_shutdown.append(integrations.stop)
    return settings, runtime


def add_cameras(
    runtime: Runtime,
    app_config: AppConfig,
    detector_settings: DetectorConfig,
    opener: Callable[[CameraConfig], SourceOpener] | None = None,
) -> None:
    """The live cameras, their shared detector and sink, started and stopped with the
    runtime; `opener` gives each camera its own way of opening its source (the load test's
    paced files), else the camera's configured reader. Reading, analysis, inference and clip
    encoding run `analysis_nice` levels below the API (detector.priority); the alert writer
    and the pending-writes queue do not."""
    nice = app_config.analysis_nice
    shared = shared_detector(detector_settings, nice)
    sink = IncidentSink(
        runtime.writer,
        runtime.store,
        listeners=[make_incident_listener(runtime)],
        update_listeners=[make_update_listener(runtime)],
        clip_nice=nice,
    )
    cameras = [
        LiveCamera(
            app_config,
            c,
            shared,
            sink,
            runtime.store,
            open_source=opener(c) if opener else None,
            nice=nice,
        )
        for c in app_config.cameras
    ]
    supervisor = Supervisor(cameras)
    runtime.cameras = {c.camera.name: c for c in cameras}
    runtime.on_startup.append(supervisor.start)
    # Cameras first, so the sink gets every incident in flight before it closes.
    runtime.on_shutdown.extend([supervisor.stop, sink.close, shared.close])


def serve(args: argparse.Namespace) -> int:
    if args.api_workers < 1:
        print(f"--api-workers must be at least 1, got {args.api_workers}", file=sys.stderr)
        return 2
    settings, runtime = build_runtime(args)
    if args.api_workers == 1:
        return _run_server(settings, runtime, args.host, args.port)
    return run_with_workers(settings, runtime, args.config, args.host, args.port, args.api_workers)


def serve_demo(config: Path, data_dir: Path, host: str, port: int) -> int:
    """Serve an already processed data folder (no live cameras) with the demo users."""
    args = argparse.Namespace(config=config, data_dir=data_dir, model=None, no_cameras=True)
    settings, runtime = build_runtime(args)
    print("demo users (user / password / role):")
    for username, password, role, team in ensure_demo_users(runtime.engine):
        print(f"  {username} / {password} / {role}" + (f" ({team})" if team else ""))
    return _run_server(settings, runtime, host, port)


def _run_server(settings: ApiSettings, runtime: Runtime, host: str, port: int) -> int:
    import uvicorn

    app = create_app(settings, runtime)
    freeze_startup_heap()
    print(f"serving on http://{host}:{port} ({len(runtime.cameras)} cameras live)")
    # uvicorn's access log shows paths only (never headers); query strings hold no secrets
    # except single-use tickets, which are spent by the time anyone reads the log.
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


def run_with_workers(
    settings: ApiSettings, runtime: Runtime, config: Path, host: str, port: int, processes: int
) -> int:
    """This process runs the cameras, the sink and the integrations; `processes` worker
    processes serve the API on one listening socket (see api.relay). The camera process
    serves no requests itself: requests pinned to it would wait behind the analysis."""
    listener = listening_socket(host, port)
    hub = RelayHub(runtime)
    data_dir = settings.data_dir.resolve()
    pool = ApiWorkerPool(processes, listener, hub, config.resolve(), data_dir)
    runtime.on_startup.extend([hub.start, pool.start])
    runtime.on_shutdown[:0] = [pool.stop, hub.stop]  # workers go first: they rely on the hub
    print(
        f"serving on http://{host}:{port} ({len(runtime.cameras)} cameras live, "
        f"{processes} API processes)"
    )
    return asyncio.run(_run_cameras(runtime))


async def _run_cameras(runtime: Runtime) -> int:
    """Start, announce camera state changes until SIGINT or SIGTERM, stop; the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        runtime.start()
    except Exception as exc:  # a worker that died at start, a process that could not start
        log.error(
            "start-up failed: %s; stopping", exc, exc_info=not isinstance(exc, WorkerStartError)
        )
        runtime.stop()
        return 1
    watcher = asyncio.create_task(watch_cameras(runtime))
    try:
        await stop.wait()
    finally:
        watcher.cancel()
        runtime.stop()
    return 0
