"""Makers of broken inputs for the bad-input corpus: videos, models and a data-dir fingerprint.

Everything is built from scratch in the test's folder: no downloads, no shared data.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import wave
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from tests.detector.onnx_models import IR_VERSION, OPSET, constant_model, save_model, yolov8_output

DataFingerprint = tuple[dict[str, tuple[int, str]], dict[str, str]]


def fingerprint(data_dir: Path) -> DataFingerprint:
    """Row count and hash of every table, and the hash of every file under `data_dir` but the
    database's own (SQLite may checkpoint its WAL when a reader closes, which changes no row)."""
    tables: dict[str, tuple[int, str]] = {}
    with contextlib.closing(sqlite3.connect(data_dir / "streetwatch.db")) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in sorted(names):
            rows = sorted(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
            tables[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    files = {
        str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and not path.name.startswith("streetwatch.db")
    }
    return tables, files


def listing(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its size: what a case made before it ran."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


# --- videos -------------------------------------------------------------------------------


def _picture(width: int = 320, height: int = 180) -> np.ndarray:
    return np.full((height, width, 3), (90, 120, 150), np.uint8)


def still_image(path: Path, ext: str) -> Path:
    """A PNG or JPEG picture at `path`, whatever its name says."""
    ok, encoded = cv2.imencode(ext, _picture())
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


def audio_only(path: Path) -> Path:
    """One second of 8 kHz silence as a WAV file: a media file with no video stream."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000)
    return path


def unknown_codec(path: Path) -> Path:
    """An MJPEG AVI whose codec tag is rewritten to one no decoder knows."""
    whole = path.with_suffix(".mjpg.avi")
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
    for i in range(10):
        writer.write(np.full((120, 160, 3), i * 20, np.uint8))
    writer.release()
    data = whole.read_bytes()
    whole.unlink()
    assert b"MJPG" in data
    path.write_bytes(data.replace(b"MJPG", b"QZQZ"))
    return path


def huge_frames(path: Path, width: int = 10000, height: int = 6000) -> Path:
    """A YUV4MPEG file whose header claims `width` x `height` frames but holds 4 KB of them:
    small enough for FFmpeg to open, far above the documented frame-size limit."""
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\nFRAME\n".encode()
    path.write_bytes(header + b"\x80" * 4096)
    return path


# --- models -------------------------------------------------------------------------------

THREE_CLASSES = yolov8_output([[32, 32, 10, 10]], [[0.9, 0.1, 0.1]])  # (1, 7, 32)
THREE_NAMES = "{0: 'car', 1: 'bus', 2: 'truck'}"


def onnx_file(
    path: Path,
    output: np.ndarray = THREE_CLASSES,
    names: str | None = None,
    task: str | None = None,
) -> Path:
    return save_model(constant_model(output, names=names, task=task), path)


def uint8_input_model(path: Path) -> Path:
    """A YOLOv8-shaped model, names and all, whose image input is uint8 instead of float."""
    model = constant_model(THREE_CLASSES, names=THREE_NAMES)
    graph = model.graph
    for node in graph.node:
        node.input[:] = ["images_float" if name == "images" else name for name in node.input]
    graph.node.insert(0, helper.make_node("Cast", ["images"], ["images_float"], to=1))
    graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
    onnx.checker.check_model(model)
    return save_model(model, path)


def rank3_input_model(path: Path) -> Path:
    """A model taking a (1, 7, 32) tensor: not an image batch."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["output0"])],
        "rank3",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 7, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 7, 32])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    return save_model(model, path)
