"""Detector settings, the `detector:` section of the camera config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DetectorConfig(BaseModel):
    """Which backend runs and how.

    `type` picks the backend from the registry: `onnx` (default), `ultralytics` (optional
    extra) or `replay` (recorded detections, `model` is then the JSON-lines file).
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["onnx", "ultralytics", "replay"] = "onnx"
    model: Path | None = Field(
        default=None, description="ONNX file, .pt weights, or recorded detections (.jsonl)"
    )
    imgsz: int = Field(default=640, ge=32, le=4096, description="network input size (long side)")
    rect: bool = Field(
        default=True,
        description="for models with a dynamic input size: trim the padding of the short side "
        "to a multiple of 32 (as Ultralytics does for PyTorch models); false: imgsz x imgsz",
    )
    confidence: float = Field(default=0.25, ge=0.0, le=1.0)
    iou: float = Field(default=0.45, gt=0.0, le=1.0, description="NMS IoU threshold")
    class_names: list[str] | None = Field(
        default=None, description="class names when the model carries none in its metadata"
    )
    batch: int = Field(default=1, ge=1, le=64, description="frames per inference call")
    threads: int = Field(
        default=0,
        ge=0,
        description="ONNX Runtime intra-op threads per session, 0 = auto (with live cameras: "
        "the CPU cores shared out among the sessions)",
    )
    sessions: int = Field(
        default=0,
        ge=0,
        le=64,
        description="inference sessions that live cameras share, each run by its own worker; "
        "0 = one single-threaded session per CPU core",
    )
    max_detections: int = Field(default=300, ge=1)
