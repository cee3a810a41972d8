"""The enforcement cycle on generated scenes: alert -> confirm -> dispatch -> resolve, then
the camera checks the spot: rectified (with an "after" picture), reopened, or a repeat."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from detector import DetectorConfig, create_detector
from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Actor, Scene, parked, write_bundle
from pipeline.evidence import EvidenceWriter
from pipeline.picture import FramePicture
from pipeline.process import process_video
from pipeline.readers import open_source
from pipeline.records import IncidentRecord
from pipeline.rectification import Outcome, RectificationOutcome, RectificationWatcher
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store import audit
from pipeline.store.db import make_engine, migrate
from pipeline.store.rectification_store import RectificationStore
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import AuditRow, EvidenceRow, IncidentRow
from pipeline.store.workflow import apply_action
from tests.api.conftest import make_record
from tests.pipeline.harness import START, app_config, zone

W, H, FPS = 480, 270, 5.0
SPOT = (60, 150, 160, 200)
VERIFY_S, GRACE_S, DWELL_S = 40.0, 10.0, 10.0


def car(arrive: float, leave: float) -> list[Actor]:
    return [parked("car", SPOT, arrive=arrive, leave=leave)]  # drives off in 3 s


def stall(arrive: float, leave: float) -> list[Actor]:
    """A vendor's umbrella, table and stool, set up at `arrive` and packed up at `leave`."""
    parts = {
        "umbrella": (300, 60, 380, 110),
        "dining table": (310, 105, 370, 135),
        "chair": (372, 110, 392, 138),
    }
    return [Actor(name, [(arrive, box), (leave, box)]) for name, box in parts.items()]


# Violator, its zone's rule, and how long it takes to be gone after `leave`.
KINDS = {
    "parked-car": (car, "illegal_parking", 3.0),
    "vendor": (stall, "street_vending", 0.0),
}


# Operator and patrol: confirm, dispatch, resolve (the camera then checks the spot).
RESOLVE_STEPS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("review", "confirmed", "operator", {"review_reason": None}),
    ("dispatch", "dispatched", "operator", {"team": "team-1"}),
    ("resolve", "resolved", "patrol", {"resolution_note": "asked to move"}),
]


def resolve_on_alert(engine: Engine, resolved: list[str]) -> object:
    """A sink listener playing operator and patrol: each new incident is confirmed,
    dispatched and resolved as soon as it is stored (the camera then checks the spot)."""

    def on_stored(record: IncidentRecord) -> None:
        with Session(engine) as session, session.begin():
            for action, target, actor, changes in RESOLVE_STEPS:
                apply_action(session, record.id, action, target, actor, changes)
        resolved.append(record.id)

    return on_stored


class WaitsForThePatrol(Detector):
    """Replays detections, but holds a frame back while an opened incident is not yet
    resolved. The video is read faster than real time while the sink stores and resolves on
    its own thread; without this, a loaded machine resolves late in video time and the
    check never gets the frames it needs."""

    def __init__(self, inner: Detector, opened: list[str], resolved: list[str]) -> None:
        self.inner, self.opened, self.resolved = inner, opened, resolved

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inner.class_names

    @property
    def reads_pixels(self) -> bool:
        return self.inner.reads_pixels

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        deadline = time.monotonic() + 30
        while len(self.resolved) < len(self.opened) and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.inner.detect(frames)


class CountingSink(IncidentSink):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened_ids: list[str] = []

    def opened(self, record: IncidentRecord, pictures: AlertPictures) -> None:
        self.opened_ids.append(record.id)
        super().opened(record, pictures)


