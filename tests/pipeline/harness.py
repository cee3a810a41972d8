"""Run a scripted scene through the real pipeline (replay detector, SQLite store, evidence
writer) and hand back what was stored."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from detector import DetectorConfig, create_detector
from models.scripted import Scene, write_bundle
from pipeline.config import AppConfig
from pipeline.evidence import EvidenceWriter
from pipeline.process import ProcessResult, process_video
from pipeline.readers import open_source
from pipeline.records import IncidentRecord
from pipeline.sink import IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore

# STREETWATCH_TEST_READER=pyav runs every scripted scene through the packet reader.
READER = os.environ.get("STREETWATCH_TEST_READER", "opencv")
START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # a Monday


@dataclass
class Outcome:
    records: list[IncidentRecord]
    result: ProcessResult
    store: IncidentStore
    evidence_dir: Path
    failures: int


def zone(name: str = "no-parking", polygon: Any = None, **kwargs: Any) -> dict[str, Any]:
    return {
        "name": name,
        "rule": kwargs.pop("rule", "illegal_parking"),
        "polygon": polygon or [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
        **kwargs,
    }


def app_config(
    zones: list[dict[str, Any]], detections: Path | None = None, **camera: Any
) -> AppConfig:
    return AppConfig.model_validate(
        {
            "cameras": [
                {
                    "name": "cam-1",
                    "source": "unused.mp4",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "zones": zones,
                    "reader": READER,
                    **camera,
                }
            ],
            "detector": {"type": "replay", "model": str(detections) if detections else None},
        }
    )


def run_scene(
    scene: Scene,
    zones: list[dict[str, Any]],
    tmp_path: Path,
    start: datetime = START,
    every_n_frames: int = 1,
    store: IncidentStore | None = None,
    name: str = "scene",
    video_override: Path | None = None,
    **camera: Any,
) -> Outcome:
    files = write_bundle(scene, tmp_path / "scene", name, every_n_frames)
    app = app_config(zones, files["detections"], **camera)
    if store is None:
        engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
        migrate(engine)
        store = IncidentStore(engine)
    evidence_dir = tmp_path / "evidence"
    sink = IncidentSink(EvidenceWriter(evidence_dir), store)
    detector = create_detector(DetectorConfig(type="replay", model=files["detections"]))
    with open_source(app.cameras[0], str(video_override or files["video"])) as source:
        try:
            result = process_video(source, app, app.cameras[0], detector, sink, start, store)
        finally:
            sink.close()
    records = [r for r in store.list_incidents("cam-1") if r.id in sink.stats.stored_ids]
    return Outcome(records, result, store, evidence_dir, sink.stats.failures)
