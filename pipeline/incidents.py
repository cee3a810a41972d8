"""One incident per violating object: dedupe, continuation across track changes, presence,
and links to earlier incidents at the same spot (repeats)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pipeline.config import CameraConfig, ZoneConfig
from pipeline.geometry import Box, iou, overlap_of_smaller
from pipeline.picture import FramePicture
from pipeline.records import IncidentRecord, Presence
from pipeline.rules import Violation

CONTINUE_IOU = 0.5
PRESENCE_WRITE_EVERY_S = 30.0
SPOT_MOVE_AFTER_S = 2.0  # a box unlike the incident's spot must last this long to become it


class EarlierIncidents(Protocol):
    def find_earlier_at_spot(
        self,
        camera: str,
        zone: str,
        box: Box,
        before: datetime,
        min_iou: float = 0.5,
        rectified_since: datetime | None = None,
    ) -> IncidentRecord | None: ...


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    record: IncidentRecord
    first_seen_snapshot: FramePicture | None


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    incident_id: str
    last_seen_s: float
    last_seen_at: datetime
    presence: Presence
    box: Box


IncidentEvent = IncidentOpened | PresenceChanged


@dataclass(slots=True)
class _Open:
    record: IncidentRecord
    zone: ZoneConfig
    box: Box = (0.0, 0.0, 0.0, 0.0)  # where the object stands now (the record keeps the alert box)
    keys: set[str] = field(default_factory=set)
    ended_t: float | None = None
    written_t: float = 0.0
    new_box: Box | None = None  # a box unlike `box`, waiting to last SPOT_MOVE_AFTER_S
    new_box_since: float = 0.0

    def follow(self, box: Box, t: float) -> None:
        """The spot follows its object, but not a jump: a stall being packed up can bridge,
        for a frame or two, to the next stall, and a spot stretched over both would swallow
        that stall's own incident later. A change that lasts (an occluder gone for good) is
        taken once it has held for SPOT_MOVE_AFTER_S."""
        if iou(self.box, box) >= CONTINUE_IOU:
            self.box, self.new_box = box, None
        elif self.new_box is None or iou(self.new_box, box) < CONTINUE_IOU:
            self.new_box, self.new_box_since = box, t
        elif t - self.new_box_since >= SPOT_MOVE_AFTER_S:
            self.box, self.new_box = box, None
        else:
            self.new_box = box


class IncidentManager:
    """`observe(violations, ended_keys, t) -> events` for one camera.

    >>> manager = IncidentManager(camera, wall_origin=start)  # doctest: +SKIP
    >>> events = manager.observe(rule_output.violations, [], t=31.0)  # doctest: +SKIP
    """

    def __init__(
        self,
        camera: CameraConfig,
        wall_origin: datetime,
        earlier: EarlierIncidents | None = None,
        duplicate_overlap: float = 0.7,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        recurrence_window: timedelta = timedelta(days=7),
    ) -> None:
        self.camera = camera
        self.wall_origin = wall_origin
        self.earlier = earlier
        self.duplicate_overlap = duplicate_overlap
        self.new_id = new_id
        self.recurrence_window = recurrence_window
        self.zones = {z.name: z for z in camera.zones}
        self.tz = ZoneInfo(camera.timezone)
        self._open: dict[str, _Open] = {}
        self._by_key: dict[tuple[str, str], str] = {}

    def wall(self, t: float) -> datetime:
        return self.wall_origin + timedelta(seconds=t)

    def observe(
        self, violations: list[Violation], ended_keys: list[tuple[str, str]], t: float
    ) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        for violation in violations:
            events.extend(self._place(violation))
        for zone_key in ended_keys:
            self._by_key.pop(zone_key, None)
        events.extend(self._age(t))
        return events

    def finish(self, t: float, keep_rules: frozenset[str] = frozenset()) -> list[IncidentEvent]:
        """End every incident at the end of a file; their last sighting stays as recorded.
        Incidents of `keep_rules` (long timers carried to the next file) stay open."""
        events: list[IncidentEvent] = []
        for item in self._open.values():
            rec = item.record
            if rec.presence is Presence.active and rec.type not in keep_rules:
                events.append(self._set_presence(item, Presence.ended, t))
        self._open.clear()
        self._by_key.clear()
        return events

    def resume(self, record: IncidentRecord) -> None:
        """Take back an incident still open when the process stopped. It counts as seen at
        the restart (stream time 0), so it ends only if the object is not seen again."""
        zone = self.zones.get(record.zone)
        if zone is None:
            return
        record.first_seen_s = (record.first_seen_at - self.wall_origin).total_seconds()
        record.alert_s = (record.alert_at - self.wall_origin).total_seconds()
        record.last_seen_s = 0.0
        self._open[record.id] = _Open(record=record, zone=zone, box=record.box, written_t=0.0)

    @property
    def active_count(self) -> int:
        return sum(1 for o in self._open.values() if o.record.presence is Presence.active)

    def _place(self, v: Violation) -> list[IncidentEvent]:
        incident_id = self._by_key.get((v.zone, v.key))
        item = self._open.get(incident_id) if incident_id else None
        if item is None:
            item = self._continuing(v) or self._duplicate_of(v)
        if item is None:
            item = self._new(v)
            self._by_key[(v.zone, v.key)] = item.record.id
            return [IncidentOpened(item.record, v.first_seen_snapshot)]
        self._by_key[(v.zone, v.key)] = item.record.id
        item.keys.add(v.key)
        rec = item.record
        rec.last_seen_s = max(rec.last_seen_s, v.t)
        rec.last_seen_at = self.wall(rec.last_seen_s)
        item.follow(v.box, v.t)
        if rec.presence is Presence.ended:
            item.ended_t = None
            return [self._set_presence(item, Presence.active, v.t)]
        if v.t - item.written_t >= PRESENCE_WRITE_EVERY_S:
            return [self._set_presence(item, Presence.active, v.t)]
        return []

    def _continuing(self, v: Violation) -> _Open | None:
        """An incident standing where this object stands, active or ended within the merge
        window: the same car seen by a new track, or back after a long occlusion."""
        zone = self.zones[v.zone]
        for item in self._open.values():
            rec = item.record
            # The absence counts until the object stood there again, not until its new
            # dwell ran out: a vendor back after 30 s continues the incident.
            absence = v.first_seen_t - rec.last_seen_s
            recent = item.ended_t is None or absence <= zone.merge_window_s
            if rec.zone == v.zone and recent and iou(item.box, v.box) >= CONTINUE_IOU:
                return item
        return None

    def _duplicate_of(self, v: Violation) -> _Open | None:
        """A second box on one object (NMS leftovers, a part of the car) overlaps mostly."""
        for item in self._open.values():
            rec = item.record
            if (
                rec.zone == v.zone
                and rec.presence is Presence.active
                and overlap_of_smaller(item.box, v.box) >= self.duplicate_overlap
            ):
                return item
        return None

    def _new(self, v: Violation) -> _Open:
        zone = self.zones[v.zone]
        alert_at = self.wall(v.t)
        record = IncidentRecord(
            id=self.new_id(),
            camera=self.camera.name,
            zone=v.zone,
            type=v.rule.value,
            severity=zone.severity.value,
            first_seen_s=v.first_seen_t,
            alert_s=v.t,
            last_seen_s=v.t,
            first_seen_at=self.wall(v.first_seen_t),
            alert_at=alert_at,
            last_seen_at=alert_at,
            box=v.box,
            confidence=v.confidence,
            object_classes=list(v.classes),
            repeat_of=self._repeat_of(v, alert_at),
        )
        item = _Open(record=record, zone=zone, box=v.box, keys={v.key}, written_t=v.t)
        self._open[record.id] = item
        return item

    def _repeat_of(self, v: Violation, alert_at: datetime) -> str | None:
        # A repeat is the same spot on an earlier day (local to the camera), not the same car
        # coming back after lunch; or any return within the anti-recurrence window after the
        # camera saw the spot rectified.
        if self.earlier is None:
            return None
        local = alert_at.astimezone(self.tz)
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        earlier = self.earlier.find_earlier_at_spot(
            self.camera.name,
            v.zone,
            v.box,
            before=day_start,
            rectified_since=alert_at - self.recurrence_window,
        )
        return earlier.id if earlier else None

    def _age(self, t: float) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        for incident_id in list(self._open):
            item = self._open[incident_id]
            rec = item.record
            gone_for = t - rec.last_seen_s
            if rec.presence is Presence.active and gone_for > item.zone.max_gap_s:
                item.ended_t = t
                events.append(self._set_presence(item, Presence.ended, t))
            elif (
                rec.presence is Presence.ended
                and gone_for > item.zone.merge_window_s + item.zone.dwell
            ):
                # Kept until an object back within the merge window would have served its dwell.
                del self._open[incident_id]
        return events

    def _set_presence(self, item: _Open, presence: Presence, t: float) -> PresenceChanged:
        rec = item.record
        rec.presence = presence
        item.written_t = t
        return PresenceChanged(rec.id, rec.last_seen_s, rec.last_seen_at, presence, rec.box)
