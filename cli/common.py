"""Pieces several commands share: storage from settings, detector overrides."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from detector.config import DetectorConfig
from pipeline.evidence import EvidenceWriter
from pipeline.recovery import recover
from pipeline.settings import Settings
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore


def add_storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="database and evidence folder (default: ./data, or STREETWATCH_DATA_DIR)",
    )


@dataclass(frozen=True, slots=True)
class Storage:
    engine: Engine
    store: IncidentStore
    writer: EvidenceWriter
    url: str
    evidence_dir: Path

    def describe(self) -> str:
        return f"database {self.url.split('@')[-1]}, evidence {self.evidence_dir}"


def open_storage(data_dir: Path | None = None, writer: bool = True) -> Storage:
    """Database (migrated) and evidence folder from the settings, or under `data_dir`.
    A writer first sweeps what a crash may have left behind (read-only users skip that)."""
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    url = settings.resolved_database_url
    engine = make_engine(url)
    migrate(engine)
    evidence_dir = settings.resolved_evidence_dir
    evidence_dir.mkdir(parents=True, exist_ok=True)
    if writer:
        recover(engine, evidence_dir)
    return Storage(engine, IncidentStore(engine), EvidenceWriter(evidence_dir), url, evidence_dir)


def detector_config(base: DetectorConfig, model: Path | None) -> DetectorConfig:
    """The config's detector with a command-line model path; `.jsonl` means replay."""
    if model is None:
        return base
    if model.suffix == ".jsonl":
        return base.model_copy(update={"type": "replay", "model": model})
    if model.suffix == ".pt":
        return base.model_copy(update={"type": "ultralytics", "model": model})
    return base.model_copy(
        update={"type": "onnx" if base.type == "replay" else base.type, "model": model}
    )
