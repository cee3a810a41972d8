"""Milliseconds per frame for each stage, on the benchmark camera."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from detector.base import create_detector
from detector.config import DetectorConfig
from detector.onnx_backend import rect_size
from detector.postprocess import decode
from detector.preprocess import letterbox
from pipeline.benchmark.scene import CURB
from pipeline.config import AppConfig
from pipeline.detect_rows import zone_rows
from pipeline.evidence import EvidenceWriter
from pipeline.geometry import scale_polygon
from pipeline.packet_source import PacketSource
from pipeline.process import process_video
from pipeline.sink import IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore


def decode_costs(video: Path, limit: int = 250) -> dict[str, float]:
    """ms per frame for OpenCV grab+retrieve of every frame, and for PyAV keyframe-only
    decoding per keyframe (plus its demux cost per packet)."""
    cap = cv2.VideoCapture(str(video))
    started, n = time.perf_counter(), 0
    while n < limit and cap.grab():
        cap.retrieve()
        n += 1
    cap.release()
    opencv_ms = 1000 * (time.perf_counter() - started) / max(n, 1)
    with PacketSource(str(video), detect_fps=1.0, decode="keyframes") as src:
        started, packets, keys = time.perf_counter(), 0, 0
        for item in src.items():
            packets += 1
            for frame in item.frames:
                frame.to_bgr()
                keys += 1
            if packets >= limit:
                break
        keyframe_s = time.perf_counter() - started
    return {
        "decode_opencv_every_frame": opencv_ms,
        "decode_pyav_per_keyframe": 1000 * keyframe_s / max(keys, 1),
        "demux_pyav_per_packet_incl_keyframes": 1000 * keyframe_s / max(packets, 1),
    }


def _session(model: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def model_costs(
    model: Path, image: np.ndarray, imgsz: int, threads: int, n: int = 10, int8: Path | None = None
) -> dict[str, float]:
    """Pre-processing, inference and post-processing of one 720p frame; inference also for a
    square input, the zone rows only, and (`int8` given) the float and int8 models timed alone."""
    session = _session(model, threads)
    name = session.get_inputs()[0].name
    size = rect_size([image.shape[:2]], imgsz)  # what the onnx backend feeds a dynamic model
    tensor, _ = letterbox(image, size)
    batch = tensor[None]
    output = session.run(None, {name: batch})[0]
    others = _other_inputs(image, imgsz)
    timings = dict.fromkeys(["preprocess", "inference", "postprocess", *others], 0.0)
    for tensor in others.values():
        session.run(None, {name: tensor[None]})  # first runs of a new shape are slow
    for _ in range(n):
        started = time.perf_counter()
        tensor, _ = letterbox(image, size)
        timings["preprocess"] += time.perf_counter() - started
        started = time.perf_counter()
        output = session.run(None, {name: tensor[None]})[0]
        timings["inference"] += time.perf_counter() - started
        started = time.perf_counter()
        decode(output, "yolov8", 0.25)
        timings["postprocess"] += time.perf_counter() - started
        # Interleaved with the rect input, so drifting load from elsewhere hits all alike.
        for label, other in others.items():
            started = time.perf_counter()
            session.run(None, {name: other[None]})
            timings[label] += time.perf_counter() - started
    costs = {k: 1000 * v / n for k, v in timings.items()}
    if int8 is not None:
        # Each model timed alone, one after the other: two sessions taking turns would each
        # lose CPU to the other's spinning thread pool.
        costs["inference_timed_alone"] = _inference_ms(session, batch, n)
        del session
        costs["inference_int8_timed_alone"] = _inference_ms(_session(int8, threads), batch, n)
    return costs


def _inference_ms(session: ort.InferenceSession, batch: np.ndarray, n: int) -> float:
    feed = {session.get_inputs()[0].name: batch}
    session.run(None, feed)  # the first run of a session is slow
    started = time.perf_counter()
    for _ in range(n):
        session.run(None, feed)
    return 1000 * (time.perf_counter() - started) / n


def _other_inputs(image: np.ndarray, imgsz: int) -> dict[str, np.ndarray]:
    """Inputs to compare the rect one with: the full square, and the zone's rows only
    (what a camera with `crop_to_zones` feeds the model)."""
    height, width = image.shape[:2]
    square, _ = letterbox(image, imgsz)
    band = zone_rows([scale_polygon(CURB, width, height)], (width, height))
    rows = image if band is None else image[band.top : band.bottom]
    banded, _ = letterbox(rows, rect_size([rows.shape], imgsz))
    return {"inference_square_input": square, "inference_zone_rows_input": banded}


def rule_costs(video: Path, detections: Path) -> dict[str, float]:
    """Tracking, rules and evidence per detection frame, replaying recorded detections."""
    app = AppConfig.model_validate(
        {
            "cameras": [
                {
                    "name": "bench",
                    "source": str(video),
                    "reader": "pyav",
                    "zones": [
                        {
                            "name": "curb",
                            "rule": "illegal_parking",
                            "dwell_s": 10,
                            "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]],
                        }
                    ],
                }
            ],
            "detector": {"type": "replay", "model": str(detections)},
        }
    )
    with tempfile.TemporaryDirectory(prefix="streetwatch-bench-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        store = IncidentStore(engine)
        sink = IncidentSink(EvidenceWriter(Path(tmp) / "evidence"), store)
        detector = create_detector(DetectorConfig(type="replay", model=detections))
        with PacketSource(str(video), 1.0) as source:
            result = process_video(
                source, app, app.cameras[0], detector, sink, datetime.now(UTC), store
            )
        sink.close()
        engine.dispose()
    incidents = max(sink.stats.incidents_written, 1)
    return {
        "track": result.times.ms_per_call("track"),
        "rules": result.times.ms_per_call("rules"),
        "evidence_per_incident": 1000 * sink.stats.seconds / incidents,
        "evidence_per_detection_frame": 1000 * sink.stats.seconds / max(result.frames_detected, 1),
    }
