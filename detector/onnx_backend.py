"""ONNX Runtime backend for Ultralytics YOLOv8 / YOLO11 and YOLOv5 ONNX exports (CPU)."""

from __future__ import annotations

import ast
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from detector.base import Detector, DetectorError, register_backend
from detector.coco import COCO_NAMES
from detector.config import DetectorConfig
from detector.postprocess import Layout, RawDetections, decode, detect_layout, num_classes_of
from detector.preprocess import Letterbox, letterbox_batch
from detector.types import Detections, FloatArray, Frame

logger = logging.getLogger(__name__)


STRIDE = 32  # YOLO's largest feature stride: dynamic network sides must be multiples of it


def model_path(model: Path | None) -> Path:
    """The configured model file, or `DetectorError` when it is unset or absent."""
    if model is None:
        raise DetectorError("model file not found: detector.model is not set")
    if model.is_dir():
        raise DetectorError(f"{model} is a folder, not a model file")
    if not model.is_file():
        raise DetectorError(f"model file not found: {model}")
    if model.stat().st_size == 0:
        raise DetectorError(f"model file {model} is empty (0 bytes); copy or export it again")
    return model


def _open_session(path: Path, threads: int) -> Any:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT raises its own pybind exception types for bad files
        raise DetectorError(f"cannot load ONNX model {path}: {exc}") from exc


