"""The detector live cameras share: sessions and threads sized to the machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector.batching import BatchingDetector
from detector.config import DetectorConfig
from detector.onnx_backend import OnnxDetector
from detector.shared import session_plan, shared_detector
from detector.types import Frame
from tests.detector.onnx_models import constant_model, save_model, yolov8_output


@pytest.mark.parametrize(
    ("settings", "cpus", "plan"),
    [
        ({}, 2, (2, 1)),  # default: one single-threaded session per core
        ({}, 1, (1, 1)),
        ({"sessions": 1}, 2, (1, 2)),  # one session gets every core as threads
        ({"sessions": 3}, 2, (3, 1)),  # never fewer than one thread
        ({"threads": 2}, 8, (4, 2)),
        ({"sessions": 2, "threads": 3}, 8, (2, 3)),  # both given: taken as they are
        ({"type": "ultralytics"}, 8, (1, 0)),  # one model; PyTorch spreads it over the cores
        ({}, 200, (64, 1)),  # at most 64 sessions
    ],
)
def test_session_plan(settings: dict[str, object], cpus: int, plan: tuple[int, int]) -> None:
    assert session_plan(DetectorConfig.model_validate(settings), cpus) == plan


def test_the_shared_detector_runs_the_planned_sessions(tmp_path: Path) -> None:
    output = yolov8_output([[8, 8, 24, 24]], [[0.9, 0.1]])
    model = save_model(
        constant_model(output, batch="batch", names="{0: 'car', 1: 'bus'}"), tmp_path / "m.onnx"
    )
    detector = shared_detector(DetectorConfig(model=model, imgsz=64, sessions=2))
    assert isinstance(detector, BatchingDetector)
    assert len(detector.inners) == 2
    assert all(isinstance(d, OnnxDetector) for d in detector.inners)
    frames = [Frame(np.zeros((64, 64, 3), np.uint8), 0.0, i) for i in range(3)]
    results = detector.detect(frames)
    assert [r.names for r in results] == [["car"]] * 3
    detector.close()


def test_recorded_detections_are_not_wrapped(tmp_path: Path) -> None:
    recorded = tmp_path / "dets.jsonl"
    recorded.write_text("")
    detector = shared_detector(DetectorConfig(type="replay", model=recorded))
    assert not isinstance(detector, BatchingDetector)
    detector.close()
