"""Layout recognition, decoding of both YOLO layouts, and class-aware NMS."""

from __future__ import annotations

import re

import numpy as np
import pytest

from detector.base import DetectorError
from detector.postprocess import (
    decode,
    decode_yolov5,
    decode_yolov8,
    detect_layout,
    nms,
    num_classes_of,
)
from tests.detector.onnx_models import yolov5_output, yolov8_output

# Five candidates in network pixels, two classes. Expected after conf 0.25 and NMS 0.45:
# A kept; B overlaps A with the same class and a lower score, suppressed; C has A's box
# but the other class, kept; D is under the threshold; E stands alone.
BOXES = [[32, 32, 20, 10], [33, 32, 20, 10], [32, 32, 20, 10], [10, 40, 8, 8], [10, 40, 8, 8]]
SCORES = [[0.9, 0.1], [0.8, 0.0], [0.0, 0.7], [0.1, 0.2], [0.0, 0.5]]
EXPECTED_XYXY = [[22, 27, 42, 37], [22, 27, 42, 37], [6, 36, 14, 44]]
EXPECTED_CONF = [0.9, 0.7, 0.5]
EXPECTED_CLASS = [0, 1, 1]


@pytest.mark.parametrize(
    ("shape", "num_classes", "expected"),
    [
        ((1, 84, 8400), None, "yolov8"),
        ((1, 25200, 85), None, "yolov5"),
        ((4, 6, 1000), None, "yolov8"),
        (("batch", 84, 8400), None, "yolov8"),
        ((1, 6, 100), 2, "yolov8"),
        ((1, 100, 7), 2, "yolov5"),
        ((1, 84, 84), 80, "yolov8"),  # square: only the class count tells
        ((1, 85, 85), 80, "yolov5"),
    ],
)
def test_detect_layout(shape: tuple[object, ...], num_classes: int | None, expected: str) -> None:
    assert detect_layout(shape, num_classes) == expected


@pytest.mark.parametrize(
    ("shape", "num_classes"),
    [
        ((1, 3), None),
        ((1, 84, 8400, 1), None),
        ((1, 3, 10), None),
        ((1, 84, 84), None),
        ((1, 84, 8400), 3),
        ((1, 6, 7), 2),  # fits both layouts
        ((1, "channels", 8400), None),
    ],
)
def test_detect_layout_rejects(shape: tuple[object, ...], num_classes: int | None) -> None:
    with pytest.raises(DetectorError) as info:
        detect_layout(shape, num_classes)
    assert str(shape) in str(info.value)
    assert "(B, 4+nc, N)" in str(info.value) and "(B, N, 5+nc)" in str(info.value)


@pytest.mark.parametrize(
    ("shape", "layout", "expected"),
    [((1, 84, 8400), "yolov8", 80), ((1, 25200, 85), "yolov5", 80), ((1, 6, 9), "yolov8", 2)],
)
def test_num_classes_of(shape: tuple[int, ...], layout: str, expected: int) -> None:
    assert num_classes_of(shape, layout) == expected  # type: ignore[arg-type]


def _assert_expected(found: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    xyxy, conf, class_id = found
    np.testing.assert_allclose(xyxy, EXPECTED_XYXY)
    np.testing.assert_allclose(conf, EXPECTED_CONF, rtol=1e-6)
    assert class_id.tolist() == EXPECTED_CLASS
    assert xyxy.dtype == conf.dtype == np.float32 and class_id.dtype == np.int64


def test_decode_yolov8() -> None:
    [found] = decode_yolov8(yolov8_output(BOXES, SCORES), conf_thres=0.25, iou_thres=0.45)
    _assert_expected(found)


def test_decode_yolov5_multiplies_objectness_by_class_probability() -> None:
    objectness = [0.9, 0.8, 0.7, 0.2, 1.0]
    probs = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 0.5]]
    [found] = decode_yolov5(yolov5_output(BOXES, objectness, probs), 0.25, 0.45)
    _assert_expected(found)


@pytest.mark.parametrize("layout", ["yolov8", "yolov5"])
def test_decode_keeps_images_of_a_batch_apart(layout: str) -> None:
    if layout == "yolov8":
        one = yolov8_output(BOXES, SCORES)
        empty = yolov8_output(BOXES, np.zeros((5, 2)).tolist())
        batch = np.concatenate([one, empty, one])
    else:
        one = yolov5_output(BOXES, [1.0] * 5, SCORES)
        empty = yolov5_output(BOXES, [0.0] * 5, SCORES)
        batch = np.concatenate([one, empty, one])
    results = decode(batch, layout, conf_thres=0.25)  # type: ignore[arg-type]
    assert [len(r.confidence) for r in results] == [3, 0, 3]
    assert results[1].xyxy.shape == (0, 4)


def test_max_detections_keeps_the_best() -> None:
    [found] = decode_yolov8(yolov8_output(BOXES, SCORES), 0.25, 0.45, max_detections=2)
    assert found.confidence.tolist() == pytest.approx([0.9, 0.7])


def test_confidence_threshold_is_inclusive() -> None:
    [found] = decode_yolov8(yolov8_output(BOXES, SCORES), conf_thres=0.7)
    assert found.confidence.tolist() == pytest.approx([0.9, 0.7])


@pytest.mark.parametrize(
    ("xyxy", "classes", "kept"),
    [
        ([[0, 0, 10, 10], [1, 1, 11, 11]], [0, 0], [0]),  # IoU 0.68: suppressed
        ([[0, 0, 10, 10], [1, 1, 11, 11]], [0, 1], [0, 1]),  # other class: kept
        ([[0, 0, 10, 10], [6, 0, 16, 10]], [0, 0], [0, 1]),  # IoU 0.25: kept
        ([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], [2, 2, 2], [0, 2]),
        # Negative coordinates must not shift one class onto another.
        ([[80, 80, 100, 100], [-21, -21, -1, -1], [-100, -100, -99, -99]], [0, 1, 1], [0, 1, 2]),
    ],
)
def test_nms(xyxy: list[list[float]], classes: list[int], kept: list[int]) -> None:
    count = len(classes)
    scores = np.linspace(0.9, 0.5, count).astype(np.float32)
    keep = nms(np.array(xyxy, np.float32), scores, np.array(classes, np.int64), 0.45, 300)
    assert keep.tolist() == kept


def test_nms_of_nothing() -> None:
    empty = np.zeros((0, 4), np.float32)
    assert nms(empty, np.zeros(0, np.float32), np.zeros(0, np.int64), 0.45, 10).shape == (0,)


@pytest.mark.parametrize(
    ("shape", "layout"), [((1, 3), "yolov8"), ((1, 4, 9), "yolov8"), ((1, 9, 5), "yolov5")]
)
def test_decode_rejects_wrong_shape(shape: tuple[int, ...], layout: str) -> None:
    with pytest.raises(DetectorError, match=re.escape(str(shape))):
        decode(np.zeros(shape, np.float32), layout, 0.25)  # type: ignore[arg-type]