def _class_id(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isdigit():
        return int(key)
    raise ValueError(f"class id {key!r} is not an integer")


def parse_class_names(text: str) -> tuple[str, ...]:
    """Class names from model metadata: a Python dict literal ``{0: 'person', ...}`` as
    Ultralytics writes it, a JSON object with string ids, or a list. Raises `ValueError`."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        try:
            value = json.loads(text)  # JSON-only spellings such as true/null
        except RecursionError:
            raise ValueError("names metadata nests too deeply") from None
    if isinstance(value, dict):
        ids = {_class_id(key): name for key, name in value.items()}
        if sorted(ids) != list(range(len(ids))):
            raise ValueError(f"class ids are not 0..{len(ids) - 1}: {sorted(ids)}")
        value = [ids[i] for i in range(len(ids))]
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise ValueError("expected a dict of id -> name or a list of names")
    return tuple(value)


def _metadata_names(session: Any, path: Path) -> tuple[str, ...] | None:
    """Class names from Ultralytics' custom metadata, where present and readable."""
    meta: dict[str, str] = session.get_modelmeta().custom_metadata_map
    task = meta.get("task")
    # Segment/pose heads append mask or keypoint channels the decoders would read as classes.
    if task not in (None, "detect"):
        raise DetectorError(f"{path}: a {task!r} model; only detection models are supported")
    text = meta.get("names")
    if text is None:
        return None
    try:
        return parse_class_names(text)
    except ValueError as exc:
        logger.warning("%s: ignoring unreadable 'names' metadata (%s)", path, exc)
        return None


# Element types of the image input that `_run` can feed; YOLO exports take one of these.
_INPUT_DTYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


def _input_dtype(model_input: Any, path: Path) -> type[np.floating[Any]]:
    try:
        return _INPUT_DTYPES[model_input.type]
    except KeyError:
        raise DetectorError(
            f"{path}: model input {model_input.name!r} is {model_input.type}; expected a "
            "float32 or float16 image tensor (B, 3, H, W) as YOLO exports take"
        ) from None


def _input_plan(
    shape: Sequence[object], config: DetectorConfig, path: Path
) -> tuple[tuple[int, int], int, bool]:
    """(network height, width), frames per run, and whether that batch size is fixed."""
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise DetectorError(f"{path}: model input shape {list(shape)} is not (B, 3, H, W)")
    height, width, batch = (_fixed_dim(d) for d in (shape[2], shape[3], shape[0]))
    size = (height, width) if height and width else (config.imgsz, config.imgsz)
    if batch:
        return size, batch, True
    return size, config.batch, False


def rect_size(frame_sizes: Sequence[tuple[int, ...]], imgsz: int) -> tuple[int, int]:
    """The smallest stride-aligned (height, width) that holds every frame scaled to `imgsz`
    on its long side: a 16:9 frame at 640 needs 384 x 640, 60 % of the square's pixels, and
    the inference time shrinks with them. The scale is the square letterbox's, so objects
    look the same to the network.

    >>> rect_size([(720, 1280)], 640)
    (384, 640)
    """
    height = width = 0
    for h, w, *_ in frame_sizes:  # image shapes: (height, width[, channels])
        scale = min(imgsz / h, imgsz / w)
        height = max(height, _round_up(max(1, round(h * scale)), STRIDE))
        width = max(width, _round_up(max(1, round(w * scale)), STRIDE))
    return height, width


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _fixed_dim(dim: object) -> int | None:
    # ONNX Runtime reports dynamic dims as names or None (some exporters write -1 or 0).
    return dim if isinstance(dim, int) and dim > 0 else None


def _resolve_names(
    metadata: tuple[str, ...] | None, configured: list[str] | None, nc: int, path: Path
) -> tuple[str, ...]:
    if metadata is not None:
        if configured and tuple(configured) != metadata:
            logger.warning("%s: using the class names in the model, not detector.class_names", path)
        source, names = "the model's 'names' metadata", metadata
    elif configured:
        source, names = "detector.class_names", tuple(configured)
    elif nc == len(COCO_NAMES):
        logger.info("%s: no class names in the model; assuming the 80 COCO classes", path)
        return COCO_NAMES
    else:
        raise DetectorError(
            f"{path}: the model has no class names in its metadata and outputs {nc} classes; "
            f"set detector.class_names to its {nc} names in class-id order"
        )
    if len(names) != nc:
        raise DetectorError(f"{path}: {source} lists {len(names)} names but the model outputs {nc}")
    return names


def _find_layout(shape: tuple[int, ...], hint: int | None, path: Path) -> Layout:
    try:
        return detect_layout(shape, hint)
    except DetectorError as exc:
        error = DetectorError(f"{path}: {exc}")
    if hint is not None:
        # A wrong name count should surface as a name-count error, which is more helpful.
        try:
            return detect_layout(shape, None)
        except DetectorError:
            pass
    raise error


@register_backend("onnx")
class OnnxDetector(Detector):
    """Runs a YOLO ONNX export with ONNX Runtime on the CPU, several frames per call.

    The input size and batch size come from the model when it fixes them, else from
    `config.imgsz` and `config.batch`; class names from the model metadata, else the config,
    else COCO when the model has 80 classes.
    """

    def __init__(self, config: DetectorConfig) -> None:
        self._config = config
        self._buffers = threading.local()
        self._path = model_path(config.model)
        self._session: Any = _open_session(self._path, config.threads)
        model_input = self._session.get_inputs()[0]
        self._input_name: str = model_input.name
        self._output_name: str = self._session.get_outputs()[0].name
        self._input_dtype = _input_dtype(model_input, self._path)
        self._input_hw, self._batch, self._fixed_batch = _input_plan(
            model_input.shape, config, self._path
        )
        fixed_size = all(_fixed_dim(d) for d in model_input.shape[2:])
        self._rect = config.rect and not fixed_size
        metadata = _metadata_names(self._session, self._path)
        configured = config.class_names
        hint = len(metadata) if metadata is not None else len(configured) if configured else None
        shape = self._output_shape()
        self._layout = _find_layout(shape, hint, self._path)
        self._names = _resolve_names(
            metadata, configured, num_classes_of(shape, self._layout), self._path
        )
        logger.info(
            "loaded %s: input %s, batch %d (%s), %s layout, %d classes",
            self._path,
            self._input_hw,
            self._batch,
            "fixed" if self._fixed_batch else "dynamic",
            self._layout,
            len(self._names),
        )

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def layout(self) -> Layout:
        """Output layout recognised at load time."""
        return self._layout

    @property
    def input_size(self) -> tuple[int, int]:
        """Network input (height, width)."""
        return self._input_hw

    @property
    def input_name(self) -> str:
        return self._input_name

    @property
    def input_dtype(self) -> type[np.floating[Any]]:
        return self._input_dtype

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the model insists on, or None when it takes any."""
        return self._batch if self._fixed_batch else None

    def network_size(self, frame_sizes: Sequence[tuple[int, ...]]) -> tuple[int, int]:
        """The network input (height, width) for frames of these shapes ((height, width, ...))."""
        if not self._rect or not frame_sizes:
            return self._input_hw
        return rect_size(frame_sizes, max(self._input_hw))

    def _output_shape(self) -> tuple[int, ...]:
        shape = tuple(self._session.get_outputs()[0].shape)
        if all(isinstance(dim, int) for dim in shape[1:]):
            return shape
        # Symbolic output dims (dynamic exports) are only known after one run.
        dummy = np.zeros((self._batch, 3, *self._input_hw), np.float32)
        return tuple(self._run(dummy).shape)

    def _run(self, batch: FloatArray) -> FloatArray:
        if self._session is None:
            raise DetectorError(f"{self._path}: detector is closed")
        feed = {self._input_name: batch.astype(self._input_dtype, copy=False)}
        try:
            output = self._session.run([self._output_name], feed)[0]
        except Exception as exc:  # ORT's pybind exception types carry the reason
            raise DetectorError(f"{self._path}: inference failed: {exc}") from exc
        return np.asarray(output, np.float32)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        results: list[Detections] = []
        for start in range(0, len(frames), self._batch):
            results.extend(self._detect_chunk(frames[start : start + self._batch]))
        return results

    def _detect_chunk(self, frames: Sequence[Frame]) -> list[Detections]:
        # A fixed-batch model needs every slot filled; the padded slots are discarded.
        slots = self._batch if self._fixed_batch else len(frames)
        buffer = getattr(self._buffers, "batch", None)
        size = self.network_size([f.image.shape for f in frames])
        batch, boxes = letterbox_batch([f.image for f in frames], size, slots, buffer)
        self._buffers.batch = batch  # one buffer per calling thread, reused next call
        output = self._run(batch)[: len(frames)]
        config = self._config
        raw = decode(output, self._layout, config.confidence, config.iou, config.max_detections)
        return [self._to_detections(r, lb) for r, lb in zip(raw, boxes, strict=True)]

    def _to_detections(self, raw: RawDetections, box: Letterbox) -> Detections:
        return Detections(
            xyxy=box.to_image(raw.xyxy),
            confidence=raw.confidence,
            class_id=raw.class_id,
            class_names=self._names,
        )

    def close(self) -> None:
        self._session = None
