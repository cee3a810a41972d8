"""Alert latency: from reading the frame that crosses the dwell to the alert arriving at a
client: a subscriber of the alert bus (the path that feeds WebSocket and SSE clients), or a
real WebSocket client of the API (`api.latency_probe`)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from detector.base import Detector
from detector.types import Detections, Frame
from pipeline.alerts import AlertBus
from pipeline.benchmark.paced import PacedLoop
from pipeline.benchmark.scene import bench_cameras
from pipeline.evidence import EvidenceWriter
from pipeline.live import LiveCamera
from pipeline.records import IncidentRecord
from pipeline.sink import AlertListener, IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore

ON_S, OFF_S, DWELL_S = 6.0, 3.0, 3.0


class ScriptedParking(Detector):
    """Pays for the real model on every frame, then reports a scripted car that stands for
    ON_S seconds and is gone for OFF_S, at a new spot each cycle."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    @property
    def reads_pixels(self) -> bool:
        return False  # the scripted boxes are whole-picture coordinates, crop or not

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.inner.detect(frames)
        return [self._scripted(f.t) for f in frames]

    def _scripted(self, t: float) -> Detections:
        cycle = int(t // (ON_S + OFF_S))
        if t % (ON_S + OFF_S) >= ON_S:
            return Detections.empty(("car",))
        x = 50 + 300 * (cycle % 4)
        return Detections.from_lists([[x, 450, x + 250, 580]], [0.9], [0], ("car",))


Arrived = Callable[[str, float], None]  # (camera, alert_s) of an alert a client received


class Delivery(Protocol):
    """The road an alert travels from the sink's stored row to the client being timed."""

    def sink_listener(self) -> AlertListener:
        """Called by the sink once an incident row is committed."""
        ...

    def start(self, arrived: Arrived) -> None:
        """Connect the client; `arrived` is called for every alert it receives."""
        ...

    def stop(self) -> None: ...


# Built once the benchmark's database and evidence folder exist.
DeliveryFactory = Callable[[Engine, IncidentStore, Path], Delivery]


def measure_latency(
    cameras: int,
    seconds: float,
    video: Path,
    detector: Detector,
    delivery: DeliveryFactory | None = None,
) -> dict[str, Any]:
    """p50/p95 from reading the frame that crosses the dwell to the alert reaching a client:
    an AlertBus subscriber by default, or what `delivery` builds (e.g. a WebSocket client)."""
    app = bench_cameras(cameras, video, dwell_s=DWELL_S, max_gap_s=1, merge_window_s=0)
    latencies: list[float] = []
    origins: dict[str, float] = {}

    def arrived(camera: str, alert_s: float) -> None:
        latencies.append(time.monotonic() - (origins[camera] + alert_s))

    with tempfile.TemporaryDirectory(prefix="streetwatch-latency-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/latency.db")
        migrate(engine)
        store = IncidentStore(engine)
        evidence_dir = Path(tmp) / "evidence"
        client = (delivery or BusDelivery)(engine, store, evidence_dir)
        sink = IncidentSink(EvidenceWriter(evidence_dir), store, [client.sink_listener()])
        scripted = ScriptedParking(detector)
        live = []
        for cam in app.cameras:

            def opener(spec: str | int, origin: float, name: str = cam.name) -> PacedLoop:
                origins[name] = origin
                return PacedLoop(str(video), 1.0, origin)

            live.append(LiveCamera(app, cam, scripted, sink, None, opener))
        client.start(arrived)
        for camera in live:
            camera.start()
        time.sleep(seconds)
        for camera in live:
            camera.stop()
        sink.close()
        client.stop()
        engine.dispose()
    return _summary(latencies)


class BusDelivery:
    """An async subscriber of an AlertBus on its own event loop, like a WebSocket endpoint,
    without the HTTP server."""

    def __init__(self, engine: Engine, store: IncidentStore, evidence_dir: Path) -> None:
        self.bus = AlertBus()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.arrived: Arrived = lambda camera, alert_s: None

    def sink_listener(self) -> AlertListener:
        def publish(record: IncidentRecord) -> None:
            self.bus.publish({"camera": record.camera, "alert_s": record.alert_s})

        return publish

    def start(self, arrived: Arrived) -> None:
        self.arrived = arrived
        self.thread.start()
        self.ready.wait(5)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._task.cancel)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._task = self.loop.create_task(self._consume())
        self.loop.run_forever()
        self.loop.run_until_complete(asyncio.gather(self._task, return_exceptions=True))
        self.loop.close()

    async def _consume(self) -> None:
        sub = self.bus.subscribe()
        self.ready.set()
        while True:
            event = await sub.get()
            self.arrived(event["camera"], event["alert_s"])


def _summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"alerts": 0}
    ordered = sorted(latencies)
    return {
        "alerts": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "max_s": round(ordered[-1], 3),
    }
