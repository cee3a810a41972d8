"""Live cameras: a reader thread per camera that never waits for analysis, an analysis thread
per camera, reconnection with capped exponential back-off, and a status for the API."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from detector.base import Detector
from detector.types import Frame
from pipeline.camera import CameraAnalyzer, SampledFrame
from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.errors import InputError
from pipeline.process import encode_jpeg
from pipeline.sink import IncidentSink
from pipeline.sources import RateGate, VideoSource
from pipeline.store.repository import IncidentStore

log = logging.getLogger(__name__)


class CameraState(StrEnum):
    starting = "starting"
    online = "online"
    reconnecting = "reconnecting"
    offline = "offline"
    stopped = "stopped"


@dataclass(slots=True)
class CameraStatus:
    name: str
    state: CameraState = CameraState.starting
    last_frame_at: datetime | None = None
    frames_read: int = 0
    frames_detected: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    last_error: str = ""
    lag_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Work:
    t: float
    jpeg: bytes
    frame: Frame | None  # set when the frame is due for detection


class Backoff:
    """Capped exponential delays: 1, 2, 4, ... up to `cap` seconds.

    >>> b = Backoff(base=1, cap=5)
    >>> [b.next() for _ in range(5)]
    [1, 2, 4, 5, 5]
    """

    def __init__(self, base: float = 1.0, cap: float = 30.0) -> None:
        self.base, self.cap, self._n = base, cap, 0

    def next(self) -> float:
        delay = min(self.base * 2**self._n, self.cap)
        self._n += 1
        return delay

    def reset(self) -> None:
        self._n = 0


class LiveCamera:
    """Reads one live source and analyses it until `stop()`."""

    def __init__(
        self,
        app: AppConfig,
        camera: CameraConfig,
        detector: Detector,
        sink: IncidentSink,
        store: IncidentStore | None = None,
        open_source: Callable[[str | int, float], VideoSource] | None = None,
    ) -> None:
        self.app, self.camera, self.detector = app, camera, detector
        self.sink, self.store = sink, store
        self.status = CameraStatus(camera.name)
        self._open = open_source or (lambda spec, origin: VideoSource(spec, clock_origin=origin))
        self._stop = threading.Event()
        self._queue: queue.Queue[_Work] = queue.Queue(maxsize=int(app.evidence.clip_fps * 2) + 2)
        self._origin = time.monotonic()
        self._wall_origin = datetime.now(UTC)
        self._analyzer: CameraAnalyzer | None = None
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"read-{camera.name}", daemon=True),
            threading.Thread(target=self._analyse_loop, name=f"analyse-{camera.name}", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        """Apply edited zones without a restart (before the first frame they are kept for it)."""
        self.camera = self.camera.model_copy(update={"zones": list(zones)})
        if self._analyzer is not None:
            self._analyzer.replace_zones(list(zones))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.status.state = CameraState.stopped

    def _read_loop(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                source = self._open(self.camera.source, self._origin)
            except InputError as exc:
                self._went_offline(str(exc), backoff.next())
                continue
            backoff.reset()
            with source:
                self._read_frames(source)
            if not self._stop.is_set():
                self._went_offline("stream ended", backoff.next())

    def _went_offline(self, reason: str, delay: float) -> None:
        self.status.state = (
            CameraState.reconnecting if self.status.frames_read else CameraState.offline
        )
        self.status.last_error = reason
        self.status.reconnects += 1
        log.warning("camera %s: %s; retrying in %.0f s", self.camera.name, reason, delay)
        self._stop.wait(delay)

    def _read_frames(self, source: VideoSource) -> None:
        info = source.info
        clip_fps = min(self.app.evidence.clip_fps, info.fps)
        detect_gate, clip_gate = RateGate(self.camera.detect_fps), RateGate(clip_fps)
        if self._analyzer is None:
            self._analyzer = CameraAnalyzer(
                self.app,
                self.camera,
                (info.width, info.height),
                self._wall_origin,
                self.sink,
                self.store,
                clip_fps,
            )
        self.status.state = CameraState.online
        for grabbed in source.frames():
            if self._stop.is_set():
                return
            self.status.frames_read += 1
            self.status.last_frame_at = datetime.now(UTC)
            want_clip, want_detect = clip_gate.due(grabbed.t), detect_gate.due(grabbed.t)
            if not (want_clip or want_detect):
                continue
            image = grabbed.retrieve()
            if image is None:
                continue
            frame = Frame(image, grabbed.t, grabbed.index) if want_detect else None
            self._offer(_Work(grabbed.t, encode_jpeg(image, self.app.evidence.jpeg_quality), frame))

    def _offer(self, work: _Work) -> None:
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            # Analysis is behind: drop this frame rather than stall the reader and let the
            # stream buffer grow; incidents are never dropped, only samples.
            self.status.frames_dropped += 1

    def _analyse_loop(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            try:
                work = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            analyzer = self._analyzer
            assert analyzer is not None  # created by the reader before it queues anything
            analyzer.on_clip_frame(work.t, work.jpeg)
            if work.frame is not None:
                [dets] = self.detector.detect([work.frame])
                analyzer.on_detections(SampledFrame(work.frame, work.jpeg), dets)
                self.status.frames_detected += 1
                self.status.lag_s = (time.monotonic() - self._origin) - work.t
        if self._analyzer is not None:
            for clip in self._analyzer.pending.flush():
                self.sink.clip(clip.incident_id, clip.frames, self._analyzer.clip_fps)

    def wall(self, t: float) -> datetime:
        return self._wall_origin + timedelta(seconds=t)


class Supervisor:
    """Starts every configured camera and stops them together."""

    def __init__(self, cameras: list[LiveCamera]) -> None:
        self.cameras = cameras

    def start(self) -> None:
        for cam in self.cameras:
            cam.start()

    def stop(self) -> None:
        for cam in self.cameras:
            cam._stop.set()
        for cam in self.cameras:
            cam.stop()

    def statuses(self) -> list[CameraStatus]:
        return [c.status for c in self.cameras]
