"""Ultralytics backend: runs .pt (or any Ultralytics-loadable) weights through `YOLO`.

Needs the optional `ultralytics` package; it is imported only when this backend is built,
so the rest of the project never pays for torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from detector.base import Detector, DetectorError, register_backend
from detector.config import DetectorConfig
from detector.types import Detections, Frame

logger = logging.getLogger(__name__)

INSTALL_HINT = "the ultralytics backend needs the optional extra: pip install 'streetwatch[train]'"


def _yolo_class() -> Any:
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise DetectorError(INSTALL_HINT) from exc
    return YOLO


def _names_tuple(names: Any) -> tuple[str, ...]:
    if isinstance(names, dict):
        return tuple(str(names[i]) for i in sorted(names))
    return tuple(str(name) for name in names)


def _to_numpy(tensor: Any, dtype: type[np.generic]) -> Any:
    # Results hold torch tensors (possibly on a GPU); plain arrays pass through unchanged.
    if hasattr(tensor, "cpu"):
        tensor = tensor.cpu().numpy()
    return np.asarray(tensor, dtype)


@register_backend("ultralytics")
class UltralyticsDetector(Detector):
    """Runs `ultralytics.YOLO(config.model).predict` on batches of frames."""

    def __init__(self, config: DetectorConfig) -> None:
        yolo = _yolo_class()
        if config.model is None:
            raise DetectorError("model file not found: detector.model is not set")
        self._config = config
        try:
            self._model = yolo(str(config.model))
        except Exception as exc:  # Ultralytics raises many types for unusable weights
            raise DetectorError(f"cannot load Ultralytics model {config.model}: {exc}") from exc
        self._names = _names_tuple(self._model.names)
        logger.info("loaded %s with %d classes", config.model, len(self._names))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._names

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        results: list[Detections] = []
        step = self._config.batch
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            predictions = self._model.predict(
                [frame.image for frame in chunk],
                imgsz=self._config.imgsz,
                conf=self._config.confidence,
                iou=self._config.iou,
                max_det=self._config.max_detections,
                verbose=False,
            )
            results.extend(self._to_detections(p) for p in predictions)
        return results

    def _to_detections(self, prediction: Any) -> Detections:
        boxes = prediction.boxes
        if boxes is None:
            return Detections.empty(self._names)
        return Detections(
            xyxy=_to_numpy(boxes.xyxy, np.float32).reshape(-1, 4),
            confidence=_to_numpy(boxes.conf, np.float32).reshape(-1),
            class_id=_to_numpy(boxes.cls, np.int64).reshape(-1),
            class_names=self._names,
        )
