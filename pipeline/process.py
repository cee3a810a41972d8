"""Process one video file as fast as the machine allows; stream time drives every rule."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from detector.base import Detector
from detector.types import Frame
from pipeline.camera import CameraAnalyzer, SampledFrame
from pipeline.config import AppConfig, CameraConfig
from pipeline.detect_rows import detect_in_rows
from pipeline.errors import InputError
from pipeline.packet_source import PacketSource
from pipeline.picture import FramePicture, encode_jpeg
from pipeline.sink import IncidentSink
from pipeline.sources import RateGate, SourceInfo, VideoSource
from pipeline.store.repository import IncidentStore
from pipeline.timing import StageTimes

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, int], None]  # (stream seconds reached, incidents so far)


@dataclass(slots=True)
class ProcessResult:
    info: SourceInfo
    frames_read: int = 0
    frames_detected: int = 0
    corrupt_frames: int = 0
    truncated: bool = False
    stream_seconds: float = 0.0
    wall_seconds: float = 0.0
    incidents: int = 0
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def speed(self) -> float:
        """Times real time: stream seconds processed per wall second."""
        return self.stream_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def process_video(
    source: VideoSource | PacketSource,
    app: AppConfig,
    camera: CameraConfig,
    detector: Detector,
    sink: IncidentSink,
    wall_origin: datetime,
    store: IncidentStore | None = None,
    progress: ProgressCallback | None = None,
) -> ProcessResult:
    """Run the whole analysis over an opened file source; the sink is flushed by the caller."""
    info = source.info
    result = ProcessResult(info=info)
    clip_fps = min(app.evidence.clip_fps, info.fps)
    codec = source.codec if isinstance(source, PacketSource) else None
    analyzer = CameraAnalyzer(
        app,
        camera,
        (info.width, info.height),
        wall_origin,
        sink,
        store,
        clip_fps,
        result.times,
        packet_codec=codec,
    )
    run = _Run(
        analyzer, detector, result, RateGate(camera.detect_fps), app.evidence.jpeg_quality, progress
    )
    started = time.perf_counter()
    if isinstance(source, PacketSource):
        _packet_loop(source, run)
    else:
        _opencv_loop(source, run, RateGate(clip_fps))
    if result.frames_read == 0:
        raise InputError(f"no decodable video in {source.spec}")
    analyzer.finish()
    result.corrupt_frames += source.corrupt_frames
    result.truncated = source.truncated
    result.incidents = analyzer.incident_count
    result.wall_seconds = time.perf_counter() - started
    if info.fps and result.frames_read:
        # The last frame lasts one frame interval: a 30 s file covers 30 s, not 29.96.
        result.stream_seconds += 1.0 / info.fps
    return result


@dataclass(slots=True)
class _Run:
    analyzer: CameraAnalyzer
    detector: Detector
    result: ProcessResult
    detect_gate: RateGate
    jpeg_quality: int
    progress: ProgressCallback | None

    def detect(
        self, image: npt.NDArray[np.uint8], t: float, index: int, jpeg: bytes | None = None
    ) -> None:
        """Detect on a sampled frame; `jpeg` when it was encoded already (as a clip frame)."""
        picture = FramePicture(image, self.jpeg_quality, jpeg)
        _detect_one(self.analyzer, self.detector, Frame(image, t, index), picture, self.result)
        if self.progress:
            self.progress(t, self.analyzer.incident_count)


def _opencv_loop(source: VideoSource, run: _Run, clip_gate: RateGate) -> None:
    result = run.result
    decode_started = time.perf_counter()
    for grabbed in source.frames():
        result.frames_read += 1
        result.stream_seconds = grabbed.t
        want_clip, want_detect = clip_gate.due(grabbed.t), run.detect_gate.due(grabbed.t)
        if not (want_clip or want_detect):
            continue
        image = grabbed.retrieve()
        if image is None:
            result.corrupt_frames += 1
            continue
        result.times.add("decode", time.perf_counter() - decode_started)
        jpeg = encode_jpeg(image, run.jpeg_quality) if want_clip else None
        if jpeg is not None:
            run.analyzer.on_clip_frame(grabbed.t, jpeg)
        if want_detect:
            run.detect(image, grabbed.t, grabbed.index, jpeg)
        decode_started = time.perf_counter()


def _packet_loop(source: PacketSource, run: _Run) -> None:
    result = run.result
    decode_started = time.perf_counter()
    for item in source.items():
        result.frames_read += 1
        result.stream_seconds = item.packet.t
        run.analyzer.on_packet(item.packet)
        for decoded in item.frames:
            if not run.detect_gate.due(decoded.t):
                continue
            image = decoded.to_bgr()
            result.times.add("decode", time.perf_counter() - decode_started)
            run.detect(image, decoded.t, result.frames_read - 1)
            decode_started = time.perf_counter()


def _detect_one(
    analyzer: CameraAnalyzer,
    detector: Detector,
    frame: Frame,
    picture: FramePicture,
    result: ProcessResult,
) -> None:
    with result.times.measure("detect"):
        detections = detect_in_rows(detector, frame, analyzer.detect_band)
    result.frames_detected += 1
    analyzer.on_detections(SampledFrame(frame, picture), detections)
