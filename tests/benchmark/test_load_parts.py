"""The load test's pieces that need no server: the open-loop schedule, the looped parking
script, and how alerts and latencies are counted."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.benchmark.load import LoadOptions, alert_figures
from pipeline.benchmark.load_clients import (
    ClientPlan,
    Listener,
    Received,
    Sample,
    request_path,
    schedule,
)
from pipeline.benchmark.load_report import RouteFigures
from pipeline.benchmark.load_scene import LOOP_S, SPOTS, looped_parking


def _plan(clients: int, rate: float, seconds: float) -> ClientPlan:
    return ClientPlan("http://x", ["t"] * clients, 0, clients, rate, seconds, 100.0, ["a"], ["c"])


def test_schedule_sums_to_the_rate_evenly_spaced() -> None:
    plan = _plan(clients=20, rate=40, seconds=3)
    times = sorted(t for c in range(20) for t in schedule(c, plan))
    assert len(times) == 120
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(times)}
    assert gaps == {0.025}
    assert times[0] == 100.0 and times[-1] < 103.0


def test_request_paths_are_of_their_kind() -> None:
    plan = _plan(1, 1, 1)
    rng = random.Random(1)
    assert request_path("detail", rng, plan) == "/api/incidents/a"
    assert request_path("evidence", rng, plan).startswith("/api/evidence/a/")
    assert request_path("list", rng, plan).startswith("/api/incidents?")


def test_a_stay_across_the_loop_end_continues_at_its_start() -> None:
    box, dx = SPOTS[0]
    actors = looped_parking(box, dx, arrive=LOOP_S - 3, loop_s=LOOP_S)
    assert len(actors) == 2
    seen = [[a.box_at(t) for a in actors if a.box_at(t) is not None] for t in (LOOP_S - 1, 1.0)]
    assert seen == [[box], [box]]
    assert all(a.box_at(LOOP_S + 1) is None for a in actors)


def test_alert_figures_count_per_listener_and_delivery_time() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    published = {"a": at, "b": at + timedelta(seconds=1)}

    def got(ids: list[str]) -> Listener:
        listener = Listener(0)
        for i in ids:
            when = published[i].timestamp() + 0.25
            listener.events.append(Received("incident.opened", i, published[i], when))
        return listener

    figures = alert_figures([got(["a", "b"]), got(["a"])], published)
    assert (figures.published, figures.received_min, figures.listeners_missing_some) == (2, 1, 1)
    assert not figures.all_delivered
    assert figures.delivery_p50_ms == pytest.approx(250, abs=1)


def test_unsent_requests_are_errors_without_a_latency() -> None:
    sent = Sample("list", 0.0, 0.0, 0.05, 200, 10)
    missed = Sample("list", 1.0, 2.5, 2.5, 0, 0, "not sent: client busy", True)
    figures = RouteFigures.of([sent, missed])
    assert (figures.requests, figures.errors, figures.max_ms) == (2, 1, 50.0)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="more client processes"):
        LoadOptions(clients=2, processes=3).check()
