"""Detector overhead: our ONNX backend (letterbox + inference + decode + NMS on 720p frames)
against a bare `InferenceSession.run` on a ready tensor of the same shape, measured in the
same run."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from detector.config import DetectorConfig
from detector.onnx_backend import OnnxDetector
from detector.types import Frame


@dataclass(frozen=True, slots=True)
class Overhead:
    bare_fps: float
    backend_fps: float
    ratio: float  # median over rounds of backend/bare, each pair measured back to back


def measure_overhead(
    model: Path,
    images: list[npt.NDArray[np.uint8]],
    imgsz: int,
    threads: int,
    rounds: int = 5,
    per_round: int = 10,
) -> Overhead:
    """Rounds alternate between the two so drifting machine load hits both alike."""
    bare = _bare_session(model, threads)
    detector = OnnxDetector(DetectorConfig(model=model, imgsz=imgsz, threads=threads))
    # The bare run gets the input shape our backend picks for these frames (rect for 720p).
    height, width = detector.network_size([images[0].shape[:2]])
    tensor = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    name = bare.get_inputs()[0].name
    frames = [Frame(img, float(i), i) for i, img in enumerate(images)]
    for _ in range(3):  # warm both up
        bare.run(None, {name: tensor})
        detector.detect(frames[:1])
    bare_rates, backend_rates = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            bare.run(None, {name: tensor})
        bare_rates.append(per_round / (time.perf_counter() - started))
        started = time.perf_counter()
        for i in range(per_round):
            detector.detect([frames[i % len(frames)]])
        backend_rates.append(per_round / (time.perf_counter() - started))
    detector.close()
    # Medians of alternating rounds: a burst of load from elsewhere hits one round, not the
    # result. The ratio pairs each backend round with the bare round just before it, so load
    # that drifts over the run (a CI machine winding down other work) cancels out.
    ratios = [b / a for a, b in zip(bare_rates, backend_rates, strict=True) if a > 0]
    return Overhead(
        bare_fps=statistics.median(bare_rates),
        backend_fps=statistics.median(backend_rates),
        ratio=statistics.median(ratios) if ratios else 0.0,
    )


def _bare_session(model: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
