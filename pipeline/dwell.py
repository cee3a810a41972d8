"""Dwell timers: how long each object has stood still at one spot.

A candidate is a tracked object at a reference position. It keeps its timer while it stays
within the stationary tolerance of that position and is seen again within `max_gap_s`.

- For its first `SETTLE_S` the reference follows the box, as long as the box stays within the
  tolerance of the first one: a car backing into a bay is first seen mid-manoeuvre, and its
  settled box, not that first glimpse, is where it stands.
- Afterwards a box that grows around the reference, out of one side (a car first seen half
  out of the picture or half behind another vehicle, then whole), becomes the new reference;
  a vehicle creeping towards the camera grows on every side and does not. Without this a partial
  box would stay the reference, and the parked car, partly hidden later by a passing bus, would
  look moved. The tolerance stays in units of the settled box's height: a grown box
  may be two objects merged (a chair and the person by it), whose height would loosen it.
- Moving away ends the candidate: the spot was seen vacated. If the object stops again, a new
  timer starts there.
- An identity that simply vanishes (detector flicker, a bus in front) leaves its candidate
  unclaimed for `max_gap_s`. A new identity born at that spot takes the old timer over, but
  only once it has been seen standing there twice: a car passing through the spot never
  inherits a parked car's time. Its violations keep the old key, so the incident goes on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pipeline.geometry import (
    Box,
    as_box,
    box_area,
    iou,
    overlap_of_smaller,
    stillness_offset,
)

RESTORED_MARK = "@restored-"  # restored timers' keys: the saved key, this, a random suffix
VACATE_IOU = 0.15  # a same-size box this close to an empty spot's position passes through it
SETTLE_S = 3.0  # a vehicle parking is still shifting this long after it is first seen
GROWN_AREA = 1.15  # a still box this much larger than the reference, around it, replaces it
AROUND_REFERENCE = 0.9  # share of the reference that the grown box must cover
ONE_SIDE_SHARE = 0.25  # the other edges of a grown box move at most this share of the most


def _height(box: Box) -> float:
    return box[3] - box[1]


def _grown_around(box: Box, reference: Box) -> bool:
    """The reference was a truncated view of this box: it is larger, covers the reference, and
    grew out of one side (what hid the rest left, or the object came in from the edge).

    A vehicle creeping towards the camera grows too, and may cover its old box, but all its
    edges move outwards: growth on one side only tells the two apart."""
    if box_area(box) < GROWN_AREA * box_area(reference):
        return False
    if overlap_of_smaller(box, reference) < AROUND_REFERENCE:
        return False
    moves = sorted(abs(b - r) for b, r in zip(box, reference, strict=True))
    return moves[2] <= ONE_SIDE_SHARE * moves[3]


@dataclass(frozen=True, slots=True)
class ZoneObject:
    """One tracked object the rule watches this frame."""

    key: str
    box: Box
    classes: tuple[str, ...]
    confidence: float
    born_t: float


@dataclass(slots=True)
class Candidate:
    key: str
    reference: Box
    first_seen_t: float
    last_seen_t: float
    box: Box
    classes: tuple[str, ...]
    confidence: float
    snapshot: Any = None  # the first-seen picture (opaque to this module)
    max_confidence: float = 0.0
    observations: int = 1
    inherits: Candidate | None = None  # an unclaimed timer at this spot, taken on confirmation
    yardstick: float | None = None  # the settled reference's height, the tolerance's unit
    settles_at: float = 0.0  # until then the reference follows the box (still parking)
    first_box: Box | None = None  # while settling, stillness is judged against this
    lineage: str = ""  # the key of the timer this one took over, if any

    @property
    def incident_key(self) -> str:
        """The key its violations carry: a timer taken over keeps reporting as the object it
        was, so the incident continues even when the new identity's box is partly hidden
        and no longer looks like the incident's spot."""
        return self.lineage or self.key

    def offset(self, box: Box, t: float) -> float:
        """How far `box` stands from where the object stands, in tolerance units."""
        if t <= self.settles_at and self.first_box is not None:
            return stillness_offset(self.first_box, box)
        return stillness_offset(self.reference, box, self.yardstick)

    @property
    def age(self) -> float:
        return self.last_seen_t - self.first_seen_t

    def state(self) -> dict[str, Any]:
        """Plain data for storing long timers across restarts (snapshot excluded)."""
        return {
            "reference": list(self.reference),
            "first_seen_t": self.first_seen_t,
            "last_seen_t": self.last_seen_t,
            "box": list(self.box),
            "classes": list(self.classes),
            "confidence": self.max_confidence,
        }


@dataclass(slots=True)
class DwellResult:
    seen: list[Candidate] = field(default_factory=list)  # candidates observed this frame
    dropped: list[Candidate] = field(default_factory=list)  # moved away or gone too long


