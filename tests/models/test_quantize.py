"""Int8 quantisation (`streetwatch model quantize`): the int8 demo model keeps its classes and
finds what the float model finds; the head's decoding stays float; bad input is refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from cli.main import main
from detector.config import DetectorConfig
from detector.onnx_backend import OnnxDetector
from detector.types import Detections, Frame
from models.quantize import calibration_pictures, float_nodes, quantize_model
from models.synthetic import make_sample
from pipeline.benchmark.stages import model_costs
from pipeline.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "models" / "demo" / "streetwatch-demo.onnx"


def _detector(model: Path) -> OnnxDetector:
    return OnnxDetector(DetectorConfig(model=model, imgsz=320, confidence=0.3, threads=1))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


def _found(wanted: Detections, among: Detections, k: int) -> bool:
    return any(
        among.class_id[j] == wanted.class_id[k] and _iou(wanted.xyxy[k], among.xyxy[j]) >= 0.5
        for j in range(len(among.class_id))
    )


@pytest.fixture(scope="module")
def int8_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("int8") / "demo-int8.onnx"
    assert main(["model", "quantize", str(DEMO_MODEL), "--out", str(out), "--pictures", "16"]) == 0
    return out


@pytest.mark.slow
def test_int8_demo_model_finds_what_the_float_model_finds(int8_demo: Path) -> None:
    float_detector, int8_detector = _detector(DEMO_MODEL), _detector(int8_demo)
    assert int8_detector.class_names == float_detector.class_names
    assert int8_demo.stat().st_size < 0.5 * DEMO_MODEL.stat().st_size
    kept, added = _agreement(float_detector, int8_detector)
    assert kept[1] >= 40 and added[1] >= 40
    assert kept[0] / kept[1] >= 0.9, f"{kept[0]} of {kept[1]} confident detections kept"
    assert added[0] / added[1] >= 0.9, f"{added[0]} of {added[1]} int8 detections are real"


def _agreement(
    reference: OnnxDetector, other: OnnxDetector
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(found by `other`, confident in `reference`) and (found by `reference`, confident in
    `other`), on pictures from a seed range neither training nor calibration use."""
    kept, added = [0, 0], [0, 0]
    for seed in range(8):
        frame = Frame(image=make_sample(8_000_000 + seed)[0], t=float(seed), index=seed)
        a, b = reference.detect([frame])[0], other.detect([frame])[0]
        for (first, second), tally in (((a, b), kept), ((b, a), added)):
            for k in np.flatnonzero(first.confidence >= 0.5):
                tally[1] += 1
                tally[0] += _found(first, second, int(k))
    return (kept[0], kept[1]), (added[0], added[1])


def test_int8_graph_keeps_the_head_decoding_float(int8_demo: Path) -> None:
    model = onnx.load(str(int8_demo))
    made_by = {out: node for node in model.graph.node for out in node.output}
    output = made_by[model.graph.output[0].name]
    assert all(made_by[name].op_type != "DequantizeLinear" for name in output.input)
    dfl = next(node for node in model.graph.node if node.op_type == "Conv" and "dfl" in node.name)
    weights = {init.name for init in model.graph.initializer}
    assert dfl.input[1] in weights  # a float initializer, not dequantised int8
    assert sum(node.op_type == "DequantizeLinear" for node in model.graph.node) > 100


def test_head_decoding_stays_float() -> None:
    model = onnx.load(str(DEMO_MODEL))
    kept = set(float_nodes(model))
    by_name = {node.name: node for node in model.graph.node}
    output = model.graph.output[0].name
    last = next(node for node in model.graph.node if output in node.output)
    assert last.name in kept  # the concat of pixel boxes and 0..1 scores
    assert any(by_name[name].op_type == "Sigmoid" for name in kept)
    dfl = [name for name in kept if by_name[name].op_type == "Conv"]
    assert len(dfl) == 1 and "dfl" in dfl[0]
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    assert convs[0].name not in kept and len(convs) - len(dfl) > 50


def test_calibration_reads_a_folder_or_a_video(tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for k in range(5):
        cv2.imwrite(str(pictures / f"{k}.jpg"), np.full((48, 64, 3), 40 * k, np.uint8))
    (pictures / "notes.txt").write_text("not a picture")
    assert len(calibration_pictures(pictures, 3)) == 3
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (64, 48))
    for k in range(20):
        writer.write(np.full((48, 64, 3), 10 * k, np.uint8))
    writer.release()
    frames = calibration_pictures(video, 4)
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)
    assert frames[-1].mean() > frames[0].mean()  # spread over the video, not its first frames


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing source", "calibration source not found"),
        ("empty folder", "no pictures"),
        ("not a video", "not a readable video"),
        ("no pictures wanted", "at least one calibration picture"),
    ],
)
def test_bad_calibration_sources_are_named(tmp_path: Path, case: str, message: str) -> None:
    source: Path = tmp_path / "absent"
    count = 4
    if case == "empty folder":
        source = tmp_path
    elif case == "not a video":
        source = tmp_path / "notes.mp4"
        source.write_text("text, not video")
    elif case == "no pictures wanted":
        count = 0
    with pytest.raises(InputError, match=message):
        calibration_pictures(source, count)


@pytest.mark.slow
def test_a_fixed_size_model_with_unnamed_nodes_is_quantised(tmp_path: Path) -> None:
    # Exports can fix a non-square input and leave nodes unnamed; the quantiser addresses
    # nodes by name and must feed the model the size it insists on.
    model = onnx.load(str(DEMO_MODEL))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, 192, 320), strict=True):
        dim.dim_value = value
    for node in model.graph.node:
        node.name = ""
    fixed = tmp_path / "fixed.onnx"
    onnx.save(model, str(fixed))
    out = tmp_path / "fixed-int8.onnx"
    report = quantize_model(fixed, out, calibration_pictures(None, 4))
    assert report.convs_quantized > 50
    kept, _ = _agreement(_detector(fixed), _detector(out))
    assert kept[1] >= 40 and kept[0] / kept[1] >= 0.8


def test_bad_models_are_refused_and_the_float_model_is_kept(tmp_path: Path) -> None:
    pictures = [np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(InputError, match="model file not found"):
        quantize_model(tmp_path / "absent.onnx", tmp_path / "out.onnx", pictures)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        quantize_model(broken, tmp_path / "out.onnx", pictures)
    with pytest.raises(InputError, match="--imgsz 8: expected a network size"):
        quantize_model(DEMO_MODEL, tmp_path / "out.onnx", pictures, imgsz=8)
    before = DEMO_MODEL.read_bytes()
    with pytest.raises(InputError, match="must not overwrite"):
        quantize_model(DEMO_MODEL, DEMO_MODEL, pictures)
    assert DEMO_MODEL.read_bytes() == before
    assert not (tmp_path / "out.onnx").exists()


def test_bench_stage_costs_time_the_int8_model_on_the_same_input(int8_demo: Path) -> None:
    image = make_sample(8_000_100)[0]
    costs = model_costs(DEMO_MODEL, image, imgsz=320, threads=1, n=2, int8=int8_demo)
    assert costs["inference_timed_alone"] > 0 and costs["inference_int8_timed_alone"] > 0
    without = model_costs(DEMO_MODEL, image, imgsz=320, threads=1, n=1)
    assert "inference_int8_timed_alone" not in without and without["inference"] > 0