def run(
    scene: Scene,
    tmp_path: Path,
    name: str,
    engine: Engine,
    start: datetime,
    resolve: bool,
    rule: str = "illegal_parking",
) -> list[str]:
    files = write_bundle(scene, tmp_path / "scene", name)
    app = app_config([zone(rule=rule, dwell_s=DWELL_S)], files["detections"]).model_copy(
        update={
            "rectification": app_config([]).rectification.model_copy(
                update={"verify_s": VERIFY_S, "reopen_grace_s": GRACE_S}
            )
        }
    )
    store = IncidentStore(engine)
    resolved: list[str] = []
    listeners = [resolve_on_alert(engine, resolved)] if resolve else []
    sink = CountingSink(EvidenceWriter(tmp_path / "evidence"), store, listeners)
    detector: Detector = create_detector(DetectorConfig(type="replay", model=files["detections"]))
    if resolve:
        detector = WaitsForThePatrol(detector, sink.opened_ids, resolved)
    with open_source(app.cameras[0], str(files["video"])) as source:
        try:
            process_video(source, app, app.cameras[0], detector, sink, start, store)
        finally:
            sink.close()
    assert sink.stats.failures == 0
    return sorted(sink.stats.stored_ids)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    return engine


def incident(engine: Engine, incident_id: str) -> IncidentRow:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        _ = row.evidence  # load before the session closes
        return row


def camera_audit(engine: Engine, incident_id: str) -> list[AuditRow]:
    with Session(engine) as session:
        query = select(AuditRow).where(
            AuditRow.incident_id == incident_id, AuditRow.actor == "camera"
        )
        return list(session.scalars(query))


