"""`streetwatch run`: every configured camera, live, until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from api.events import make_incident_listener, make_update_listener
from api.runtime import Runtime
from cli.common import Storage, add_storage_args, detector_config, open_storage
from detector.shared import shared_detector
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.config_load import load_config
from pipeline.integrations import Integrations
from pipeline.live import LiveCamera, Supervisor
from pipeline.sink import AlertListener, IncidentSink, UpdateListener

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="watch every configured camera live until stopped")
    p.add_argument("--config", required=True, type=Path, help="camera/zone YAML")
    p.add_argument("--model", type=Path, help="ONNX model (overrides the config)")
    p.add_argument("--status-every", type=float, default=60.0, help="seconds between status lines")
    add_storage_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    app = load_config(args.config)
    detector = shared_detector(detector_config(app.detector, args.model))
    storage = open_storage(args.data_dir)
    integrations, listeners, updates = _integrations(app, storage)
    sink = IncidentSink(
        storage.writer, storage.store, listeners=listeners, update_listeners=updates
    )
    cameras = [LiveCamera(app, cam, detector, sink, storage.store) for cam in app.cameras]
    supervisor = Supervisor(cameras)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    integrations.start()
    supervisor.start()
    print(f"watching {len(cameras)} cameras; {storage.describe()}; Ctrl-C stops")
    try:
        while not stop.wait(args.status_every):
            _log_status(supervisor)
    except KeyboardInterrupt:
        pass
    print("stopping: finishing evidence in flight ...")
    started = time.monotonic()
    supervisor.stop()
    sink.close()
    integrations.stop()
    detector.close()
    print(
        f"stopped cleanly in {time.monotonic() - started:.1f} s; "
        f"{sink.stats.incidents_written} incidents written"
    )
    return 1 if sink.stats.failures else 0


def _integrations(
    app: AppConfig, storage: Storage
) -> tuple[Integrations, list[AlertListener], list[UpdateListener]]:
    """MQTT and webhooks from the config, fed by the same sink listeners as `serve` (so the
    payloads match): new incidents, and the camera's rectified / reopened updates."""
    bus = AlertBus()
    integrations = Integrations(app.integrations, bus, storage.engine)
    if not integrations.enabled:
        return integrations, [], []
    runtime = Runtime(storage.engine, storage.store, storage.evidence_dir, bus, config=app)
    return integrations, [make_incident_listener(runtime)], [make_update_listener(runtime)]


def _log_status(supervisor: Supervisor) -> None:
    for s in supervisor.statuses():
        log.info(
            "%s: %s, %d frames read, %d detected, %d dropped, lag %.1f s",
            s.name,
            s.state.value,
            s.frames_read,
            s.frames_detected,
            s.frames_dropped,
            s.lag_s,
        )
