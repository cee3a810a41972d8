"""Frame-level accuracy of a trained or exported model on a YOLO dataset (Ultralytics val).

This is the model's own yardstick (mAP on held-out synthetic pictures); the product is judged
on events, see docs/EVALUATION.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from models.train import require_ultralytics
from pipeline.errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class Metrics:
    """Box mAP at IoU 0.5 and averaged over 0.5-0.95, overall and per class."""

    map50: float
    map50_95: float
    per_class: dict[str, float] = field(default_factory=dict)  # mAP50-95
    per_class_50: dict[str, float] = field(default_factory=dict)


def evaluate(model_path: Path, data: Path, imgsz: int = 320, batch: int = 1) -> Metrics:
    """Validate `.pt` or `.onnx` weights on the `val` split of `data`."""
    require_ultralytics()
    from ultralytics import YOLO

    for path, what in ((model_path, "model"), (data, "dataset description")):
        if not path.is_file():
            raise InputError(f"{what} not found: {path}")
    model = YOLO(str(model_path), task="detect")
    # A fixed-batch ONNX export only accepts its own batch size, hence batch=1 by default.
    result = model.val(
        data=str(data), imgsz=imgsz, batch=batch, device="cpu", plots=False, verbose=False
    )
    names = result.names
    per_class = {
        str(names[int(c)]): float(v)
        for c, v in zip(
            result.box.ap_class_index, result.box.maps[result.box.ap_class_index], strict=True
        )
    }
    # ap50 rows follow ap_class_index, like the per-class mAP50-95 above.
    per_class_50 = {
        str(names[int(c)]): float(v)
        for c, v in zip(result.box.ap_class_index, result.box.ap50, strict=True)
    }
    metrics = Metrics(float(result.box.map50), float(result.box.map), per_class, per_class_50)
    logger.info(
        "%s on %s: mAP50 %.4f, mAP50-95 %.4f", model_path, data, metrics.map50, metrics.map50_95
    )
    return metrics
