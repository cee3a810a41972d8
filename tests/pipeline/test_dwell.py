"""Dwell timers keep their time for an object first seen truncated, then whole."""

from __future__ import annotations

from pipeline.dwell import DwellTimers, ZoneObject
from pipeline.geometry import Box

# Boxes from demo seed 31337: a car backs into the right-hand bay, is first tracked while
# still half out of the 640 px picture, then stands whole; later a truck passing in front
# hides its right end.
ENTERING: Box = (562, 170, 638, 226)
WHOLE: Box = (518, 169, 634, 225)
RIGHT_END_HIDDEN: Box = (518, 167, 624, 227)


def _car(box: Box, born_t: float = 0.0) -> ZoneObject:
    return ZoneObject("t1", box, ("car",), 0.9, born_t)


def _first_seen_after(boxes: list[Box]) -> float:
    timers = DwellTimers(tolerance=0.25, max_gap_s=10)
    for step, box in enumerate(boxes):
        seen = timers.update([_car(box)], t=step * 0.5).seen
    return seen[0].first_seen_t


def test_whole_box_seen_while_settling_becomes_the_reference() -> None:
    # Measured against the truncated first box, the partly hidden car has moved a quarter of
    # its height; measured against the whole car it has not moved at all.
    boxes = [ENTERING] + [WHOLE] * 20 + [RIGHT_END_HIDDEN]
    assert _first_seen_after(boxes) == 0.0


def test_a_box_uncovered_after_settling_becomes_the_reference() -> None:
    # Half hidden behind a stopped truck for 5 s, then whole when it leaves; later only the
    # left end shows. Against the half-hidden box that left end would be far off.
    half_hidden: Box = (562, 170, 634, 225)
    left_end: Box = (518, 169, 560, 225)
    assert _first_seen_after([half_hidden] * 10 + [WHOLE] * 10 + [left_end]) == 0.0


def test_a_vehicle_creeping_towards_the_camera_restarts_its_timer() -> None:
    # It grows a little every half second on all sides (nearer), and each box covers the
    # last: growth, but not out of one side, so it never becomes a new reference.
    boxes: list[Box] = []
    for k in range(60):
        scale = 1.012**k
        half_w, height = 50 * scale, 50 * scale
        bottom = 200 + 0.8 * k
        boxes.append((350 - half_w, bottom - height, 350 + half_w, bottom))
    assert _first_seen_after(boxes) > 0.0


def test_a_car_driving_off_still_restarts_its_timer() -> None:
    moved_on: Box = (470, 169, 586, 225)  # the whole car, 48 px further left
    assert _first_seen_after([ENTERING] + [WHOLE] * 5 + [moved_on]) == 3.0


def test_a_growing_box_that_does_not_cover_the_old_one_is_movement() -> None:
    # Nearer the camera and lower in the picture: larger, but not around the old box.
    nearer: Box = (500, 200, 640, 270)
    assert _first_seen_after([WHOLE] * 10 + [nearer]) == 5.0


def test_a_grown_reference_does_not_loosen_the_tolerance() -> None:
    # Seed 31337: a chair (22 px tall) is once detected merged with the vendor beside it,
    # 33 px tall. When the stall is packed up and the chair slides 6 px, it has moved more
    # than a quarter of its own height, though less than a quarter of the merged box's.
    chair: Box = (591, 129, 614, 151)
    merged: Box = (590, 118, 616, 151)
    slid: Box = (584, 129, 607, 152)
    assert _first_seen_after([chair] * 8 + [merged, slid]) == 4.5


def test_the_reference_settles_while_a_car_backs_into_its_bay() -> None:
    # Seed 7: first seen mid-manoeuvre at the left edge, lower and shorter than when parked;
    # later a truck leaving hides the parked car's left end.
    backing_in: list[Box] = [(0, 179, 88, 235), (1, 172, 116, 226)]
    parked: Box = (5, 169, 127, 224)
    left_end_hidden: Box = (38, 170, 125, 224)
    assert _first_seen_after(backing_in + [parked] * 30 + [left_end_hidden]) == 0.0


def test_a_car_creeping_forward_restarts_its_timer() -> None:
    # A fifth of its height every half second: still at each step, moving over the dwell.
    creeping: list[Box] = [(100 + 11 * k, 169, 220 + 11 * k, 224) for k in range(40)]
    assert _first_seen_after(creeping) > 10.0


def test_an_object_pushed_slowly_away_while_settling_restarts_its_timer() -> None:
    # Seed 31337: a stall's umbrella pushed off at a sixth of its height per half second.
    pushed: list[Box] = [(470 - 12 * k, 69, 558 - 12 * k, 143) for k in range(5)]
    assert _first_seen_after(pushed) > 0.0


def test_a_restored_timer_does_not_share_its_key_with_a_new_track() -> None:
    # After a restart the tracker numbers objects from 1 again: "t5" of the earlier run is
    # not "t5" of this one.
    timers = DwellTimers(tolerance=0.25, max_gap_s=10)
    saved = {
        "reference": list(WHOLE),
        "first_seen_t": -600.0,
        "last_seen_t": -1.0,
        "box": list(WHOLE),
        "classes": ["car"],
        "confidence": 0.9,
    }
    timers.restore("t5", saved, now_t=0.0)
    elsewhere: Box = (100, 170, 210, 225)
    for t in (0.0, 0.5):
        result = timers.update(
            [
                ZoneObject("t3", WHOLE, ("car",), 0.9, 0.0),
                ZoneObject("t5", elsewhere, ("car",), 0.9, 0.0),
            ],
            t=t,
        )
    keys = {c.key: c for c in result.seen}
    assert keys["t3"].first_seen_t == -600.0
    assert keys["t3"].incident_key != keys["t5"].incident_key