class DwellTimers:
    """Per-zone candidates keyed by object key.

    >>> timers = DwellTimers(tolerance=0.25, max_gap_s=10)
    >>> car = ZoneObject("t1", (0, 0, 10, 10), ("car",), 0.9, 0.0)
    >>> _ = timers.update([car], t=0.0)
    >>> timers.update([car], t=5.0).seen[0].first_seen_t
    0.0
    """

    def __init__(self, tolerance: float, max_gap_s: float) -> None:
        if tolerance <= 0 or max_gap_s < 0:
            raise ValueError(
                f"tolerance must be > 0 and max_gap_s >= 0, got {tolerance}, {max_gap_s}"
            )
        self.tolerance = tolerance
        self.max_gap_s = max_gap_s
        self.active: dict[str, Candidate] = {}
        self.restored: list[Candidate] = []  # timers loaded after a restart, waiting for a track

    def update(self, objects: list[ZoneObject], t: float, snapshot: Any = None) -> DwellResult:
        result = DwellResult()
        keys = {obj.key for obj in objects}
        for obj in objects:
            result.seen.append(self._observe(obj, t, snapshot, keys, result))
        self._vacate(result, keys)
        for key in [k for k in self.active if k not in keys]:
            if t - self.active[key].last_seen_t > self.max_gap_s:
                result.dropped.append(self.active.pop(key))
        expired = [c for c in self.restored if t - c.last_seen_t > self.max_gap_s]
        self.restored = [c for c in self.restored if c not in expired]
        result.dropped.extend(expired)
        return result

    def clear(self) -> list[Candidate]:
        gone = list(self.active.values()) + self.restored
        self.active.clear()
        self.restored.clear()
        return gone

    def _observe(
        self, obj: ZoneObject, t: float, snapshot: Any, keys: set[str], result: DwellResult
    ) -> Candidate:
        cand = self.active.get(obj.key)
        if cand is not None and cand.offset(obj.box, t) <= self.tolerance:
            self._refresh(cand, obj, t)
            if cand.inherits is not None:
                self._take_over(cand, keys)
            return cand
        if cand is not None:
            result.dropped.append(self.active.pop(obj.key))  # it moved: the spot was vacated
        fresh = Candidate(
            key=obj.key,
            reference=obj.box,
            first_seen_t=t,
            last_seen_t=t,
            box=obj.box,
            classes=obj.classes,
            confidence=obj.confidence,
            snapshot=snapshot,
            max_confidence=obj.confidence,
            yardstick=_height(obj.box),
            settles_at=t + SETTLE_S,
            first_box=obj.box,
        )
        if obj.born_t >= t - 1e-6:  # born here, at this frame: maybe the same object as before
            fresh.inherits = self._unclaimed_at(obj.box, keys)
        self.active[obj.key] = fresh
        return fresh

    def _vacate(self, result: DwellResult, keys: set[str]) -> None:
        """Drop unclaimed timers whose spot something of the same size is moving through:
        in stop-and-go traffic the next car rolls into the spot the last one left, and must
        not inherit its time."""
        movers = [c for c in result.seen if c.observations == 1]
        if not movers:
            return
        for cand in self._unclaimed(keys):
            if any(self._passes_through(m.box, cand.reference) for m in movers):
                self._forget(cand)
                result.dropped.append(cand)

    def _passes_through(self, box: Box, reference: Box) -> bool:
        ratio = box_area(box) / max(box_area(reference), 1e-6)
        return (
            0.5 <= ratio <= 2.0
            and iou(box, reference) >= VACATE_IOU
            and stillness_offset(reference, box) > self.tolerance
        )

    def _unclaimed(self, keys: set[str]) -> list[Candidate]:
        return self.restored + [c for c in self.active.values() if c.key not in keys]

    def _forget(self, cand: Candidate) -> None:
        if cand in self.restored:
            self.restored.remove(cand)
        elif self.active.get(cand.key) is cand:
            del self.active[cand.key]

    def _take_over(self, cand: Candidate, keys: set[str]) -> None:
        """Second sighting at the spot: the newborn is standing still, take the old timer."""
        heir = cand.inherits
        cand.inherits = None
        if heir is None or not self._still_unclaimed(heir, keys):
            return
        self._forget(heir)
        cand.first_seen_t = min(cand.first_seen_t, heir.first_seen_t)
        cand.lineage = heir.incident_key
        cand.snapshot = heir.snapshot if heir.snapshot is not None else cand.snapshot
        cand.observations += heir.observations
        cand.max_confidence = max(cand.max_confidence, heir.max_confidence)

    def _still_unclaimed(self, heir: Candidate, keys: set[str]) -> bool:
        if heir in self.restored:
            return True
        return self.active.get(heir.key) is heir and heir.key not in keys

    def _unclaimed_at(self, box: Box, keys: set[str]) -> Candidate | None:
        """The closest candidate at this spot that was seen standing (twice) and whose own
        identity is not in this frame."""
        pool = self._unclaimed(keys)
        best: Candidate | None = None
        best_offset = self.tolerance
        for cand in (c for c in pool if c.observations >= 2):
            offset = stillness_offset(cand.reference, box)
            if offset <= best_offset:
                best, best_offset = cand, offset
        return best

    @staticmethod
    def _refresh(cand: Candidate, obj: ZoneObject, t: float) -> None:
        cand.last_seen_t = t
        cand.observations += 1
        if t <= cand.settles_at:
            cand.reference = obj.box
            cand.yardstick = _height(obj.box)
        elif _grown_around(obj.box, cand.reference):
            cand.reference = obj.box
        cand.box = obj.box
        cand.classes = obj.classes
        cand.confidence = obj.confidence
        cand.max_confidence = max(cand.max_confidence, obj.confidence)

    def restore(self, key: str, state: dict[str, Any], now_t: float) -> None:
        """Put back a timer saved by `Candidate.state()`, its times already moved into this
        stream's time base. It waits, from `now_t`, for a track born at its spot.

        It gets a key of its own: the saved one is a track number of the earlier run, which
        this run's tracker hands out again to other objects."""
        base = key.split(RESTORED_MARK, 1)[0]
        self.restored.append(
            Candidate(
                key=f"{base}{RESTORED_MARK}{uuid.uuid4().hex[:8]}",
                reference=as_box(state["reference"]),
                first_seen_t=float(state["first_seen_t"]),
                last_seen_t=now_t,
                box=as_box(state["box"]),
                classes=tuple(state["classes"]),
                confidence=float(state["confidence"]),
                max_confidence=float(state["confidence"]),
                observations=2,
            )
        )
