"""The ONNX Runtime backend, run on tiny constant-output models built by `onnx_models`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector import DetectorConfig, DetectorError, Frame, create_detector
from detector.coco import COCO_NAMES
from detector.onnx_backend import OnnxDetector, parse_class_names
from tests.detector.onnx_models import constant_model, save_model, yolov5_output, yolov8_output

# Network-space candidates (64 x 64 input): after NMS, A (class 0, 0.9) and E (class 1,
# 0.5) remain; B is suppressed by A, D is under the threshold.
BOXES = [[32, 32, 20, 10], [33, 32, 20, 10], [40, 40, 8, 8], [40, 40, 8, 8]]
SCORES = [[0.9, 0.1], [0.8, 0.0], [0.1, 0.2], [0.0, 0.5]]
NETWORK_XYXY = [[22, 27, 42, 37], [36, 36, 44, 44]]
# The same two boxes in frame pixels: a 128x64 frame is scaled by 0.5 and padded 16 rows
# on top; a 64x128 one is padded 16 columns on the left.
LANDSCAPE_XYXY = [[44, 22, 84, 42], [72, 40, 88, 56]]
PORTRAIT_XYXY = [[12, 54, 52, 74], [40, 72, 56, 88]]
NAMES = "{0: 'person', 1: 'car'}"


def _frame(width: int, height: int, t: float = 0.0) -> Frame:
    return Frame(image=np.zeros((height, width, 3), np.uint8), t=t, index=0)


def _v8(
    tmp_path: Path, batch: int | str = 1, names: str | None = NAMES, symbolic_output: bool = False
) -> Path:
    output = yolov8_output(BOXES, SCORES)
    model = constant_model(output, batch=batch, names=names, symbolic_output=symbolic_output)
    return save_model(model, tmp_path / "v8.onnx")


def _config(path: Path, **overrides: object) -> DetectorConfig:
    return DetectorConfig(type="onnx", model=path, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(128, 64, LANDSCAPE_XYXY), (64, 128, PORTRAIT_XYXY), (64, 64, NETWORK_XYXY)],
    ids=["landscape", "portrait", "square"],
)
@pytest.mark.parametrize("layout", ["yolov8", "yolov5"])
def test_boxes_come_back_in_frame_pixels(
    tmp_path: Path, layout: str, width: int, height: int, expected: list[list[float]]
) -> None:
    if layout == "yolov8":
        output = yolov8_output(BOXES, SCORES)
    else:
        output = yolov5_output(BOXES, [1.0] * len(BOXES), SCORES)
    path = save_model(constant_model(output, names=NAMES), tmp_path / "m.onnx")
    detector = create_detector(_config(path))
    assert isinstance(detector, OnnxDetector) and detector.layout == layout
    [dets] = detector.detect([_frame(width, height)])
    np.testing.assert_allclose(dets.xyxy, expected, atol=1e-4)
    np.testing.assert_allclose(dets.confidence, [0.9, 0.5], rtol=1e-6)
    assert dets.names == ["person", "car"]
    assert dets.class_names == ("person", "car")


@pytest.mark.parametrize(
    ("model_batch", "config_batch"),
    [(1, 1), (1, 4), (2, 1), ("batch", 2), ("batch", 8)],
    ids=["fixed-1", "fixed-1-config-4", "fixed-2-padded", "dynamic-2", "dynamic-8"],
)
def test_three_frames_give_three_detections(
    tmp_path: Path, model_batch: int | str, config_batch: int
) -> None:
    detector = OnnxDetector(_config(_v8(tmp_path, model_batch), batch=config_batch))
    frames = [_frame(128, 64), _frame(64, 128), _frame(128, 64)]
    results = detector.detect(frames)
    expected_boxes = [LANDSCAPE_XYXY, PORTRAIT_XYXY, LANDSCAPE_XYXY]
    for dets, expected in zip(results, expected_boxes, strict=True):
        np.testing.assert_allclose(dets.xyxy, expected, atol=1e-4)


def test_no_frames_no_results(tmp_path: Path) -> None:
    assert OnnxDetector(_config(_v8(tmp_path))).detect([]) == []


def test_symbolic_output_dims_are_read_from_a_first_run(tmp_path: Path) -> None:
    detector = OnnxDetector(_config(_v8(tmp_path, "batch", symbolic_output=True)))
    assert detector.layout == "yolov8"
    [dets] = detector.detect([_frame(128, 64)])
    np.testing.assert_allclose(dets.xyxy, LANDSCAPE_XYXY, atol=1e-4)


def test_config_thresholds_apply(tmp_path: Path) -> None:
    detector = OnnxDetector(_config(_v8(tmp_path), confidence=0.6))
    [dets] = detector.detect([_frame(64, 64)])
    assert dets.confidence.tolist() == pytest.approx([0.9])


def test_input_size_comes_from_a_fixed_model_input(tmp_path: Path) -> None:
    assert OnnxDetector(_config(_v8(tmp_path), imgsz=320)).input_size == (64, 64)


@pytest.mark.parametrize(
    ("metadata", "configured", "expected"),
    [
        (NAMES, None, ("person", "car")),
        ('["bus", "truck"]', None, ("bus", "truck")),
        (NAMES, ["a", "b"], ("person", "car")),  # the model's own names win
        (None, ["a", "b"], ("a", "b")),
        ("not a literal {", ["a", "b"], ("a", "b")),  # unreadable metadata is skipped
    ],
)
def test_class_names_source(
    tmp_path: Path, metadata: str | None, configured: list[str] | None, expected: tuple[str, ...]
) -> None:
    detector = OnnxDetector(_config(_v8(tmp_path, names=metadata), class_names=configured))
    assert detector.class_names == expected


def test_eighty_classes_without_names_are_coco(tmp_path: Path) -> None:
    scores = np.zeros((1, 80))
    scores[0, 2] = 0.9
    model = constant_model(yolov8_output([[32, 32, 20, 10]], scores.tolist(), anchors=100))
    detector = OnnxDetector(_config(save_model(model, tmp_path / "coco.onnx")))
    assert detector.class_names == COCO_NAMES
    assert detector.detect([_frame(64, 64)])[0].names == ["car"]


@pytest.mark.parametrize(
    ("metadata", "configured", "message"),
    [
        (None, None, "set detector.class_names"),
        (None, ["a", "b", "c"], "detector.class_names lists 3 names but the model outputs 2"),
        ("['only-one']", None, "'names' metadata lists 1 names but the model outputs 2"),
    ],
)
def test_class_names_errors(
    tmp_path: Path, metadata: str | None, configured: list[str] | None, message: str
) -> None:
    with pytest.raises(DetectorError, match=message):
        OnnxDetector(_config(_v8(tmp_path, names=metadata), class_names=configured))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{0: 'person', 1: 'car'}", ("person", "car")),
        ("{1: 'car', 0: 'person'}", ("person", "car")),
        ('{"0": "person", "1": "car"}', ("person", "car")),
        ('["person", "car"]', ("person", "car")),
    ],
)
def test_parse_class_names(text: str, expected: tuple[str, ...]) -> None:
    assert parse_class_names(text) == expected


@pytest.mark.parametrize(
    "text", ["{0: 'a', 2: 'b'}", "{None: 'a'}", "{[1]: 'a'}", "[1, 2]", "42", "{oops"]
)
def test_parse_class_names_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_class_names(text)


def test_corrupted_model_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(DetectorError, match=f"cannot load ONNX model {path}"):
        OnnxDetector(_config(path))


@pytest.mark.parametrize("model", [Path("nowhere/missing.onnx"), None])
def test_missing_model_file(model: Path | None) -> None:
    with pytest.raises(DetectorError, match="model file not found"):
        create_detector(DetectorConfig(type="onnx", model=model))


def test_unsupported_output_layout_names_the_shape(tmp_path: Path) -> None:
    path = save_model(constant_model(np.zeros((1, 3), np.float32)), tmp_path / "flat.onnx")
    with pytest.raises(DetectorError, match=r"\(1, 3\).*\(B, 4\+nc, N\)"):
        OnnxDetector(_config(path, class_names=["a"]))


def test_non_detection_model_is_refused(tmp_path: Path) -> None:
    output = yolov8_output(BOXES, SCORES)
    path = save_model(constant_model(output, names=NAMES, task="segment"), tmp_path / "s.onnx")
    with pytest.raises(DetectorError, match="'segment' model; only detection"):
        OnnxDetector(_config(path))


def test_closed_detector_refuses_to_run(tmp_path: Path) -> None:
    detector = OnnxDetector(_config(_v8(tmp_path)))
    detector.close()
    with pytest.raises(DetectorError, match="closed"):
        detector.detect([_frame(64, 64)])


def _dynamic_size_model(tmp_path: Path) -> Path:
    output = yolov8_output(BOXES, SCORES)
    model = constant_model(output, imgsz=("height", "width"), names=NAMES)  # type: ignore[arg-type]
    return save_model(model, tmp_path / "dynamic.onnx")


def test_dynamic_size_model_gets_a_rect_input_without_the_short_sides_padding(
    tmp_path: Path,
) -> None:
    detector = create_detector(_config(_dynamic_size_model(tmp_path), imgsz=64))
    assert isinstance(detector, OnnxDetector)
    assert detector.network_size([(64, 128, 3)]) == (32, 64)  # not 64 x 64
    assert detector.network_size([(16, 128, 3)]) == (32, 64)  # 8 rows round up to 32
    assert detector.network_size([(100, 64, 3)]) == (64, 64)  # 41 rows round up to 64
    wide = create_detector(_config(_dynamic_size_model(tmp_path), imgsz=128))
    assert isinstance(wide, OnnxDetector)
    assert wide.network_size([(128, 256, 3)]) == (64, 128)
    [dets] = wide.detect([_frame(256, 128)])
    # Scale 0.5 as in a square letterbox, but without its 32 padding rows above the picture.
    np.testing.assert_allclose(dets.xyxy, [[44, 54, 84, 74], [72, 72, 88, 88]], atol=1e-4)


def test_rect_off_or_a_fixed_size_model_keeps_the_square_input(tmp_path: Path) -> None:
    square = create_detector(_config(_dynamic_size_model(tmp_path), imgsz=64, rect=False))
    fixed = create_detector(_config(_v8(tmp_path), imgsz=64))
    for detector in (square, fixed):
        assert isinstance(detector, OnnxDetector)
        assert detector.network_size([(64, 128, 3)]) == (64, 64)
        [dets] = detector.detect([_frame(128, 64)])
        np.testing.assert_allclose(dets.xyxy, LANDSCAPE_XYXY, atol=1e-4)
