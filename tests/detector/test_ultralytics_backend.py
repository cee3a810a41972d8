"""Ultralytics backend: the missing-extra error, and result conversion with a stand-in."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detector import DetectorConfig, DetectorError, Frame, create_detector


def test_missing_ultralytics_asks_for_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # makes `import ultralytics` fail
    with pytest.raises(DetectorError, match=r"pip install 'streetwatch\[train\]'"):
        create_detector(DetectorConfig(type="ultralytics", model=Path("yolo11n.pt")))


class _FakeYOLO:
    """Stands in for `ultralytics.YOLO`, answering with plain arrays in its result shape."""

    def __init__(self, weights: str) -> None:
        self.names = {0: "person", 1: "car"}
        self.weights = weights
        self.calls: list[dict[str, Any]] = []

    def predict(self, images: list[np.ndarray], **kwargs: Any) -> list[Any]:
        self.calls.append({"count": len(images), **kwargs})
        boxes = types.SimpleNamespace(
            xyxy=np.array([[1.0, 2.0, 3.0, 4.0]]), conf=np.array([0.8]), cls=np.array([1.0])
        )
        return [types.SimpleNamespace(boxes=boxes) for _ in images]


def test_results_become_detections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", types.SimpleNamespace(YOLO=_FakeYOLO))
    config = DetectorConfig(type="ultralytics", model=Path("w.pt"), batch=2, confidence=0.4)
    detector = create_detector(config)
    frames = [Frame(np.zeros((8, 8, 3), np.uint8), t=i, index=i) for i in range(3)]
    results = detector.detect(frames)
    assert [d.names for d in results] == [["car"]] * 3
    assert detector.class_names == ("person", "car")
    calls = detector._model.calls  # type: ignore[attr-defined]
    assert [c["count"] for c in calls] == [2, 1]
    assert calls[0]["conf"] == 0.4 and calls[0]["verbose"] is False
