"""Int8 quantisation of a YOLO ONNX model with ONNX Runtime: static, QDQ, per-channel weights.

Static rather than dynamic: dynamic quantisation keeps activations in float and converts them
on every call, which buys convolutions little on a CPU. Static quantisation measures the
activation ranges once, on pictures like the ones the camera will see, so ONNX Runtime can run
the convolutions as int8 (VNNI instructions on recent x86).

The backbone and neck are quantised whole (convolutions, activations, adds, concats): with
only the convolutions in int8, the float activations between them cost a quantise and a
dequantise each and the model ran slower than in float. The head's decoding after its last
convolutions (distribution-to-box, sigmoid, the final concat of pixel boxes with 0..1 scores)
stays float: one uint8 scale for a tensor that holds both 0..640 pixel boxes and 0..1 scores
would flatten the scores. The DFL convolution, which turns a softmax into an expected box
edge, stays float too.

`onnx` (in the `dev` and `train` extras) is needed here, not at run time: the quantised model
is an ordinary ONNX file for the `onnx` backend.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import ValidationError

from detector.base import DetectorError
from detector.config import DetectorConfig
from detector.onnx_backend import OnnxDetector
from detector.preprocess import letterbox
from pipeline.errors import InputError

logger = logging.getLogger(__name__)

INSTALL_HINT = "quantisation needs the onnx package: pip install onnx"
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# Synthetic calibration pictures use a seed range that no dataset split uses.
CALIBRATION_SEED = 7_000_000
MAX_SIDE = 1280  # calibration pictures are shrunk to this long side when read


@dataclass
class QuantizeReport:
    """What was written, and the size change."""

    out: Path
    pictures: int
    convs_quantized: int
    float_bytes: int
    int8_bytes: int

    def lines(self) -> list[str]:
        return [
            f"int8 model {self.out} ({self.int8_bytes / 1e6:.1f} MB, "
            f"float {self.float_bytes / 1e6:.1f} MB)",
            f"calibrated on {self.pictures} pictures; {self.convs_quantized} convolutions int8",
        ]


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    return onnx


def calibration_pictures(source: Path | None, count: int) -> list[np.ndarray]:
    """`count` BGR pictures: from a folder of pictures, frames spread over a video, or (no
    source) synthetic street pictures."""
    if count < 1:
        raise InputError(f"need at least one calibration picture, got {count}")
    if source is None:
        from models.synthetic import make_sample

        return [make_sample(CALIBRATION_SEED + i)[0] for i in range(count)]
    if source.is_dir():
        return _folder_pictures(source, count)
    if source.is_file():
        return _video_frames(source, count)
    raise InputError(f"calibration source not found: {source}")


def _folder_pictures(folder: Path, count: int) -> list[np.ndarray]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICTURE_SUFFIXES)
    if not paths:
        raise InputError(f"{folder}: no pictures ({', '.join(sorted(PICTURE_SUFFIXES))})")
    pictures = []
    for index in _spread(len(paths), count):
        image = cv2.imread(str(paths[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"{paths[index]}: not a readable picture")
        pictures.append(_bounded(image))
    return pictures


def _spread(total: int, count: int) -> list[int]:
    """`count` indices spread evenly over `total` items (all of them when there are fewer)."""
    return sorted({int(i) for i in np.linspace(0, total - 1, min(count, total))})


def _bounded(image: np.ndarray) -> np.ndarray:
    # Calibration letterboxes to the network size anyway; 4K frames kept whole would cost
    # gigabytes for a few dozen pictures.
    scale = MAX_SIDE / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _video_frames(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not capture.isOpened() or total <= 0:
            raise InputError(f"{video}: not a readable video (nor a folder of pictures)")
        frames = []
        for index in _spread(total, count):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(_bounded(frame))
    finally:
        capture.release()
    if not frames:
        raise InputError(f"{video}: no frame could be decoded")
    return frames


def _dfl_convs(model: Any) -> set[str]:
    """The DFL convolutions: their input is a softmax (a transpose or reshape away)."""
    made_by = {out: node for node in model.graph.node for out in node.output}
    found = set()
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        source = made_by.get(node.input[0])
        for _ in range(3):
            if source is None or source.op_type == "Softmax":
                break
            source = made_by.get(source.input[0]) if source.input else None
        if source is not None and source.op_type == "Softmax":
            found.add(node.name)
    return found


def float_nodes(model: Any) -> list[str]:
    """Nodes to keep in float: the DFL convolutions and everything after the last quantised
    convolutions (the head's decoding), found as the nodes no quantised convolution depends on.
    """
    dfl = _dfl_convs(model)
    consumers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    feeds_conv: dict[str, bool] = {}
    for node in reversed(model.graph.node):  # ONNX graphs are stored in topological order
        is_conv = node.op_type == "Conv" and node.name not in dfl
        later = (c for out in node.output for c in consumers.get(out, []))
        feeds_conv[node.name] = is_conv or any(feeds_conv.get(c.name, False) for c in later)
    return [node.name for node in model.graph.node if not feeds_conv[node.name]]


def _named_nodes(model: Any) -> Any:
    # The quantiser addresses nodes by name; exports normally name them all, but not always.
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"node_{index}_{node.op_type}"
    return model


@dataclass(frozen=True)
class _Input:
    """How the detector feeds this model: input name, network size, batch it insists on."""

    detector: OnnxDetector

    def feed(self, picture: np.ndarray) -> dict[str, np.ndarray]:
        # The detector's own letterbox and size (rect for a dynamic model), so the measured
        # activation ranges are the ones it will meet.
        tensor, _ = letterbox(picture, self.detector.network_size([picture.shape]))
        batch = np.repeat(tensor[None], self.detector.fixed_batch or 1, axis=0)
        return {self.detector.input_name: batch}


class _Reader:
    """Feeds the calibration pictures to ONNX Runtime's calibrator one at a time."""

    def __init__(self, model_input: _Input, pictures: list[np.ndarray]) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = (model_input.feed(p) for p in pictures)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _input_of(path: Path, imgsz: int) -> _Input:
    """The model's input as the `onnx` backend sees it; a model that backend cannot run (not
    a YOLO detector, wrong layout) is refused with its reason."""
    try:
        detector = OnnxDetector(DetectorConfig(model=path, imgsz=imgsz, threads=1))
    except ValidationError:
        raise InputError(f"--imgsz {imgsz}: expected a network size from 32 to 4096") from None
    except DetectorError as exc:
        raise InputError(str(exc)) from None
    if detector.input_dtype is not np.float32:
        raise InputError(f"{path}: int8 quantisation needs a float32 model, not float16")
    return _Input(detector)


def exported_imgsz(model: Any) -> int | None:
    """The long side Ultralytics wrote into the export's metadata (`imgsz`), if any."""
    for prop in model.metadata_props:
        if prop.key == "imgsz":
            try:
                sides = [int(v) for v in str(prop.value).strip("[]() ").split(",")]
            except ValueError:
                return None
            return max(sides) if sides and min(sides) > 0 else None
    return None


def check_paths(model_path: Path, out: Path) -> None:
    """The checks that need no work: `onnx` installed, the model there, `out` not the model."""
    _require_onnx()
    if not model_path.is_file():
        raise InputError(f"model file not found: {model_path}")
    if out.exists() and out.resolve() == model_path.resolve():
        raise InputError(f"{out}: the int8 model must not overwrite the float model")
    if out.is_dir():
        raise InputError(f"{out} is a folder; give the int8 model's file name")


def quantize_model(
    model_path: Path, out: Path, pictures: list[np.ndarray], imgsz: int | None = None
) -> QuantizeReport:
    """Write the int8 version of `model_path` to `out`, calibrated on `pictures`.

    `imgsz` (network long side for a dynamic model) defaults to the size the model was
    exported for, else 640. `out` appears whole or not at all."""
    check_paths(model_path, out)
    onnx = _require_onnx()
    try:
        source = onnx.load(str(model_path))
    except Exception as exc:  # onnx raises DecodeError and friends for a damaged file
        raise InputError(f"cannot load ONNX model {model_path}: {exc}") from None
    model_input = _input_of(model_path, imgsz or exported_imgsz(source) or 640)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        int8, keep_float, convs = _quantized(onnx, model_path, model_input, pictures)
    except Exception as exc:  # ONNX Runtime's quantiser raises plain exceptions
        raise InputError(f"cannot quantise {model_path}: {exc}") from exc
    _copy_metadata(source, int8)
    partial = out.with_name(out.name + ".partial")
    onnx.save(int8, str(partial))
    os.replace(partial, out)
    logger.info("wrote %s (%d convolutions int8, %d nodes float)", out, convs, len(keep_float))
    return QuantizeReport(out, len(pictures), convs, model_path.stat().st_size, out.stat().st_size)


def _quantized(
    onnx: Any, model_path: Path, model_input: _Input, pictures: list[np.ndarray]
) -> tuple[Any, list[str], int]:
    """(int8 model, names of the nodes kept float, int8 convolution count)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        # ONNX Runtime's own clean-up first (constant folding, shape inference): the quantiser
        # then sees plain convolutions and activations.
        prepared, int8_path = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
        model = _named_nodes(onnx.load(str(prepared)))
        onnx.save(model, str(prepared))
        keep_float = float_nodes(model)
        with _root_logger_at(logging.WARNING):
            quantize_static(
                str(prepared),
                str(int8_path),
                _Reader(model_input, pictures),
                quant_format=QuantFormat.QDQ,
                nodes_to_exclude=keep_float,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        int8 = onnx.load(str(int8_path))
    convs = sum(n.op_type == "Conv" and n.name not in keep_float for n in model.graph.node)
    return int8, keep_float, convs


@contextmanager
def _root_logger_at(level: int) -> Iterator[None]:
    # ONNX Runtime's quantiser logs a line per tensor on the root logger.
    root = logging.getLogger()
    before = root.level
    root.setLevel(max(level, before))
    try:
        yield
    finally:
        root.setLevel(before)


def _copy_metadata(source: Any, target: Any) -> None:
    """Class names and the rest of the export's metadata, so the detector reads them as before."""
    have = {prop.key for prop in target.metadata_props}
    for prop in source.metadata_props:
        if prop.key not in have:
            target.metadata_props.add(key=prop.key, value=prop.value)
