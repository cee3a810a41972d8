"""Scenario videos for the demo model: the `models.scripted` key-framed scene, drawn with the
synthetic sprites, with truth events for `configs/demo.yaml`.

`demo_scenario(seed)` lays out (with seeded randomness) illegal-parking events in the curb lane,
vending stalls on the sidewalk, and distractors: through traffic, walking pedestrians, a short
stop at the curb (a car waiting at a light, shorter than the dwell), a bus that stops in front
of a parked car for a few seconds, and a vendor who packs up while a patrol car passes and
comes back.

Truth rule for an interrupted stall: an absence shorter than `SAME_EVENT_GAP_S` (60 s, the
zones' `merge_window_s` default) keeps one event from the first arrival to the final leave; a
longer absence would make the return a new event.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.scripted import Actor, Box, Image, Scene
from models.synthetic import Placed, draw_objects, stall_parts
from models.synthetic_scene import Layout, Look, apply_light, degrade, draw_background
from models.synthetic_sprites import Style

PARK_DWELL_S = 20.0  # configs/demo.yaml, zone curb-no-parking
VEND_DWELL_S = 40.0  # configs/demo.yaml, zone sidewalk
SAME_EVENT_GAP_S = 60.0
PARK_Y, LANE_A_Y, LANE_B_Y = 0.62, 0.745, 0.93  # ground rows, fractions of the height
STALL_Y = (0.39, 0.43)
WALK_Y = (0.33, 0.45)


@dataclass
class SynthActor(Actor):
    """An `Actor` drawn as a sprite; `absent` lists intervals where it is off the picture."""

    style: Style = field(default_factory=lambda: Style((128, 128, 128), (90, 90, 90)))
    z_bias: float = 0.0
    absent: list[tuple[float, float]] = field(default_factory=list)

    def box_at(self, t: float) -> Box | None:
        if any(a <= t < b for a, b in self.absent):
            return None
        return super().box_at(t)


@dataclass
class SynthScene(Scene):
    """A `Scene` whose actors are drawn with the synthetic sprites under one `Look`."""

    look: Look = field(default_factory=Look.day)
    notes: list[dict[str, Any]] = field(default_factory=list)  # distractors, for tests and docs

    def _background(self) -> Image:
        return draw_background(Layout.demo(self.width, self.height), random.Random(self.seed))

    def _draw(self, background: Image, t: float) -> Image:
        img = background.copy()
        placed = []
        for actor, box in self.objects_at(t):
            style = (
                actor.style
                if isinstance(actor, SynthActor)
                else Style((128, 128, 128), (90, 90, 90))
            )
            z = box[3] + (actor.z_bias if isinstance(actor, SynthActor) else 0.0)
            placed.append(Placed(actor.class_name, box, style, z))
        placed.sort(key=lambda p: p.z)
        _, lights = draw_objects(img, None, placed)
        frame_rng = np.random.default_rng([self.seed, int(t * 1000)])
        return np.ascontiguousarray(
            degrade(apply_light(img, self.look, lights), self.look, frame_rng, jpeg=False)
        )


def _shift(box: Box, dx: float, dy: float = 0.0) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _union(boxes: list[Box]) -> list[float]:
    return [
        round(min(b[0] for b in boxes), 1),
        round(min(b[1] for b in boxes), 1),
        round(max(b[2] for b in boxes), 1),
        round(max(b[3] for b in boxes), 1),
    ]


class _Builder:
    """Collects actors, truth events and distractor notes for one scenario."""

    def __init__(self, rng: random.Random, lay: Layout, duration: float, night: bool) -> None:
        self.rng, self.lay, self.duration, self.night = rng, lay, duration, night
        self.actors: list[Actor] = []
        self.truth: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def style(self) -> Style:
        s = Style.random(self.rng)
        s.lights_on = self.night
        return s

    def mover(
        self, name: str, lane_y: float, t0: float, speed: float, leftward: bool
    ) -> SynthActor:
        """A vehicle or person crossing the whole picture along one row."""
        lay = self.lay
        box = lay.box(name, 0.0, lane_y * lay.height, self.rng.uniform(0.9, 1.1))
        w = box[2] - box[0]
        start, end = -w / 2 - 10, lay.width + w / 2 + 10
        if leftward:
            start, end = end, start
        style = self.style()
        style.flip = leftward
        frames = [(t0, _shift(box, start)), (t0 + (lay.width + w + 20) / speed, _shift(box, end))]
        actor = SynthActor(name, frames, style=style)
        self.actors.append(actor)
        return actor

    def stop(self, name: str, x: float, arrive: float, leave: float, from_left: bool) -> Box:
        """A vehicle that pulls in from lane A into the curb lane at `x` and stands there."""
        lay = self.lay
        box = lay.box(name, x, PARK_Y * lay.height, self.rng.uniform(0.95, 1.05))
        lane = lay.box(name, x, LANE_A_Y * lay.height)
        side = -1 if from_left else 1
        come, go = _shift(lane, 160 * side), _shift(lane, -160 * side)
        end = min(leave + 3, self.duration + 5)
        frames = [(arrive - 3, come), (arrive, box), (leave, box), (end, go)]
        style = self.style()
        style.flip = not from_left
        self.actors.append(SynthActor(name, frames, style=style))
        return box

    def event(self, zone: str, rule: str, arrive: float, leave: float, box: list[float]) -> None:
        """Record a truth event; stays shorter than the dwell (cut by the video end) are none."""
        leave = min(leave, self.duration)
        dwell = PARK_DWELL_S if rule == "illegal_parking" else VEND_DWELL_S
        if leave - arrive <= dwell:
            return
        self.truth.append(
            {
                "zone": zone,
                "type": rule,
                "arrive_s": round(arrive, 2),
                "leave_s": round(leave, 2),
                "box": box,
            }
        )


def _plan_parking(b: _Builder) -> list[tuple[float, float, float]]:
    """(x, arrive, leave) of every stop in the curb lane; the first stop of one slot is short."""
    rng, plan = b.rng, []
    short_slot = rng.randrange(5)
    for slot in range(5):
        x = (0.1 + 0.2 * slot) * b.lay.width
        t = rng.uniform(2, 25)
        if slot == short_slot:  # a car waiting at the light, well under the dwell
            stay = rng.uniform(6, PARK_DWELL_S - 8)
            plan.append((x, t, t + stay))
            b.notes.append(
                {"kind": "short_stop", "arrive_s": round(t, 2), "leave_s": round(t + stay, 2)}
            )
            t += stay + rng.uniform(8, 12)
        while t + PARK_DWELL_S + 12 <= b.duration:
            stay = rng.uniform(PARK_DWELL_S + 12, PARK_DWELL_S + 45)
            plan.append((x, t, t + stay))
            t += stay + rng.uniform(8, 18)
    return plan


def _add_parking(b: _Builder) -> tuple[float, float, float] | None:
    """Curb-lane stops; returns (x, arrive, leave) of a long stop for the bus to hide."""
    long_stops = []
    for x, arrive, leave in _plan_parking(b):
        name = "car" if b.rng.random() < 0.75 else "motorcycle"
        box = b.stop(name, x, arrive, leave, from_left=b.rng.random() < 0.5)
        if leave - arrive >= PARK_DWELL_S:
            b.event("curb-no-parking", "illegal_parking", arrive, leave, _union([box]))
            if leave - arrive >= 35 and arrive + 30 < b.duration:
                long_stops.append((x, arrive, leave))
    return b.rng.choice(long_stops) if long_stops else None  # None only in very short scenes


def _add_bus(b: _Builder, x: float, arrive: float, leave: float) -> tuple[float, float]:
    """A bus stops in lane A in front of a parked vehicle; returns its time window."""
    lay = b.lay
    t = arrive + b.rng.uniform(6, min(leave - arrive, b.duration - arrive) - 16)
    box = lay.box("truck", x, LANE_A_Y * lay.height, 1.1)
    style = b.style()
    style.variant, style.flip = 2, True
    right, left = _shift(box, lay.width - x + 160), _shift(box, -x - 160)
    frames = [(t - 4, right), (t, box), (t + 5, box), (t + 9, left)]
    b.actors.append(SynthActor("truck", frames, style=style))
    b.notes.append(
        {
            "kind": "occlusion",
            "hidden_from_s": round(t - 0.5, 2),
            "hidden_to_s": round(t + 5.5, 2),
            "x": round(x, 1),
        }
    )
    return t - 5, t + 10


def _stall_actor(
    b: _Builder, part: Placed, times: list[float], dx: float, gap: tuple[float, float] | None
) -> SynthActor:
    """One stall part: slides in, stands, optionally packs away for `gap`, slides out."""
    box, off = part.box, _shift(part.box, dx)
    arrive, leave = times
    frames: list[tuple[float, Box]] = [(arrive - 2, off), (arrive, box)]
    absent = []
    if gap is not None:
        frames += [(gap[0], box), (gap[0] + 2, off), (gap[1] - 2, off), (gap[1], box)]
        absent.append((gap[0] + 2, gap[1] - 2))
    frames += [(leave, box), (leave + 2, off)]
    z_bias = part.z - box[3]  # keeps goods on top of tables, umbrellas behind
    return SynthActor(part.class_name, frames, style=part.style, z_bias=z_bias, absent=absent)


def _add_stall(
    b: _Builder, x: float, arrive: float, leave: float, gap: tuple[float, float] | None
) -> None:
    lay, rng = b.lay, b.rng
    y = rng.uniform(*STALL_Y) * lay.height
    parts = stall_parts(rng, lay, x, y, rng.randint(0, 2))
    dx = rng.choice([-70.0, 70.0])
    for k, part in enumerate(parts):
        b.actors.append(_stall_actor(b, part, [arrive + 0.6 * k, leave - 0.3 * k], dx, gap))
    b.event("sidewalk", "street_vending", arrive, leave, _union([p.box for p in parts]))


def _add_stalls(b: _Builder) -> tuple[float, float]:
    """Four stalls; one packs up while a patrol car passes. Returns the patrol's time window."""
    rng, xs = b.rng, [0.13, 0.38, 0.63, 0.87]
    patrol_at = rng.randrange(4)
    window = (0.0, 0.0)
    for k, frac in enumerate(xs):
        x = (frac + rng.uniform(-0.02, 0.02)) * b.lay.width
        if k == patrol_at:
            arrive = rng.uniform(3, 12)
            go = arrive + VEND_DWELL_S + rng.uniform(8, 15)
            back = go + rng.uniform(20, 35)
            _add_stall(b, x, arrive, min(b.duration + 5, back + rng.uniform(40, 60)), (go, back))
            patrol = b.mover("car", LANE_A_Y, go - 2 - (b.lay.width - x) / 120, 120, leftward=True)
            patrol.style.main, patrol.style.second = (235, 235, 235), (200, 60, 20)
            b.notes.append(
                {
                    "kind": "patrol_return",
                    "away_from_s": round(go, 2),
                    "back_at_s": round(back, 2),
                    "same_event": back - go < SAME_EVENT_GAP_S,
                }
            )
            window = (go - 6, go + 8)
        else:
            arrive = rng.uniform(3, 45)
            _add_stall(b, x, arrive, arrive + rng.uniform(VEND_DWELL_S + 20, 110), None)
    return window


