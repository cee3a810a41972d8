"""Acceptance scenes for the core pipeline: scripted video + replay detections, end to end."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest

from models.scripted import Actor, Scene, parked
from tests.pipeline.harness import run_scene, zone

pytestmark = pytest.mark.usefixtures("each_reader")

W, H = 480, 270
LANE = (60, 150, 160, 200)  # where the parked car stands


def through(t0: float, y: float = 150, speed: float = 120.0) -> Actor:
    """A car driving across the whole picture from left to right."""
    span = (W + 200) / speed
    return Actor("car", [(t0, (-100, y, 0, y + 50)), (t0 + span, (W + 100, y, W + 200, y + 50))])


def basic_scene(drop_rate: float = 0.0, hidden: list[tuple[float, float]] | None = None) -> Scene:
    actors = [
        parked("car", LANE, arrive=5, leave=35, drop_rate=drop_rate, hidden=hidden or []),
        through(8, y=210),
        parked("car", (300, 150, 400, 200), arrive=20, leave=25, approach=(480, 150, 580, 200)),
    ]
    return Scene(W, H, 10.0, 45.0, actors, seed=3)


def test_parked_car_gives_one_incident_with_verified_evidence(tmp_path: Path) -> None:
    out = run_scene(basic_scene(), [zone(dwell_s=10)], tmp_path)
    assert out.failures == 0
    assert len(out.records) == 1
    rec = out.records[0]
    assert rec.alert_s - 5.0 == pytest.approx(10.0, abs=1.0)
    assert rec.first_seen_s == pytest.approx(5.0, abs=1.0)
    assert rec.last_seen_s == pytest.approx(35.0, abs=1.5)
    kinds = {e.kind.value for e in rec.evidence}
    assert kinds == {"first_seen", "alert_annotated", "alert_clean", "clip"}
    for ev in rec.evidence:
        data = (out.evidence_dir / ev.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == ev.sha256
        assert len(data) == ev.size_bytes
    clip = next(e for e in rec.evidence if e.kind.value == "clip")
    with av.open(str(out.evidence_dir / clip.path)) as container:
        stream = container.streams.video[0]
        frames = [f.time for f in container.decode(stream)]
    assert stream.codec_context.name == "h264"
    assert frames[-1] - frames[0] == pytest.approx(10.0, abs=0.5)  # 5 s before, 5 s after
    assert not list(out.evidence_dir.rglob(".tmp-*"))


def test_dropouts_and_a_six_second_gap_still_give_one_incident(tmp_path: Path) -> None:
    scene = basic_scene(drop_rate=0.3, hidden=[(18.0, 24.0)])
    out = run_scene(scene, [zone(dwell_s=10)], tmp_path)
    assert len(out.records) == 1
    assert out.records[0].alert_s == pytest.approx(15.0, abs=1.5)


def test_slow_stop_and_go_traffic_is_not_parking(tmp_path: Path) -> None:
    # A queue of cars, each crossing the zone in about 30 s (three times the dwell): they roll
    # one car length in 2 s, then wait 6 s, so each car stops where the one ahead stood.
    step, pause, move = 130.0, 6.0, 2.0
    actors = []
    for k in range(6):
        x0 = -130.0 - k * step
        frames: list[tuple[float, tuple[float, float, float, float]]] = []
        t, x = 0.0, x0
        while x < W + 10:
            frames.append((t, (x, 120.0, x + 120.0, 175.0)))
            frames.append((t + pause, (x, 120.0, x + 120.0, 175.0)))
            t, x = t + pause + move, x + step
        frames.append((t, (x, 120.0, x + 120.0, 175.0)))
        actors.append(Actor("car", frames))
    scene = Scene(W, H, 10.0, 90.0, actors, seed=5)
    out = run_scene(scene, [zone(dwell_s=10)], tmp_path)
    assert out.records == []


def test_duplicate_box_and_growing_box_give_one_incident_each(tmp_path: Path) -> None:
    dup = parked("car", (40, 150, 160, 205), arrive=4, leave=40)
    dup.extra_boxes = [(4, 40, (70, 150, 160, 205))]  # NMS leftover: the car's rear part
    # A car half hidden by the car in front: its box grows when that car drives off at 20 s.
    hidden_part = Actor("car", [(3, (300, 150, 350, 205)), (20, (300, 150, 350, 205))])
    grown = Actor("car", [(20.01, (260, 150, 350, 205)), (44, (260, 150, 350, 205))])
    front = parked("car", (240, 165, 330, 215), arrive=3, leave=20, approach=(240, 300, 330, 350))
    scene = Scene(W, H, 10.0, 45.0, [dup, hidden_part, grown, front], seed=9)
    out = run_scene(
        scene, [zone(dwell_s=10, polygon=[[0, 0], [1, 0], [1, 0.79], [0, 0.79]])], tmp_path
    )
    boxes = sorted(r.box[0] for r in out.records)
    assert len(out.records) == 2, [(r.box, r.first_seen_s) for r in out.records]
    assert boxes[0] < 200 < boxes[1]


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        (["08:00-18:00"], 1),  # START is 10:00 local: inside
        (["12:00-18:00"], 0),  # outside the window: nothing
        (["22:00-11:00"], 1),  # crosses midnight, 10:00 is inside
        (["22:00-09:00"], 0),  # crosses midnight, 10:00 is outside
    ],
)
def test_schedule_windows(tmp_path: Path, windows: list[str], expected: int) -> None:
    out = run_scene(basic_scene(), [zone(dwell_s=10, schedule={"windows": windows})], tmp_path)
    assert len(out.records) == expected


def test_schedule_weekday_of_a_window_crossing_midnight(tmp_path: Path) -> None:
    # Monday 10:00 falls in Sunday's 22:00-11:00 window, not in Monday's.
    sunday = zone(dwell_s=10, schedule={"weekdays": ["sun"], "windows": ["22:00-11:00"]})
    monday = zone(dwell_s=10, schedule={"weekdays": ["mon"], "windows": ["22:00-11:00"]})
    assert len(run_scene(basic_scene(), [sunday], tmp_path / "a").records) == 1
    assert len(run_scene(basic_scene(), [monday], tmp_path / "b").records) == 0


def test_car_waiting_at_a_light_shorter_than_dwell_gives_nothing(tmp_path: Path) -> None:
    scene = Scene(W, H, 10.0, 30.0, [parked("car", LANE, arrive=5, leave=13), through(3)], seed=4)
    assert run_scene(scene, [zone(dwell_s=10)], tmp_path).records == []


def test_vending_cluster_is_one_incident_with_the_union_box(tmp_path: Path) -> None:
    actors = [
        Actor("umbrella", [(4, (200, 40, 280, 90)), (60, (200, 40, 280, 90))]),
        Actor("dining table", [(5, (210, 85, 270, 115)), (60, (210, 85, 270, 115))], drop_rate=0.3),
        Actor("chair", [(6, (272, 90, 292, 118)), (60, (272, 90, 292, 118))], drop_rate=0.3),
        Actor("person", [(0, (0, 80, 20, 130)), (30, (480, 80, 500, 130))]),  # walks past
    ]
    scene = Scene(W, H, 10.0, 60.0, actors, seed=11)
    out = run_scene(scene, [zone("sidewalk", rule="street_vending", dwell_s=20)], tmp_path)
    assert len(out.records) == 1
    rec = out.records[0]
    assert rec.first_seen_s == pytest.approx(4.0, abs=1.0)
    assert rec.alert_s == pytest.approx(24.0, abs=1.0)
    assert "umbrella" in rec.object_classes


def test_ignore_region_and_minimum_box_size(tmp_path: Path) -> None:
    ignore = [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]  # covers the parked car's anchor
    assert run_scene(basic_scene(), [zone(dwell_s=10, ignore=ignore)], tmp_path / "a").records == []
    big = zone(dwell_s=10, min_box_size=0.5)  # the car is 50 px tall on a 270 px picture
    assert run_scene(basic_scene(), [big], tmp_path / "b").records == []
