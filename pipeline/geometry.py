"""Small vectorised geometry helpers shared by rules and incidents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Box = tuple[float, float, float, float]
Points = npt.NDArray[np.float64]
Point = tuple[float, float]


def as_box(values: Sequence[float]) -> Box:
    """Four numbers (from JSON, YAML, numpy) as a box tuple; raises ValueError otherwise."""
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def iou(a: Box, b: Box) -> float:
    inter = _intersection(a, b)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def overlap_of_smaller(a: Box, b: Box) -> float:
    """Intersection over the smaller box: 1.0 when one box lies inside the other."""
    smaller = min(box_area(a), box_area(b))
    return _intersection(a, b) / smaller if smaller > 0 else 0.0


def union_box(boxes: Sequence[Box]) -> Box:
    arr = np.asarray(boxes, dtype=np.float64)
    return (
        float(arr[:, 0].min()),
        float(arr[:, 1].min()),
        float(arr[:, 2].max()),
        float(arr[:, 3].max()),
    )


def anchor_point(box: Box, anchor: str) -> tuple[float, float]:
    x1, y1, x2, y2 = box
    if anchor == "center":
        return ((x1 + x2) / 2, (y1 + y2) / 2)
    return ((x1 + x2) / 2, y2)


def stillness_offset(reference: Box, current: Box, height: float | None = None) -> float:
    """How far an object moved, in reference box heights (or in units of `height`), judged by
    the steadiest of its bottom-centre and four corners.

    A box that grows because an occluder left keeps some corners in place, and NMS jitter
    moves corners a little; a moving object moves all of them. Taking the smallest
    displacement makes stationarity robust to both while still catching real movement.
    """
    ref = _key_points(reference)
    cur = _key_points(current)
    unit = max(reference[3] - reference[1] if height is None else height, 1.0)
    return float(np.min(np.hypot(*(cur - ref).T)) / unit)


def _key_points(box: Box) -> Points:
    x1, y1, x2, y2 = box
    return np.array([[(x1 + x2) / 2, y2], [x1, y1], [x2, y1], [x1, y2], [x2, y2]], dtype=np.float64)


def points_in_polygon(points: Points, polygon: Points) -> npt.NDArray[np.bool_]:
    """Even-odd rule for many points against one polygon (N x 2 against M x 2)."""
    if len(points) == 0:
        return np.zeros((0,), dtype=bool)
    x = points[:, 0][:, None]
    y = points[:, 1][:, None]
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    inside = crosses & (x < x_at)
    return np.asarray(np.count_nonzero(inside, axis=1) % 2 == 1)


def polygon_area(polygon: Sequence[Point]) -> float:
    """Unsigned area by the shoelace formula (0 when the points lie on one line)."""
    pts = np.asarray(polygon, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def crossing_edges(polygon: Sequence[Point]) -> tuple[int, int] | None:
    """The first two non-neighbouring edges that cross, or None for a simple polygon. Edge i
    runs from point i to point i + 1 (the last one back to point 0).

    >>> crossing_edges([(0, 0), (1, 1), (1, 0), (0, 1)])  # a bow tie
    (0, 2)
    """
    n = len(polygon)
    edges = [(polygon[i], polygon[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbours through the closing point
            if _segments_cross(*edges[i], *edges[j]):
                return i, j
    return None


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    # Strictly: edges that only touch do not count, so a polygon whose last point repeats
    # the first still passes.
    return _turn(a, b, c) * _turn(a, b, d) < 0 and _turn(c, d, a) * _turn(c, d, b) < 0


def _turn(o: Point, p: Point, q: Point) -> float:
    return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])


def scale_polygon(polygon: Sequence[tuple[float, float]], width: int, height: int) -> Points:
    return np.asarray(polygon, dtype=np.float64) * np.array([width, height], dtype=np.float64)


def _intersection(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def box_area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