def _add_traffic(b: _Builder, busy: list[tuple[float, float]]) -> None:
    """Through traffic in both lanes (lane A keeps clear of the bus and the patrol) and
    pedestrians walking along the sidewalk."""
    rng = b.rng
    for lane, leftward in ((LANE_A_Y, True), (LANE_B_Y, False)):
        t = rng.uniform(0, 4)
        while t < b.duration:
            if not (leftward and any(a - 6 <= t <= c for a, c in busy)):
                name = rng.choices(["car", "motorcycle", "truck"], [0.55, 0.3, 0.15])[0]
                b.mover(name, lane, t, rng.uniform(90, 170), leftward)
            t += rng.uniform(4, 9)
    walkers = 0
    t = rng.uniform(0, 5)
    while t < b.duration - 5:
        person = b.mover("person", rng.uniform(*WALK_Y), t, rng.uniform(25, 45), rng.random() < 0.5)
        person.style.variant = 1
        walkers += 1
        t += rng.uniform(6, 14)
    b.notes.append({"kind": "through_traffic"})
    b.notes.append({"kind": "pedestrians", "count": walkers})


def demo_scenario(
    seed: int = 2024,
    width: int = 640,
    height: int = 360,
    fps: float = 10.0,
    duration_s: float = 150.0,
    look: Look | None = None,
) -> SynthScene:
    """A street for `configs/demo.yaml`: about 10 illegal-parking events and 4 vending events
    with distractors, placed with randomness fixed by `seed`."""
    rng = random.Random(f"demo-scenario-{seed}")  # a string seed: never a dataset picture seed
    look = look or Look.day()
    b = _Builder(rng, Layout.demo(width, height), duration_s, look.light != "day")
    hidden = _add_parking(b)
    busy = [_add_stalls(b)]
    if hidden is not None:
        busy.append(_add_bus(b, *hidden))
    _add_traffic(b, busy)
    truth = sorted(b.truth, key=lambda e: (e["arrive_s"], e["zone"]))
    return SynthScene(
        width, height, fps, duration_s, b.actors, truth, seed, look=look, notes=b.notes
    )
