"""Replay backend: detections recorded earlier (JSON lines) served as if a model ran.

One JSON object per processed frame::

    {"frame": 12, "t": 0.96, "width": 768, "height": 432,
     "detections": [{"xyxy": [102.5, 40.0, 190.1, 118.7], "confidence": 0.87,
                     "class_name": "car"}]}

`width` and `height` are optional; when given and different from a frame's size the boxes
are scaled to that frame.
"""

from __future__ import annotations

import json
import logging
import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.base import Detector, DetectorError, register_backend
from detector.config import DetectorConfig
from detector.types import Detections, FloatArray, Frame, IntArray

logger = logging.getLogger(__name__)

_TIME_SLACK = 1e-9  # float noise in recorded times must not flip a frame at exactly half


@dataclass(frozen=True, slots=True)
class _Line:
    """One parsed line, class names not yet turned into ids."""

    t: float
    size: tuple[float, float] | None
    xyxy: FloatArray
    confidence: FloatArray
    names: list[str]


@dataclass(frozen=True, slots=True)
class _Record:
    t: float
    size: tuple[float, float] | None
    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray


def _number(value: Any, what: str) -> float:
    problem = ValueError(f"{what} must be a finite number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem
    try:
        number = float(value)  # JSON ints are unbounded; a huge one overflows here
    except OverflowError:
        raise problem from None
    if not math.isfinite(number):
        raise problem
    return number


def _size(obj: dict[str, Any]) -> tuple[float, float] | None:
    if "width" not in obj and "height" not in obj:
        return None
    width, height = _number(obj.get("width"), "width"), _number(obj.get("height"), "height")
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width} x {height}")
    return width, height


def _detection(item: Any, where: str) -> tuple[list[float], float, str]:
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    xyxy = item.get("xyxy")
    if not isinstance(xyxy, list) or len(xyxy) != 4:
        raise ValueError(f"{where}.xyxy must be a list of 4 numbers, got {xyxy!r}")
    box = [_number(v, f"{where}.xyxy") for v in xyxy]
    confidence = _number(item.get("confidence"), f"{where}.confidence")
    name = item.get("class_name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.class_name must be a non-empty string, got {name!r}")
    return box, confidence, name


def _parse_line(text: str) -> _Line:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    items = obj.get("detections", [])
    if not isinstance(items, list):
        raise ValueError("detections must be a list")
    parsed = [_detection(item, f"detections[{i}]") for i, item in enumerate(items)]
    return _Line(
        t=_number(obj.get("t"), "t"),
        size=_size(obj),
        xyxy=np.array([p[0] for p in parsed], np.float32).reshape(-1, 4),
        confidence=np.array([p[1] for p in parsed], np.float32),
        names=[p[2] for p in parsed],
    )


def _read_recording(path: Path) -> list[_Line]:
    # The first problem is reported with its file and line, so a bad recording is fixable.
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DetectorError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DetectorError(f"cannot read recorded detections {path}: {exc}") from exc
    lines: list[_Line] = []
    # split("\n") rather than splitlines(): JSON strings may hold U+2028 and friends.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            lines.append(_parse_line(line))
        except ValueError as exc:
            raise DetectorError(f"{path} line {number}: {exc}") from None
    return lines


def _class_names(lines: list[_Line], configured: list[str] | None) -> tuple[str, ...]:
    first = list(dict.fromkeys(configured or []))
    found = {name for line in lines for name in line.names}
    return (*first, *sorted(found - set(first)))


def _half_interval(times: list[float]) -> float:
    steps = np.diff(np.unique(np.asarray(times, np.float64)))
    # With a single record there is no spacing: only a frame at that very time matches.
    return float(np.median(steps)) / 2.0 if len(steps) else 0.0


@register_backend("replay")
class ReplayDetector(Detector):
    """Serves the recorded detections nearest in time to each frame.

    A frame gets the record whose `t` is nearest its own, provided it lies within half the
    recording interval (the median spacing of recorded times), else no detections.
    """

    def __init__(self, config: DetectorConfig) -> None:
        path = config.model
        if path is None:
            raise DetectorError("model file not found: detector.model is not set")
        if not path.is_file():
            raise DetectorError(f"model file not found: {path}")
        lines = sorted(_read_recording(path), key=lambda line: line.t)
        self._names = _class_names(lines, config.class_names)
        ids = {name: i for i, name in enumerate(self._names)}
        self._records = [_to_record(line, ids, config.confidence) for line in lines]
        self._times = [record.t for record in self._records]
        self._half = _half_interval(self._times)
        if not self._records:
            logger.warning("%s holds no records; every frame will get no detections", path)
        logger.info(
            "replaying %s: %d records, %d classes, matching within %.3f s",
            path,
            len(self._records),
            len(self._names),
            self._half,
        )

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def reads_pixels(self) -> bool:
        return False  # boxes come from the recording, by frame time

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [self._detect_one(frame) for frame in frames]

    def _nearest(self, t: float) -> _Record | None:
        i = bisect_left(self._times, t)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(self._times)]
        if not candidates:
            return None
        # min() keeps the earlier record on a tie, so a frame midway gets the past one.
        best = min(candidates, key=lambda j: abs(self._times[j] - t))
        if abs(self._times[best] - t) > self._half + _TIME_SLACK:
            return None
        return self._records[best]

    def _detect_one(self, frame: Frame) -> Detections:
        record = self._nearest(frame.t)
        if record is None:
            return Detections.empty(self._names)
        xyxy = record.xyxy.copy()
        if record.size is not None and record.size != (frame.width, frame.height):
            sx, sy = frame.width / record.size[0], frame.height / record.size[1]
            xyxy *= np.array([sx, sy, sx, sy], np.float32)
        return Detections(
            xyxy=xyxy,
            confidence=record.confidence.copy(),
            class_id=record.class_id.copy(),
            class_names=self._names,
        )


def _to_record(line: _Line, ids: dict[str, int], min_confidence: float) -> _Record:
    keep = line.confidence >= min_confidence
    class_id = np.array([ids[name] for name in line.names], np.int64).reshape(-1)
    return _Record(
        t=line.t,
        size=line.size,
        xyxy=line.xyxy[keep],
        confidence=line.confidence[keep],
        class_id=class_id[keep],
    )
