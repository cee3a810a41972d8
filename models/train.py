"""Training the demo detector with Ultralytics, from scratch on the synthetic dataset.

Ultralytics and torch are imported inside the functions: they come with the optional `train`
extra, and the runtime install (ONNX Runtime only) must still import this module.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

logger = logging.getLogger(__name__)

INSTALL_HINT = "training needs the optional extra: pip install -e '.[train]' (ultralytics, torch)"


def require_ultralytics() -> Any:
    """The `ultralytics` module, or `InputError` naming the extra to install."""
    try:
        import ultralytics
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    return ultralytics


@dataclass
class TrainSettings:
    """What `train` passes to Ultralytics; defaults suit a 2-core CPU machine."""

    data: Path
    base: str = "yolo11n.yaml"
    epochs: int = 30
    imgsz: int = 320
    batch: int = 16
    out: Path = Path("runs/streetwatch")
    hours: float | None = None  # when set, Ultralytics fits the schedule into this time
    device: str = "cpu"
    workers: int = 2
    # Ultralytics trains on cpu_count - 1 torch threads, one of two cores here; every core
    # is worth ~1.7x the epochs in the same hour.
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    seed: int = 0
    val: bool = False  # per-epoch validation costs minutes on a CPU; the final one still runs


def _check_inputs(settings: TrainSettings) -> None:
    if not settings.data.is_file():
        raise InputError(f"dataset description not found: {settings.data}")
    base = settings.base
    if base.endswith(".pt") and not Path(base).is_file():
        # Ultralytics would try to download an official checkpoint by that name.
        raise InputError(
            f"base weights not found: {base} (use a model .yaml to start from scratch)"
        )


def _use_threads(count: int) -> None:
    import torch

    torch.set_num_threads(count)
    logger.info("training on %d CPU threads", count)


def train(settings: TrainSettings) -> Path:
    """Train and return the path of the final weights (`.../weights/last.pt`)."""
    require_ultralytics()
    from ultralytics import YOLO

    _check_inputs(settings)
    model = YOLO(settings.base)
    if settings.device == "cpu":
        # The trainer has set its own thread count by the time this callback runs.
        model.add_callback(
            "on_pretrain_routine_start", lambda _trainer: _use_threads(settings.threads)
        )
    extra: dict[str, Any] = {}
    if settings.hours is not None:
        extra["time"] = settings.hours
    started = time.monotonic()
    model.train(
        data=str(settings.data),
        epochs=settings.epochs,
        imgsz=settings.imgsz,
        batch=settings.batch,
        device=settings.device,
        workers=settings.workers,
        project=str(settings.out.resolve()),
        name="train",
        exist_ok=True,
        pretrained=settings.base.endswith(".pt"),
        cache=True,
        plots=False,  # plotting fetches a font from the internet
        amp=False,  # the AMP self-check downloads a checkpoint; CPU training has no AMP anyway
        val=settings.val,
        seed=settings.seed,
        warmup_epochs=1.0,
        nbs=settings.batch,  # step the optimizer every batch: few epochs fit in a CPU hour
        close_mosaic=max(1, min(5, settings.epochs // 5)),
        **extra,
    )
    weights = settings.out.resolve() / "train" / "weights" / "last.pt"
    logger.info("training took %.1f min; weights %s", (time.monotonic() - started) / 60, weights)
    return weights
