"""Live cameras: a reader thread per camera that never waits for analysis, an analysis thread
per camera, reconnection with capped exponential back-off, and a status for the API."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from detector.base import Detector
from detector.priority import lower_this_thread
from detector.types import Frame
from pipeline.camera import CameraAnalyzer, SampledFrame
from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.detect_rows import detect_in_rows
from pipeline.errors import InputError
from pipeline.packet_source import PacketSource, SourcePacket
from pipeline.picture import FramePicture, encode_jpeg
from pipeline.readers import Source, SourceOpener
from pipeline.readers import open_source as open_source_for
from pipeline.sink import IncidentSink
from pipeline.sources import RateGate, VideoSource
from pipeline.store.repository import IncidentStore

log = logging.getLogger(__name__)

# Half a second of a 25 fps stream: clip packets reach the pre-roll buffer that late at most.
PACKETS_PER_HANDOFF = 12


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
    corrupt_frames: int = 0
    analysis_errors: int = 0  # frames whose detection or rules raised; the camera goes on
    fault: str | None = None  # covered / moved / blurred: rules paused
    last_error: str = ""
    lag_s: float = 0.0
    retry_delay_s: float = 0.0  # the back-off being waited before the next attempt; 0 online


@dataclass(frozen=True, slots=True)
class _Work:
    t: float
    clip_jpeg: bytes | None  # a clip frame (OpenCV readers)
    packets: tuple[SourcePacket, ...]  # the stream's packets since the last hand-off (PyAV)
    frame: Frame | None  # set when the frame is due for detection
    picture: FramePicture | None  # that frame's picture


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
        open_source: SourceOpener | None = None,
        backoff: Backoff | None = None,
        nice: int = 0,
    ) -> None:
        self.app, self.camera, self.detector = app, camera, detector
        # Delays between reconnect attempts; replaceable until `start()` (tests shorten it).
        self.backoff = backoff or Backoff()
        self.sink, self.store = sink, store
        # How far below the API this camera's threads run (`serve` passes `analysis_nice`).
        self.nice = nice
        self.status = CameraStatus(camera.name)
        # Newest sampled frame, for the API's snapshot; one reference assignment, so readers
        # on other threads always see a whole picture.
        self._latest: FramePicture | None = None
        self._open = open_source or (
            lambda spec, origin: open_source_for(self.camera, spec, origin)
        )
        self._stop = threading.Event()
        # Room for a minute of work at 30 items a second (clip frames, or packet bunches: more);
        # past that analysis is stuck and work is dropped.
        self._queue: queue.Queue[_Work] = queue.Queue(maxsize=1800)
        self._detections_waiting = 0
        self._counter_lock = threading.Lock()
        self._last_failure_log = 0.0  # monotonic time of the last analysis-failure log line
        self._detect_gate = RateGate(camera.detect_fps)
        self._clip_gate = RateGate(app.evidence.clip_fps)
        self._origin = time.monotonic()
        self._wall_origin = datetime.now(UTC)
        self._analyzer: CameraAnalyzer | None = None
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"read-{camera.name}", daemon=True),
            threading.Thread(target=self._analyse_loop, name=f"analyse-{camera.name}", daemon=True),
        ]

    def _open_configured(self, spec: str | int, origin: float) -> Source:
        return open_source_for(self.camera, spec, origin)

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
        lower_this_thread(self.nice)
        while not self._stop.is_set():
            try:
                source = self._open(self.camera.source, self._origin)
            except InputError as exc:
                # Unreachable: offline until an attempt succeeds.
                self._went_offline(CameraState.offline, str(exc))
                continue
            self.backoff.reset()
            with source:
                self._read_frames(source)
            if not source.info.live and not self._stop.is_set():
                # A recorded file was read to its end (as fast as it decodes): opening it
                # again would analyse the same footage twice, as new incidents.
                self.status.state = CameraState.stopped
                self.status.last_error = "file ended"
                log.info("camera %s: %s read to the end", self.camera.name, self.camera.source)
                return
            if not self._stop.is_set():
                # A stream that gave frames and dropped is being reconnected; one that ended
                # before any frame never worked.
                had_frames = self.status.frames_read > 0
                state = CameraState.reconnecting if had_frames else CameraState.offline
                self._went_offline(state, "stream ended")

    def _went_offline(self, state: CameraState, reason: str) -> None:
        delay = self.backoff.next()
        self.status.state = state
        self.status.last_error = reason
        self.status.reconnects += 1
        self.status.retry_delay_s = delay
        log.warning("camera %s: %s; retrying in %.1f s", self.camera.name, reason, delay)
        self._stop.wait(delay)

    def _read_frames(self, source: Source) -> None:
        info = source.info
        clip_fps = min(self.app.evidence.clip_fps, info.fps)
        if self._analyzer is None:
            codec = source.codec if isinstance(source, PacketSource) else None
            self._analyzer = CameraAnalyzer(
                self.app,
                self.camera,
                (info.width, info.height),
                self._wall_origin,
                self.sink,
                self.store,
                clip_fps,
                packet_codec=codec,
            )
            self._clip_gate = RateGate(clip_fps)
        self.status.state = CameraState.online
        self.status.retry_delay_s = 0.0
        if isinstance(source, PacketSource):
            self._read_packets(source)
        else:
            self._read_opencv(source)

    def _read_opencv(self, source: VideoSource) -> None:
        for grabbed in source.frames():
            if self._stop.is_set():
                return
            self._count_frame()
            want_clip, want_detect = self._clip_gate.due(grabbed.t), self._detect_due(grabbed.t)
            if not (want_clip or want_detect):
                continue
            image = grabbed.retrieve()
            if image is None:
                self.status.corrupt_frames += 1
                continue
            # Clip frames are JPEGs anyway; a frame only for detection is encoded if needed.
            clip_jpeg = encode_jpeg(image, self.app.evidence.jpeg_quality) if want_clip else None
            picture = self._picture(image, clip_jpeg)
            frame = Frame(image, grabbed.t, grabbed.index) if want_detect else None
            self._offer(_Work(grabbed.t, clip_jpeg, (), frame, picture))

    def _read_packets(self, source: PacketSource) -> None:
        # Packets go to analysis in bunches (a wake-up of the analysis thread per packet cost
        # more than keeping them): with each frame due for detection, else every so many.
        packets: list[SourcePacket] = []
        for item in source.items():
            if self._stop.is_set():
                break
            self._count_frame()
            frame, picture = None, None
            for decoded in item.frames:
                if self._detect_due(decoded.t):
                    image = decoded.to_bgr()
                    frame = Frame(image, decoded.t, self.status.frames_read)
                    picture = self._picture(image)
            packets.append(item.packet)
            if frame is not None or len(packets) >= PACKETS_PER_HANDOFF:
                self._offer(_Work(item.packet.t, None, tuple(packets), frame, picture))
                packets = []
        if packets:
            self._offer(_Work(packets[-1].t, None, tuple(packets), None, None))
        self.status.corrupt_frames = source.corrupt_frames

    def _count_frame(self) -> None:
        self.status.frames_read += 1
        self.status.last_frame_at = datetime.now(UTC)

    def _picture(self, image: npt.NDArray[np.uint8], jpeg: bytes | None = None) -> FramePicture:
        picture = FramePicture(image, self.app.evidence.jpeg_quality, jpeg)
        self._latest = picture
        return picture

    @property
    def latest_jpeg(self) -> bytes | None:
        """The newest sampled frame as JPEG (encoded now if nothing needed it before)."""
        latest = self._latest
        return latest.jpeg() if latest is not None else None

    def _detect_due(self, t: float) -> bool:
        if not self._detect_gate.due(t):
            return False
        if self._detections_waiting >= 2:
            # Analysis is behind: skip this sample rather than let frames pile up; samples
            # are dropped, incidents never are.
            self.status.frames_dropped += 1
            return False
        return True

    def _offer(self, work: _Work) -> None:
        if work.frame is not None:
            with self._counter_lock:
                self._detections_waiting += 1
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            self.status.frames_dropped += 1
            if work.frame is not None:
                with self._counter_lock:
                    self._detections_waiting -= 1

    def _analyse_loop(self) -> None:
        lower_this_thread(self.nice)
        while not self._stop.is_set() or not self._queue.empty():
            try:
                work = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._analyse(work)
            except Exception as exc:  # one bad frame or store glitch must not end the analysis
                self._analysis_failed(exc)
        if self._analyzer is not None:
            self._analyzer.flush_clips()

    def _analyse(self, work: _Work) -> None:
        analyzer = self._analyzer
        assert analyzer is not None  # created by the reader before it queues anything
        if work.clip_jpeg is not None:
            analyzer.on_clip_frame(work.t, work.clip_jpeg)
        for packet in work.packets:
            analyzer.on_packet(packet)
        if work.frame is None or work.picture is None:
            return
        try:
            dets = detect_in_rows(self.detector, work.frame, analyzer.detect_band)
            analyzer.on_detections(SampledFrame(work.frame, work.picture), dets)
        finally:
            with self._counter_lock:
                self._detections_waiting -= 1
        self.status.frames_detected += 1
        self.status.fault = analyzer.fault.value if analyzer.fault else None
        self.status.lag_s = (time.monotonic() - self._origin) - work.t

    def _analysis_failed(self, exc: Exception) -> None:
        self.status.analysis_errors += 1
        self.status.last_error = f"analysis: {type(exc).__name__}: {exc}"
        # The first failure with its traceback, then one line a minute while it goes on.
        now = time.monotonic()
        if self.status.analysis_errors == 1:
            log.exception("camera %s: analysis of a frame failed; going on", self.camera.name)
        elif now - self._last_failure_log >= 60.0:
            log.error(
                "camera %s: %d frames failed analysis so far (last: %s)",
                self.camera.name,
                self.status.analysis_errors,
                self.status.last_error,
            )
        else:
            return
        self._last_failure_log = now

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
