"""ONNX export of trained weights, and the checks that the export computes what PyTorch does.

Two checks, both on pictures from the synthetic generator (so there is something to detect):
1. raw network outputs of ONNX Runtime vs PyTorch on the same input tensors;
2. detections of our `onnx` backend vs our `ultralytics` backend on the same frames. The
   frames are square so both backends feed the network the same pixels (Ultralytics' own
   letterbox pads non-square frames differently from ours, which moves boxes by more than the
   export could).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from detector import DetectorConfig, Frame, create_detector
from detector.preprocess import letterbox_batch
from detector.types import Detections
from models.synthetic import make_sample
from models.train import require_ultralytics
from pipeline.errors import InputError

logger = logging.getLogger(__name__)

CHECK_SEEDS = tuple(range(900_000_000, 900_000_006))  # outside every dataset seed range
RAW_TOLERANCE = 1e-3  # class scores (0..1)
BOX_TOLERANCE = 1e-2  # raw box channels, network pixels (float32 sums differ by op order)
DET_TOLERANCE_PX = 1.0


def export_onnx(
    weights: Path, imgsz: int, batch: int = 1, dynamic: bool = False, out: Path | None = None
) -> Path:
    """Ultralytics ONNX export (class names go into the metadata); returns the file."""
    require_ultralytics()
    from ultralytics import YOLO

    if not weights.is_file():
        raise InputError(f"weights not found: {weights}")
    model = YOLO(str(weights))
    # simplify would make Ultralytics pip-install onnxslim at run time; the graph is fine as is.
    produced = Path(
        model.export(format="onnx", imgsz=imgsz, batch=batch, dynamic=dynamic, simplify=False)
    )
    if out is not None and produced.resolve() != out.resolve():
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), out)
        produced = out
    logger.info("exported %s -> %s", weights, produced)
    return produced


def check_frames(size: int = 360, count: int = len(CHECK_SEEDS)) -> list[Frame]:
    """Square crops of synthetic street pictures, with plenty of objects in them."""
    frames = []
    for index, seed in enumerate(CHECK_SEEDS[:count]):
        img, _ = make_sample(seed)
        h, w = img.shape[:2]
        side = min(h, w, size)
        y0, x0 = h - side, (w - side) // 2  # the lower part holds the road and the sidewalk
        crop = np.ascontiguousarray(img[y0 : y0 + side, x0 : x0 + side])
        frames.append(Frame(image=crop, t=float(index), index=index))
    return frames


@dataclass
class ExportReport:
    """Numbers from `check_export`; `ok` when everything is within tolerance."""

    score_diff: float = 0.0
    box_diff: float = 0.0
    det_box_diff: float = 0.0
    det_counts: tuple[int, int] = (0, 0)
    matched: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"raw outputs: max |ORT - torch| class scores {self.score_diff:.2e}, "
            f"box channels {self.box_diff:.2e} px",
            f"detections: onnx {self.det_counts[0]}, ultralytics {self.det_counts[1]}, "
            f"matched {self.matched}, max box difference {self.det_box_diff:.3f} px",
        ]
        out += [f"FAIL: {p}" for p in self.problems]
        return out or ["ok"]


def _torch_outputs(weights: Path, batch: Any) -> Any:
    import torch
    from ultralytics import YOLO

    model = YOLO(str(weights)).model.float().eval()
    model = model.fuse()  # the export fuses conv+bn too, so both sides run the same arithmetic
    with torch.no_grad():
        out = model(torch.from_numpy(batch))
    return (out[0] if isinstance(out, list | tuple) else out).numpy()


def _ort_outputs(onnx_path: Path, batch: Any) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    name = session.get_inputs()[0].name
    if isinstance(shape[0], int) and shape[0] > 0:  # fixed batch: one slot at a time
        parts = [session.run(None, {name: batch[i : i + shape[0]]})[0] for i in range(len(batch))]
        return np.concatenate(parts)
    return session.run(None, {name: batch})[0]


def compare_raw(weights: Path, onnx_path: Path, imgsz: int, report: ExportReport) -> None:
    """Largest output difference between ONNX Runtime and PyTorch on the same tensors."""
    batch, _ = letterbox_batch([f.image for f in check_frames()], imgsz)
    torch_out, ort_out = _torch_outputs(weights, batch), _ort_outputs(onnx_path, batch)
    if torch_out.shape != ort_out.shape:
        report.problems.append(f"output shapes differ: {ort_out.shape} vs {torch_out.shape}")
        return
    diff = np.abs(torch_out.astype(np.float64) - ort_out)
    report.box_diff, report.score_diff = float(diff[:, :4].max()), float(diff[:, 4:].max())
    if report.score_diff > RAW_TOLERANCE or report.box_diff > BOX_TOLERANCE:
        report.problems.append("raw outputs differ beyond tolerance")


def _iou(a: Any, b: Any) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def match_detections(a: Detections, b: Detections, margin: float) -> tuple[int, float, int]:
    """(matched, largest coordinate difference, unmatched clear detections) between two
    results: same class and IoU > 0.5. Detections within `margin` of the confidence threshold
    may fall on either side of it in the two runtimes, so they may stay unmatched."""
    used: set[int] = set()
    matched, worst, missing = 0, 0.0, 0
    for i in np.argsort(-a.confidence):
        best, best_iou = -1, 0.5
        for j in range(len(b.confidence)):
            if j not in used and b.class_id[j] == a.class_id[i]:
                iou = _iou(a.xyxy[i], b.xyxy[j])
                if iou > best_iou:
                    best, best_iou = j, iou
        if best < 0:
            missing += int(a.confidence[i] > margin)
            continue
        used.add(best)
        matched += 1
        worst = max(worst, float(np.abs(a.xyxy[i] - b.xyxy[best]).max()))
    missing += sum(int(b.confidence[j] > margin) for j in range(len(b.confidence)) if j not in used)
    return matched, worst, missing


def compare_detections(
    weights: Path, onnx_path: Path, imgsz: int, report: ExportReport, conf: float = 0.25
) -> None:
    frames = check_frames()
    results = []
    backends: list[tuple[Literal["onnx", "ultralytics"], Path]] = [
        ("onnx", onnx_path),
        ("ultralytics", weights),
    ]
    for kind, model in backends:
        config = DetectorConfig(type=kind, model=model, imgsz=imgsz, confidence=conf)
        detector = create_detector(config)
        try:
            results.append(detector.detect(frames))
        finally:
            detector.close()
    missing = 0
    for a, b in zip(*results, strict=True):
        m, worst, miss = match_detections(a, b, conf + 0.02)
        report.matched += m
        report.det_box_diff = max(report.det_box_diff, worst)
        missing += miss
    report.det_counts = (sum(len(r) for r in results[0]), sum(len(r) for r in results[1]))
    if report.det_box_diff > DET_TOLERANCE_PX:
        report.problems.append(f"detection boxes differ by {report.det_box_diff:.2f} px")
    if missing:
        report.problems.append(f"{missing} detections found by only one backend")


def check_export(weights: Path, onnx_path: Path, imgsz: int) -> ExportReport:
    """Run both checks; see the module docstring."""
    require_ultralytics()
    report = ExportReport()
    compare_raw(weights, onnx_path, imgsz, report)
    compare_detections(weights, onnx_path, imgsz, report)
    for line in report.lines():
        logger.info("%s", line)
    return report
