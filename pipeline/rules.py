"""Zone rules: which tracked objects stand in a zone, still, past the dwell, inside the
schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pipeline.config import Category, RuleType, TrackingConfig, ZoneConfig
from pipeline.dwell import Candidate, DwellResult, DwellTimers, ZoneObject
from pipeline.geometry import Box, anchor_point, points_in_polygon, scale_polygon
from pipeline.picture import FramePicture
from pipeline.schedule import ScheduleCheck
from pipeline.tracking import Track
from pipeline.vending import Part, group_box, group_parts, is_stall


@dataclass(frozen=True, slots=True)
class Violation:
    """An object that has stood still in a zone for at least the dwell time, seen this frame."""

    zone: str
    rule: RuleType
    key: str
    first_seen_t: float
    t: float
    box: Box
    confidence: float
    classes: tuple[str, ...]
    first_seen_snapshot: FramePicture | None


@dataclass(frozen=True, slots=True)
class RuleOutput:
    violations: list[Violation]
    ended_keys: list[str]  # candidates gone for longer than max_gap_s


class ZoneRule:
    """One zone's rule for one camera resolution.

    >>> rule = ZoneRule(zone, "Asia/Ho_Chi_Minh", (1280, 720))  # doctest: +SKIP
    >>> out = rule.evaluate(tracks, t=12.0, moment=wall_clock, picture=picture)  # doctest: +SKIP
    """

    def __init__(
        self,
        zone: ZoneConfig,
        camera_timezone: str,
        frame_size: tuple[int, int],
        tracking: TrackingConfig | None = None,
    ) -> None:
        self.zone = zone
        self.tracking = tracking or TrackingConfig()
        width, height = frame_size
        self.frame_height = height
        self.polygon = scale_polygon(zone.polygon, width, height)
        self.ignore = [scale_polygon(p, width, height) for p in zone.ignore]
        self.schedule = ScheduleCheck(zone.schedule, camera_timezone)
        self.timers = DwellTimers(zone.stationary_tolerance, zone.max_gap_s)
        self.clusters = zone.rule is RuleType.street_vending
        self._people: set[str] = set()  # keys of tracked people, who join stalls but are none
        self.watched = set(zone.watched)

    def evaluate(
        self, tracks: list[Track], t: float, moment: datetime, picture: FramePicture | None = None
    ) -> RuleOutput:
        if not self.schedule.active(moment):
            # Outside its window the rule sees nothing; timers start afresh when it opens.
            ended = [c.incident_key for c in self.timers.clear()]
            return RuleOutput([], ended)
        eligible = self.eligible(tracks)
        objects = [
            ZoneObject(f"t{tr.id}", tr.box, (tr.class_name,), tr.confidence, tr.born_t)
            for tr in eligible
        ]
        result = self.timers.update(objects, t, picture)
        self._keep_first_seen_pictures(t)
        self._people |= {f"t{tr.id}" for tr in eligible if tr.category is Category.person}
        self._people &= set(self.timers.active)
        violations = (
            self._cluster_violations(result, t) if self.clusters else self._violations(result, t)
        )
        return RuleOutput(violations, [c.incident_key for c in result.dropped])

    def _keep_first_seen_pictures(self, t: float) -> None:
        # A timer's first-seen picture stays unencoded for one sample: moving traffic starts
        # a new timer every sample and drops it at the next, and never needs its picture.
        # One that lives on is encoded now, so it holds a JPEG rather than a raw frame.
        for cand in self.timers.active.values():
            if cand.first_seen_t < t and isinstance(cand.snapshot, FramePicture):
                cand.snapshot.jpeg()

    def eligible(self, tracks: list[Track]) -> list[Track]:
        """Tracks this zone watches: category, confidence, size, anchor inside, not ignored."""
        zone = self.zone
        min_side = zone.min_box_size * self.frame_height
        chosen = [
            tr
            for tr in tracks
            if tr.category in self.watched
            and tr.confidence >= zone.min_confidence
            and min(tr.box[2] - tr.box[0], tr.box[3] - tr.box[1]) >= min_side
        ]
        if not chosen:
            return []
        anchors = np.array([anchor_point(tr.box, zone.anchor) for tr in chosen], dtype=np.float64)
        inside = points_in_polygon(anchors, self.polygon)
        for region in self.ignore:
            inside &= ~points_in_polygon(anchors, region)
        return [tr for tr, ok in zip(chosen, inside, strict=True) if ok]

    def _cluster_violations(self, result: DwellResult, t: float) -> list[Violation]:
        # Parts missed in this frame still belong to their stall while their timers live
        # (detectors flicker on chairs and stools); something of the stall must be seen now.
        seen = {c.key for c in result.seen}
        alive = [c for c in self.timers.active.values() if c.key in seen or c.observations >= 2]
        parts = [Part(c, c.key in self._people) for c in alive]
        out = []
        for group in group_parts(parts, self.tracking.vending_cluster_gap):
            if not is_stall(group):
                continue
            things = [p.candidate for p in group if not p.is_person]
            oldest = min(things, key=lambda c: c.first_seen_t)
            if t - oldest.first_seen_t < self.zone.dwell - 1e-6 or not any(
                c.key in seen for c in things
            ):
                continue
            out.append(
                Violation(
                    zone=self.zone.name,
                    rule=self.zone.rule,
                    key=oldest.incident_key,
                    first_seen_t=oldest.first_seen_t,
                    t=t,
                    box=group_box(group),
                    confidence=max(c.max_confidence for c in things),
                    classes=tuple(sorted({p.candidate.classes[0] for p in group})),
                    first_seen_snapshot=oldest.snapshot,
                )
            )
        return out

    def _violations(self, result: DwellResult, t: float) -> list[Violation]:
        return [
            self._violation(c, t)
            for c in result.seen
            if t - c.first_seen_t >= self.zone.dwell - 1e-6
        ]

    def _violation(self, cand: Candidate, t: float) -> Violation:
        return Violation(
            zone=self.zone.name,
            rule=self.zone.rule,
            key=cand.incident_key,
            first_seen_t=cand.first_seen_t,
            t=t,
            box=cand.box,
            confidence=cand.max_confidence,
            classes=cand.classes,
            first_seen_snapshot=cand.snapshot,
        )
