"""Real footage and real detector output from ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector import DetectorConfig, create_detector
from pipeline.evidence import EvidenceWriter
from pipeline.process import process_video
from pipeline.sink import IncidentSink
from pipeline.sources import VideoSource
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.pipeline.harness import START, app_config, zone

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED / "highway-cctv.avi").exists(),
    reason=f"shared footage not found at {SHARED} (only present beside the project checkout in CI)",
)

CARRIAGEWAY = [[0.0, 0.25], [1.0, 0.25], [1.0, 1.0], [0.0, 1.0]]


def _process(tmp_path: Path, video: str, detections: str, dwell_s: float) -> tuple[int, float]:
    app = app_config([zone("carriageway", polygon=CARRIAGEWAY, dwell_s=dwell_s)])
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    store = IncidentStore(engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    detector = create_detector(DetectorConfig(type="replay", model=SHARED / detections))
    with VideoSource(str(SHARED / video)) as source:
        try:
            result = process_video(source, app, app.cameras[0], detector, sink, START, store)
        finally:
            sink.close()
    return sink.stats.incidents_written, result.stream_seconds


@needs_shared
@pytest.mark.shared_data
def test_highway_moving_traffic_gives_no_incident(tmp_path: Path) -> None:
    incidents, seconds = _process(tmp_path, "highway-cctv.avi", "highway-cctv.yolov5n.jsonl", 10)
    assert seconds == pytest.approx(30.0, abs=1.0)
    assert incidents == 0


@needs_shared
@pytest.mark.shared_data
def test_highway_moving_traffic_at_a_faster_detection_rate(tmp_path: Path) -> None:
    # Five detections a second give the tracker an easier time following cars; still nothing.
    app_rate = 5.0
    app = app_config([zone("carriageway", polygon=CARRIAGEWAY, dwell_s=10)], detect_fps=app_rate)
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), IncidentStore(engine))
    detector = create_detector(
        DetectorConfig(type="replay", model=SHARED / "highway-cctv.yolov5n.jsonl")
    )
    with VideoSource(str(SHARED / "highway-cctv.avi")) as source:
        try:
            process_video(source, app, app.cameras[0], detector, sink, START)
        finally:
            sink.close()
    assert sink.stats.incidents_written == 0
