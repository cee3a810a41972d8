"""Tiny ONNX models built in memory whose output is a known constant, for backend tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # old enough for every onnxruntime the project supports


def _pad_rows(rows: npt.NDArray, anchors: int) -> npt.NDArray:
    # Real exports have far more anchors than channels, which is how the layout is told
    # apart; the extra anchors score zero everywhere.
    padding = np.zeros((max(0, anchors - len(rows)), rows.shape[1]))
    return np.concatenate([rows, padding]).astype(np.float32)


def yolov8_output(
    boxes_cxcywh: Sequence[Sequence[float]], scores: Sequence[Sequence[float]], anchors: int = 32
) -> npt.NDArray:
    """(1, 4+nc, N) from boxes (cx, cy, w, h) and their rows of nc class scores, padded
    with zero-score anchors up to N = `anchors`."""
    rows = np.concatenate([np.asarray(boxes_cxcywh), np.asarray(scores)], axis=1)
    return _pad_rows(rows, anchors).T[None]


def yolov5_output(
    boxes_cxcywh: Sequence[Sequence[float]],
    objectness: Sequence[float],
    probs: Sequence[Sequence[float]],
    anchors: int = 32,
) -> npt.NDArray:
    """(1, N, 5+nc) from boxes, their objectness and their class probabilities, padded
    with zero-objectness anchors up to N = `anchors`."""
    obj = np.asarray(objectness)[:, None]
    rows = np.concatenate([np.asarray(boxes_cxcywh), obj, np.asarray(probs)], axis=1)
    return _pad_rows(rows, anchors)[None]


def constant_model(
    output: npt.NDArray,
    batch: int | str = 1,
    imgsz: tuple[int, int] = (64, 64),
    names: str | None = None,
    symbolic_output: bool = False,
    task: str | None = None,
) -> onnx.ModelProto:
    """A model with input ``images`` (batch, 3, H, W) whose output repeats `output` (1, ...)
    for every image in the batch.

    The input is folded in as 0 * mean(images) so the output keeps the input's batch size;
    `batch` is an int for a fixed batch or a name for a dynamic one. `names` and `task` are
    stored as metadata the way Ultralytics does. `symbolic_output` (with a dynamic batch)
    leaves the output dims unknown until the model runs.
    """
    rank = output.ndim
    if symbolic_output:
        nodes, initializers = _tiled_nodes(output)
        out_dims: list[int | str] = [batch, *(f"dim{i}" for i in range(1, rank))]
    else:
        nodes, initializers = _broadcast_nodes(output)
        out_dims = [batch, *output.shape[1:]]
    graph = helper.make_graph(
        nodes,
        "constant_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, *imgsz])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_dims)],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    metadata = {"names": names, "task": task}
    helper.set_model_props(model, {k: v for k, v in metadata.items() if v is not None})
    onnx.checker.check_model(model)
    return model


def _broadcast_nodes(
    output: npt.NDArray,
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    rank = output.ndim
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "per_image_shape"], ["per_image"]),
        helper.make_node("Mul", ["per_image", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "constant"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([-1] + [1] * (rank - 1), np.int64), "per_image_shape"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(output.astype(np.float32), "constant"),
    ]
    return nodes, initializers


def _tiled_nodes(
    output: npt.NDArray,
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    # Tile repeats computed from the input's shape hide the output dims from shape
    # inference, like the symbolic 'anchors' dim of a dynamic Ultralytics export.
    nodes = [
        helper.make_node("Shape", ["images"], ["input_shape"], start=0, end=1),
        helper.make_node("Concat", ["input_shape", "ones"], ["repeats"], axis=0),
        helper.make_node("Tile", ["constant", "repeats"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(np.ones(output.ndim - 1, np.int64), "ones"),
        numpy_helper.from_array(output.astype(np.float32), "constant"),
    ]
    return nodes, initializers


def save_model(model: onnx.ModelProto, path: Path) -> Path:
    """Write `model` to `path` and return the path, for use in a DetectorConfig."""
    onnx.save(model, str(path))
    return path
