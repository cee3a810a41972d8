"""Incidents across runs: repeats on later days, abandoned-vehicle timers across restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from models.scripted import Actor, Scene, parked
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.pipeline.harness import START, run_scene, zone

W, H = 480, 270
SPOT = (60, 150, 160, 200)


def _store(tmp_path: Path) -> IncidentStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    migrate(engine)
    return IncidentStore(engine)


def test_same_spot_on_a_later_day_links_as_repeat(tmp_path: Path) -> None:
    store = _store(tmp_path)
    scene = Scene(W, H, 10.0, 30.0, [parked("car", SPOT, arrive=3, leave=28)], seed=1)
    first = run_scene(scene, [zone(dwell_s=10)], tmp_path / "d1", store=store)
    same_day = run_scene(
        scene, [zone(dwell_s=10)], tmp_path / "d1b", store=store, start=START + timedelta(hours=3)
    )
    next_day = run_scene(
        scene, [zone(dwell_s=10)], tmp_path / "d2", store=store, start=START + timedelta(days=1)
    )
    elsewhere = Scene(
        W, H, 10.0, 30.0, [parked("car", (300, 150, 400, 200), arrive=3, leave=28)], seed=1
    )
    other_spot = run_scene(
        elsewhere, [zone(dwell_s=10)], tmp_path / "d3", store=store, start=START + timedelta(days=2)
    )
    [a], [b], [c], [d] = first.records, same_day.records, next_day.records, other_spot.records
    assert a.repeat_of is None
    assert b.repeat_of is None  # later the same day is not a repeat
    assert c.repeat_of == b.id  # the most recent earlier-day incident at that spot
    assert d.repeat_of is None


def test_abandoned_vehicle_timer_survives_a_restart(tmp_path: Path) -> None:
    # Two consecutive recordings of one camera, with a 20 s outage between them: the car
    # stands through both; the 60 s dwell is only reached in the second file.
    store = _store(tmp_path)
    abandoned = zone("lane", rule="abandoned_vehicle", dwell_s=60, max_gap_s=30)
    part1 = Scene(W, H, 10.0, 40.0, [Actor("car", [(5, SPOT), (40, SPOT)])], seed=1)
    part2 = Scene(W, H, 10.0, 40.0, [Actor("car", [(0, SPOT), (40, SPOT)])], seed=2)
    first = run_scene(part1, [abandoned], tmp_path / "p1", store=store)
    assert first.records == []
    assert store.load_dwell_states("cam-1")["lane"], "the timer was not saved"
    second = run_scene(
        part2, [abandoned], tmp_path / "p2", store=store, start=START + timedelta(seconds=60)
    )
    [rec] = second.records
    # Stood since 10:00:05, so the alert is due at 10:01:05, i.e. 5 s into the second file.
    assert rec.first_seen_at == START + timedelta(seconds=5)
    assert (rec.alert_at - rec.first_seen_at).total_seconds() == pytest.approx(60, abs=1.5)
    third = run_scene(
        part2, [abandoned], tmp_path / "p3", store=store, start=START + timedelta(seconds=120)
    )
    assert third.records == [], "the restarted run raised a second incident for the same car"
    assert store.get_incident(rec.id) is not None


def test_restart_without_the_car_does_not_resume_its_timer(tmp_path: Path) -> None:
    store = _store(tmp_path)
    abandoned = zone("lane", rule="abandoned_vehicle", dwell_s=60, max_gap_s=30)
    part1 = Scene(W, H, 10.0, 40.0, [Actor("car", [(5, SPOT), (40, SPOT)])], seed=1)
    other = (300, 150, 400, 200)
    empty = Scene(W, H, 10.0, 40.0, [Actor("car", [(0, other), (40, other)])], seed=2)
    run_scene(part1, [abandoned], tmp_path / "p1", store=store)
    second = run_scene(
        empty, [abandoned], tmp_path / "p2", store=store, start=START + timedelta(seconds=60)
    )
    assert second.records == []
    # The first car's saved timer expired unclaimed; only the other car's timer is kept.
    saved = store.load_dwell_states("cam-1").get("lane", {}).values()
    assert all(state["reference"][0] >= 290 for state in saved)
