"""An incident's spot follows its object, and a timer taken over keeps its incident."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.config import RuleType
from pipeline.dwell import DwellTimers, ZoneObject
from pipeline.geometry import Box
from pipeline.incidents import IncidentManager, IncidentOpened
from pipeline.rules import Violation
from tests.pipeline.harness import START, app_config, zone


def _manager() -> IncidentManager:
    camera = app_config([zone("sidewalk", rule="street_vending", dwell_s=40)]).cameras[0]
    return IncidentManager(camera, START)


def _violation(
    zone_name: str, rule: RuleType, key: str, box: Box, t: float, first_seen_t: float
) -> Violation:
    classes = ("umbrella",) if rule is RuleType.street_vending else ("car",)
    return Violation(zone_name, rule, key, first_seen_t, t, box, 0.9, classes, None)


def _stall(key: str, box: Box, t: float, first_seen_t: float) -> Violation:
    return _violation("sidewalk", RuleType.street_vending, key, box, t, first_seen_t)


def _car(key: str, box: Box, t: float, first_seen_t: float) -> Violation:
    return _violation("curb", RuleType.illegal_parking, key, box, t, first_seen_t)


def _opened(events: Sequence[object]) -> int:
    return sum(isinstance(e, IncidentOpened) for e in events)


def test_a_stall_bridged_for_a_moment_to_its_neighbour_keeps_its_own_spot() -> None:
    # Seed 31337: stall A is packed up, and for a frame its moving parts join stall B's
    # into one group. When stall B's own dwell runs out it is a new incident, not stall A's.
    manager = _manager()
    stall_a: Box = (503, 69, 614, 151)
    assert _opened(manager.observe([_stall("a", stall_a, 43.0, 3.0)], [], 43.0)) == 1
    bridged = _stall("a", (359, 71, 607, 158), 56.0, 3.0)
    assert _opened(manager.observe([bridged], [], 56.0)) == 0
    stall_b = _stall("b", (349, 77, 464, 159), 66.0, 26.0)
    assert _opened(manager.observe([stall_b], [], 66.0)) == 1


def test_a_timer_taken_over_keeps_reporting_under_the_old_key() -> None:
    timers = DwellTimers(tolerance=0.25, max_gap_s=10)
    whole: Box = (520, 173, 633, 224)
    for step in range(8):
        timers.update([ZoneObject("t69", whole, ("car",), 0.9, 0.0)], t=step * 0.5)
    # The track is lost behind a truck; a new identity is born at the spot with only the
    # right end of the car visible, and is seen standing there twice.
    right_end: Box = (551, 173, 633, 225)
    for t in (6.0, 6.5):
        seen = timers.update([ZoneObject("t307", right_end, ("car",), 0.9, 6.0)], t=t).seen
    assert seen[0].first_seen_t == 0.0
    assert seen[0].incident_key == "t69"


def test_a_lasting_change_of_box_moves_the_spot() -> None:
    # The alert fires while a van hides most of the car; the van leaves and the whole car
    # stands there for seconds. Later the car, hidden longer than the gap, comes back under
    # a new identity: it continues the incident, because the spot took the whole car's box.
    camera = app_config([zone("curb", dwell_s=20, max_gap_s=10)]).cameras[0]
    manager = IncidentManager(camera, START)
    partial: Box = (300, 150, 350, 205)
    whole: Box = (225, 150, 350, 205)

    assert _opened(manager.observe([_car("a", partial, 30.0, 10.0)], [], 30.0)) == 1
    for step in range(8):
        manager.observe([_car("a", whole, 30.5 + step * 0.5, 10.0)], [], 30.5 + step * 0.5)
    manager.observe([], [("curb", "a")], 45.0)  # hidden by a bus: the incident ends
    back = _car("b", whole, 70.0, 50.0)
    assert _opened(manager.observe([back], [], 70.0)) == 0
