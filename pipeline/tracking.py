"""Track identities across sampled frames with norfair, keyed by category.

At one detection per second a moving car jumps far between samples; box IoU matching then
gives it a new identity each sample, which is what the rules want: only objects that stay
put keep an identity long enough to build a dwell time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from norfair import Detection as NorfairDetection
from norfair import Tracker as NorfairTracker

from detector.types import Detections
from pipeline.config import Category
from pipeline.geometry import Box


@dataclass(frozen=True, slots=True)
class Track:
    """A detection seen this frame, with the identity the tracker gave it."""

    id: int
    box: Box
    category: Category
    class_name: str
    confidence: float
    born_t: float  # stream time the identity was first seen


class ObjectTracker:
    """`update(detections, t) -> list[Track]` for the detections matched in this frame.

    >>> tracker = ObjectTracker({"car": Category.vehicle}, detect_fps=1.0)
    >>> tracks = tracker.update(Detections.empty(("car",)), t=0.0)
    """

    def __init__(
        self,
        class_map: dict[str, Category],
        detect_fps: float,
        iou_threshold: float = 0.4,
        memory_s: float = 10.0,
    ) -> None:
        if not 0 < iou_threshold < 1:
            raise ValueError(f"iou_threshold must be between 0 and 1, got {iou_threshold}")
        self.class_map = class_map
        # Norfair counts frames, the config counts seconds.
        hit_max = max(2, math.ceil(memory_s * detect_fps))
        self._tracker = NorfairTracker(
            distance_function="iou",
            distance_threshold=1.0 - iou_threshold,
            hit_counter_max=hit_max,
            initialization_delay=0,
        )
        self._born: dict[int, float] = {}

    def update(self, detections: Detections, t: float) -> list[Track]:
        inputs = self._to_norfair(detections)
        alive = self._tracker.update(detections=inputs)
        matched_ids = {id(d) for d in inputs}
        tracks = []
        for obj in alive:
            det = obj.last_detection
            if id(det) not in matched_ids or obj.id is None:
                continue
            born = self._born.setdefault(obj.id, t)
            points = np.asarray(det.points, dtype=np.float64)
            x1, y1 = points[0]
            x2, y2 = points[1]
            tracks.append(
                Track(
                    id=int(obj.id),
                    box=(float(x1), float(y1), float(x2), float(y2)),
                    category=Category(str(det.label)),
                    class_name=str(det.data["class_name"]),
                    confidence=float(det.data["confidence"]),
                    born_t=born,
                )
            )
        alive_ids = {obj.id for obj in alive}
        self._born = {k: v for k, v in self._born.items() if k in alive_ids}
        return tracks

    def _to_norfair(self, detections: Detections) -> list[NorfairDetection]:
        inputs = []
        for box, conf, name in zip(
            detections.xyxy, detections.confidence, detections.names, strict=True
        ):
            category = self.class_map.get(name)
            if category is None or box[2] <= box[0] or box[3] <= box[1]:
                continue
            points = np.array([[box[0], box[1]], [box[2], box[3]]], dtype=np.float64)
            inputs.append(
                NorfairDetection(
                    points=points,
                    label=category.value,
                    data={"class_name": name, "confidence": float(conf)},
                )
            )
        return inputs
