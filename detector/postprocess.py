"""Decoding raw YOLO outputs into boxes, and class-aware non-maximum suppression.

Two export layouts are understood:

* ``yolov8``: Ultralytics YOLOv8 / YOLO11, output (B, 4+nc, N); rows are cx, cy, w, h in
  network pixels followed by per-class scores that are already sigmoid'ed, no objectness.
* ``yolov5``: YOLOv5, output (B, N, 5+nc); columns are cx, cy, w, h, objectness, class
  probabilities; a box's class score is objectness * class probability.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from detector.base import DetectorError
from detector.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

Layout = Literal["yolov8", "yolov5"]
LAYOUTS: tuple[Layout, ...] = ("yolov8", "yolov5")
_LAYOUT_HELP = "supported: YOLOv8/YOLO11 (B, 4+nc, N) or YOLOv5 (B, N, 5+nc)"
MAX_CANDIDATES = 30000  # boxes entering NMS; bounds its cost on a badly thresholded model


class RawDetections(NamedTuple):
    """Kept boxes of one image, best first: (N, 4) xyxy, (N,) confidence, (N,) class id."""

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray


def _empty() -> RawDetections:
    return RawDetections(
        np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64)
    )


def _fits(layout: Layout, dim1: int, dim2: int, num_classes: int) -> bool:
    if layout == "yolov8":
        return dim1 == 4 + num_classes
    return dim2 == 5 + num_classes


def _shape_guess(dim1: int, dim2: int) -> list[Layout]:
    # Anchors (N) far outnumber channels (4+nc or 5+nc) in any real export, so the smaller
    # of the two dims is the channel one.
    found: list[Layout] = []
    if 5 <= dim1 < dim2:
        found.append("yolov8")
    if 6 <= dim2 < dim1:
        found.append("yolov5")
    return found


def _int_dim(dim: object) -> int | None:
    # ONNX Runtime reports symbolic dims as strings or None; numpy shapes give ints.
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        return None
    return int(dim)


def detect_layout(output_shape: Sequence[object], num_classes: int | None = None) -> Layout:
    """Recognise the output layout from its shape, using `num_classes` to break ties.

    Raises `DetectorError` naming the shape when it fits neither layout or both.

    >>> detect_layout((1, 84, 8400)), detect_layout((1, 25200, 85))
    ('yolov8', 'yolov5')
    """
    shape = tuple(output_shape)
    dims = [_int_dim(d) for d in shape[1:]] if len(shape) == 3 else []
    if len(dims) != 2 or dims[0] is None or dims[1] is None:
        raise DetectorError(f"unsupported detector output shape {shape}; {_LAYOUT_HELP}")
    dim1, dim2 = dims[0], dims[1]
    if num_classes is not None:
        found = [lay for lay in LAYOUTS if _fits(lay, dim1, dim2, num_classes)]
        what = f"with {num_classes} classes"
    else:
        found = _shape_guess(dim1, dim2)
        what = "from its shape alone"
    if len(found) == 1:
        return found[0]
    problem = "ambiguous" if found else "not recognised"
    raise DetectorError(f"detector output shape {shape} is {problem} {what}; {_LAYOUT_HELP}")


def num_classes_of(output_shape: Sequence[int], layout: Layout) -> int:
    """Class count implied by an output shape in the given layout."""
    return int(output_shape[1]) - 4 if layout == "yolov8" else int(output_shape[2]) - 5


def _cxcywh_to_xyxy(boxes: FloatArray) -> FloatArray:
    half = boxes[:, 2:4] * np.float32(0.5)
    return np.concatenate((boxes[:, :2] - half, boxes[:, :2] + half), axis=1).astype(
        np.float32, copy=False
    )


def nms(
    xyxy: FloatArray,
    confidence: FloatArray,
    class_id: IntArray,
    iou_thres: float,
    max_detections: int,
) -> IntArray:
    """Indices of the boxes kept by class-aware NMS, best first, at most `max_detections`.

    Boxes of different classes are shifted apart by a per-class offset wider than the span
    of all coordinates so that one class-agnostic NMS pass never lets them suppress each
    other.
    """
    if len(confidence) == 0:
        return np.zeros((0,), np.int64)
    boxes = xyxy.astype(np.float64)
    # The span, not the largest coordinate: boxes reaching past the top-left are negative.
    span = float(boxes.max() - boxes.min()) + 1.0
    offset = class_id.astype(np.float64) * span
    xywh = np.empty_like(boxes)
    xywh[:, 0] = boxes[:, 0] + offset
    xywh[:, 1] = boxes[:, 1] + offset
    xywh[:, 2] = boxes[:, 2] - boxes[:, 0]
    xywh[:, 3] = boxes[:, 3] - boxes[:, 1]
    scores = np.ascontiguousarray(confidence, np.float32)
    # Callers threshold first; OpenCV insists on a threshold >= 0 and keeps scores above it,
    # so only zero-score boxes (never useful) are dropped here.
    # The stubs ask for sequences, but OpenCV takes (N, 4) / (N,) arrays without a copy.
    kept = cv2.dnn.NMSBoxes(xywh, scores, 0.0, float(iou_thres))  # type: ignore[arg-type]
    return np.asarray(kept, np.int64).reshape(-1)[:max_detections]


def _select(
    boxes: FloatArray,
    conf: FloatArray,
    class_id: IntArray,
    iou_thres: float,
    max_detections: int,
) -> RawDetections:
    if len(conf) > MAX_CANDIDATES:
        top = np.argpartition(-conf, MAX_CANDIDATES)[:MAX_CANDIDATES]
        boxes, conf, class_id = boxes[top], conf[top], class_id[top]
    xyxy = _cxcywh_to_xyxy(boxes)
    keep = nms(xyxy, conf, class_id, iou_thres, max_detections)
    return RawDetections(xyxy[keep], conf[keep], class_id[keep])


def _check_output(output: npt.NDArray[np.floating], layout: Layout) -> None:
    channels, minimum = (1, 5) if layout == "yolov8" else (2, 6)
    if output.ndim != 3 or output.shape[channels] < minimum:
        raise DetectorError(f"output shape {output.shape} is not {layout}; {_LAYOUT_HELP}")


def decode_yolov8(
    output: npt.NDArray[np.floating],
    conf_thres: float,
    iou_thres: float = 0.45,
    max_detections: int = 300,
) -> list[RawDetections]:
    """Boxes per image from a (B, 4+nc, N) output, in network pixels, after NMS."""
    _check_output(output, "yolov8")
    results = []
    for pred in output:
        scores = pred[4:]
        best = scores.max(axis=0)
        mask = best >= conf_thres
        if not mask.any():
            results.append(_empty())
            continue
        class_id = scores[:, mask].argmax(axis=0).astype(np.int64)
        boxes = pred[:4, mask].T.astype(np.float32)
        conf = best[mask].astype(np.float32)
        results.append(_select(boxes, conf, class_id, iou_thres, max_detections))
    return results


def decode_yolov5(
    output: npt.NDArray[np.floating],
    conf_thres: float,
    iou_thres: float = 0.45,
    max_detections: int = 300,
) -> list[RawDetections]:
    """Boxes per image from a (B, N, 5+nc) output, in network pixels, after NMS."""
    _check_output(output, "yolov5")
    results = []
    for pred in output:
        # Class probabilities are <= 1, so objectness alone already rules most boxes out.
        pred = pred[pred[:, 4] >= conf_thres]
        scores = pred[:, 5:] * pred[:, 4:5]
        class_id = scores.argmax(axis=1).astype(np.int64) if len(pred) else np.zeros(0, np.int64)
        conf = scores[np.arange(len(pred)), class_id].astype(np.float32)
        mask = conf >= conf_thres
        if not mask.any():
            results.append(_empty())
            continue
        boxes = pred[mask, :4].astype(np.float32)
        results.append(_select(boxes, conf[mask], class_id[mask], iou_thres, max_detections))
    return results


def decode(
    output: npt.NDArray[np.floating],
    layout: Layout,
    conf_thres: float,
    iou_thres: float = 0.45,
    max_detections: int = 300,
) -> list[RawDetections]:
    """Dispatch to `decode_yolov8` or `decode_yolov5` by layout name."""
    decoder = decode_yolov8 if layout == "yolov8" else decode_yolov5
    return decoder(output, conf_thres, iou_thres, max_detections)