@pytest.mark.parametrize("kind", KINDS)
def test_spot_that_stays_clear_is_rectified_with_an_after_picture(
    tmp_path: Path, engine: Engine, kind: str
) -> None:
    actors, rule, drive_off_s = KINDS[kind]
    # It arrives at 5 s (alert at 15 s, resolved at once) and leaves at 22 s, within the
    # grace period; the street then stays empty.
    scene = Scene(W, H, FPS, 100.0, actors(5, 22), seed=5)
    [incident_id] = run(scene, tmp_path, "clear", engine, START, resolve=True, rule=rule)

    row = incident(engine, incident_id)
    assert row.status == "rectified"
    assert row.verify_started_at is not None and row.rectified_at is not None
    # Clear once it has gone, or from the start of the check if that came later;
    # rectified VERIFY_S after that.
    clear_from = max(22.0 + drive_off_s, (row.verify_started_at - START).total_seconds())
    clear_for = (row.rectified_at - START).total_seconds() - clear_from
    assert clear_for == pytest.approx(VERIFY_S, abs=3.0)
    [after] = [e for e in row.evidence if e.kind == "after"]
    data = (tmp_path / "evidence" / after.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == after.sha256 and data[:2] == b"\xff\xd8"
    [entry] = camera_audit(engine, incident_id)
    assert entry.action == "incident.rectify"
    assert entry.detail["from"] == "resolved" and "clear for" in entry.detail["reason"]
    assert audit.verify_chain(engine) == []


@pytest.mark.parametrize("kind", KINDS)
def test_violator_still_there_when_the_check_starts_reopens(
    tmp_path: Path, engine: Engine, kind: str
) -> None:
    actors, rule, _ = KINDS[kind]
    scene = Scene(W, H, FPS, 80.0, actors(5, 200), seed=6)
    [incident_id] = run(scene, tmp_path, "stays", engine, START, resolve=True, rule=rule)

    row = incident(engine, incident_id)
    assert row.status == "reopened"
    assert row.reopened_at is not None and row.rectified_at is None
    assert not [e for e in row.evidence if e.kind == "after"]
    [entry] = camera_audit(engine, incident_id)
    assert entry.action == "incident.reopen" and "still there" in entry.detail["reason"]
    # A reopened incident goes back to the dispatch queue.
    with Session(engine) as session, session.begin():
        again = apply_action(session, incident_id, "dispatch", "dispatched", "supervisor")
        assert again.status == "dispatched"


def test_vendor_back_the_next_day_is_a_new_incident_linked_as_a_repeat(
    tmp_path: Path, engine: Engine
) -> None:
    rule = "street_vending"
    day_one = Scene(W, H, FPS, 100.0, stall(5, 22), seed=5)
    [first] = run(day_one, tmp_path, "day1", engine, START, resolve=True, rule=rule)
    assert incident(engine, first).status == "rectified"

    day_two = Scene(W, H, FPS, 40.0, stall(5, 35), seed=7)
    next_day = START + timedelta(days=1)
    [second] = run(day_two, tmp_path, "day2", engine, next_day, resolve=False, rule=rule)
    row = incident(engine, second)
    assert row.repeat_of == first
    assert row.status == "new"


def test_return_the_same_day_after_rectification_is_a_repeat(
    tmp_path: Path, engine: Engine
) -> None:
    day_one = Scene(W, H, FPS, 100.0, [parked("car", SPOT, arrive=5, leave=22)], seed=5)
    [first] = run(day_one, tmp_path, "morning", engine, START, resolve=True)
    assert incident(engine, first).status == "rectified"
    later = START + timedelta(hours=3)  # same day: only the rectification makes it a repeat
    back = Scene(W, H, FPS, 40.0, [parked("car", SPOT, arrive=5, leave=35)], seed=8)
    [second] = run(back, tmp_path, "afternoon", engine, later, resolve=False)
    assert incident(engine, second).repeat_of == first


def test_same_day_return_without_rectification_is_no_repeat(tmp_path: Path, engine: Engine) -> None:
    # Without a rectification, a return on the same day is not linked (the lunch-break case).
    day_one = Scene(W, H, FPS, 40.0, [parked("car", SPOT, arrive=5, leave=35)], seed=5)
    [first] = run(day_one, tmp_path, "morning", engine, START, resolve=False)
    back = Scene(W, H, FPS, 40.0, [parked("car", SPOT, arrive=5, leave=35)], seed=8)
    [second] = run(back, tmp_path, "afternoon", engine, START + timedelta(hours=3), resolve=False)
    assert incident(engine, first).status == "new"
    assert incident(engine, second).repeat_of is None
    with Session(engine) as session:
        assert session.scalar(select(EvidenceRow).where(EvidenceRow.kind == "after")) is None


def test_a_conclusion_lost_to_a_database_outage_is_checked_again_once_it_is_back(
    tmp_path: Path,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = IncidentStore(engine)
    store.ensure_incident(make_record("inc-1", camera="cam-1", zone="no-parking"), None)
    with Session(engine) as session, session.begin():
        for action, target, actor, changes in RESOLVE_STEPS:
            apply_action(session, "inc-1", action, target, actor, changes)
    clear_street = cv2.imencode(".jpg", np.full((90, 160, 3), 128, np.uint8))[1].tobytes()
    outcome = RectificationOutcome(
        "inc-1", Outcome.rectified, START, "clear for 40 s", clear_street
    )

    def database_away(*args: Any) -> bool:
        raise OperationalError("UPDATE incidents", {}, Exception("connection refused"))

    down = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    monkeypatch.setattr(down.rectifications, "conclude", database_away)
    with caplog.at_level(logging.WARNING, logger="pipeline.sink"):
        down.rectification(outcome)
        down.close()
    assert down.stats.failures == 0
    assert "database unreachable" in caplog.text and "Traceback" not in caplog.text
    assert incident(engine, "inc-1").status == "resolved"
    assert [p for p in (tmp_path / "evidence").rglob("*.jpg")] == []  # no stray picture

    # Back: the camera's next poll finds the incident still waiting for its check.
    watcher = RectificationWatcher(
        "cam-1", RectificationStore(engine), app_config([]).rectification, rules=lambda: []
    )
    picture = FramePicture(np.full((90, 160, 3), 128, np.uint8), 85)
    watcher.observe([], 0.0, START, picture)
    assert watcher.watching == ["inc-1"]
    up = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    up.rectification(outcome)
    up.close()
    row = incident(engine, "inc-1")
    assert row.status == "rectified"
    assert [e.kind for e in row.evidence] == ["after"]
