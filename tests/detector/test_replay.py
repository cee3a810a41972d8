"""Replay backend: recorded detections matched to frames by time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detector import DetectorConfig, DetectorError, Frame, create_detector
from detector.replay import ReplayDetector

# Records every 0.1 s, so a frame matches a record within 0.05 s of it.
RECORDS = [
    {"frame": 0, "t": 0.0, "width": 768, "height": 432, "detections": [
        {"xyxy": [100, 40, 200, 120], "confidence": 0.9, "class_name": "car"},
        {"xyxy": [300, 50, 340, 150], "confidence": 0.3, "class_name": "person"},
    ]},
    {"frame": 1, "t": 0.1, "width": 768, "height": 432, "detections": [
        {"xyxy": [110, 40, 210, 120], "confidence": 0.8, "class_name": "car"},
    ]},
    {"frame": 2, "t": 0.2, "width": 768, "height": 432, "detections": [
        {"xyxy": [0, 0, 76.8, 43.2], "confidence": 0.7, "class_name": "bus"},
    ]},
]  # fmt: skip


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "recorded.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _detector(tmp_path: Path, **overrides: object) -> ReplayDetector:
    path = _write(tmp_path, [json.dumps(record) for record in RECORDS])
    config = DetectorConfig(type="replay", model=path, **overrides)  # type: ignore[arg-type]
    detector = create_detector(config)
    assert isinstance(detector, ReplayDetector)
    return detector


def _frame(t: float, width: int = 768, height: int = 432) -> Frame:
    return Frame(image=np.zeros((height, width, 3), np.uint8), t=t, index=0)


@pytest.mark.parametrize(
    ("t", "expected_confidence"),
    [
        (0.0, [0.9, 0.3]),
        (0.04, [0.9, 0.3]),  # between records, nearer the first
        (0.06, [0.8]),  # between records, nearer the second
        (0.05, [0.9, 0.3]),  # exactly midway: the earlier record
        (0.25, [0.7]),  # half an interval after the last record still counts
        (0.26, []),  # further after the last record: nothing
        (5.0, []),
        (-0.2, []),
    ],
)
def test_frame_gets_the_nearest_record_within_half_an_interval(
    tmp_path: Path, t: float, expected_confidence: list[float]
) -> None:
    [dets] = _detector(tmp_path, confidence=0.0).detect([_frame(t)])
    assert dets.confidence.tolist() == pytest.approx(expected_confidence)


def test_boxes_scale_to_the_frame_size(tmp_path: Path) -> None:
    [dets] = _detector(tmp_path).detect([_frame(0.2, width=384, height=216)])
    np.testing.assert_allclose(dets.xyxy, [[0, 0, 38.4, 21.6]], rtol=1e-6)


def test_confidence_is_a_minimum(tmp_path: Path) -> None:
    [dets] = _detector(tmp_path, confidence=0.9).detect([_frame(0.0)])
    assert dets.names == ["car"]
    assert dets.xyxy.tolist() == [[100, 40, 200, 120]]


def test_class_names_configured_first_then_found_sorted(tmp_path: Path) -> None:
    detector = _detector(tmp_path, class_names=["truck", "car"])
    assert detector.class_names == ("truck", "car", "bus", "person")
    [dets] = detector.detect([_frame(0.0)])
    assert dets.class_id.tolist() == [1, 3]
    assert dets.class_names == detector.class_names


def test_several_frames_in_one_call(tmp_path: Path) -> None:
    results = _detector(tmp_path).detect([_frame(0.1), _frame(9.0), _frame(0.2)])
    assert [d.names for d in results] == [["car"], [], ["bus"]]


def test_records_out_of_order_and_without_size(tmp_path: Path) -> None:
    lines = [
        '{"t": 1.0, "detections": [{"xyxy": [1, 2, 3, 4], "confidence": 1, "class_name": "b"}]}',
        '{"t": 0.0, "detections": []}',
        "",
        '{"t": 0.5}',
    ]
    config = DetectorConfig(type="replay", model=_write(tmp_path, lines))
    [dets] = create_detector(config).detect([_frame(0.9, width=10, height=10)])
    assert dets.xyxy.tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"t": "soon"}', "t must be a finite number"),
        ('{"t": NaN}', "t must be a finite number"),
        ('{"t": 1' + "0" * 400 + "}", "t must be a finite number"),
        ('{"detections": []}', "t must be a finite number"),
        ('{"t": 1, "detections": {}}', "detections must be a list"),
        ('{"t": 1, "detections": [{"xyxy": [1, 2, 3], "confidence": 1, "class_name": "a"}]}',
         r"detections\[0\].xyxy must be a list of 4 numbers"),
        ('{"t": 1, "detections": [{"xyxy": [1, 2, 3, 4], "class_name": "a"}]}',
         r"detections\[0\].confidence must be a finite number"),
        ('{"t": 1, "detections": [{"xyxy": [1, 2, 3, 4], "confidence": 1}]}',
         r"detections\[0\].class_name must be a non-empty string"),
        ('{"t": 1, "width": 0, "height": 10}', "width and height must be positive"),
    ],
)  # fmt: skip
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = _write(tmp_path, [json.dumps(RECORDS[0]), bad_line])
    with pytest.raises(DetectorError, match=f"{path} line 2: {message}"):
        create_detector(DetectorConfig(type="replay", model=path))


@pytest.mark.parametrize("model", [Path("nowhere/recorded.jsonl"), None])
def test_missing_recording(model: Path | None) -> None:
    with pytest.raises(DetectorError, match="model file not found"):
        create_detector(DetectorConfig(type="replay", model=model))


def test_single_record_matches_only_its_own_time(tmp_path: Path) -> None:
    config = DetectorConfig(type="replay", model=_write(tmp_path, [json.dumps(RECORDS[1])]))
    results = create_detector(config).detect([_frame(0.1), _frame(0.2)])
    assert [len(d) for d in results] == [1, 0]
