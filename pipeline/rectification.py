"""Rectification checked by the camera: after a patrol resolves an incident, watch its spot.

For each resolved incident of this camera the watcher looks at the incident's spot (its
alert-time box, in its zone) on every analysed frame:

- still occupied on every frame of the first `reopen_grace_s` after the check starts (the
  violator never left) -> **reopened**;
- clear for `verify_s` in a row -> **rectified**, with this frame as the "after" picture;
- back after leaving and standing there for the zone's dwell -> **reopened** as well.

Occupied means an object the zone's rule watches (people excluded: a passer-by is not a
stall) overlapping the spot by at least half of the smaller box. Checks live in memory: after
a restart the incident is still `resolved` and its check starts over, which can only delay
the outcome, never invent one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pipeline.config import Category
from pipeline.config_enforcement import RectificationConfig
from pipeline.geometry import Box, overlap_of_smaller
from pipeline.picture import FramePicture
from pipeline.rules import ZoneRule
from pipeline.tracking import Track

log = logging.getLogger(__name__)

SPOT_OVERLAP = 0.5  # share of the smaller box that must overlap the spot


class Outcome(StrEnum):
    rectified = "rectified"
    reopened = "reopened"


@dataclass(frozen=True, slots=True)
class ResolvedSpot:
    """A resolved incident whose spot the camera should check."""

    incident_id: str
    zone: str
    box: Box


@dataclass(frozen=True, slots=True)
class RectificationOutcome:
    """What the camera concluded about one resolved incident."""

    incident_id: str
    outcome: Outcome
    at: datetime
    reason: str
    after_jpeg: bytes | None  # the clear spot, for rectified incidents


class ResolvedSource(Protocol):
    def resolved_spots(self, camera: str, started_at: datetime) -> list[ResolvedSpot]:
        """Resolved incidents of `camera` not yet concluded; marks new ones as being checked."""
        ...


@dataclass(slots=True)
class _Check:
    spot: ResolvedSpot
    started_t: float
    occupied_throughout: bool = True  # during the grace period
    clear_since: float | None = None
    occupied_since: float | None = None


class RectificationWatcher:
    """`observe(tracks, t, moment, picture)` on each analysed frame -> outcomes to store.

    >>> watcher = RectificationWatcher("gate-1", source, config, rules_by_zone)  # doctest: +SKIP
    """

    def __init__(
        self,
        camera: str,
        source: ResolvedSource,
        config: RectificationConfig,
        rules: Callable[[], Sequence[ZoneRule]],
        poll_s: float = 5.0,
    ) -> None:
        self.camera = camera
        self.source = source
        self.config = config
        self.rules = rules
        self.poll_s = poll_s
        self._checks: dict[str, _Check] = {}
        self._next_poll_t: float | None = None

    @property
    def watching(self) -> list[str]:
        return list(self._checks)

    def observe(
        self, tracks: list[Track], t: float, moment: datetime, picture: FramePicture
    ) -> list[RectificationOutcome]:
        self._poll(t, moment)
        if not self._checks:
            return []
        rules = {r.zone.name: r for r in self.rules()}
        outcomes = []
        for incident_id, check in list(self._checks.items()):
            rule = rules.get(check.spot.zone)
            if rule is None:
                continue  # zone removed or renamed: nothing to judge it by; keep waiting
            outcome = self._judge(check, _occupied(rule, tracks, check.spot.box), t, rule)
            if outcome is not None:
                del self._checks[incident_id]
                after = picture.jpeg() if outcome[0] is Outcome.rectified else None
                outcomes.append(
                    RectificationOutcome(incident_id, outcome[0], moment, outcome[1], after)
                )
                log.info("incident %s: %s (%s)", incident_id[:8], outcome[0], outcome[1])
        return outcomes

    def _poll(self, t: float, moment: datetime) -> None:
        if self._next_poll_t is not None and t < self._next_poll_t:
            return
        self._next_poll_t = t + self.poll_s
        try:
            spots = self.source.resolved_spots(self.camera, moment)
        except Exception:  # the database may be away; the check waits for the next poll
            log.exception("camera %s: could not read resolved incidents", self.camera)
            return
        for spot in spots:
            if spot.incident_id not in self._checks:
                self._checks[spot.incident_id] = _Check(spot, started_t=t)
                log.info("incident %s: resolved, checking its spot", spot.incident_id[:8])

    def _judge(
        self, check: _Check, occupied: bool, t: float, rule: ZoneRule
    ) -> tuple[Outcome, str] | None:
        cfg = self.config
        in_grace = t - check.started_t < cfg.reopen_grace_s
        if occupied:
            check.clear_since = None
            if check.occupied_since is None:
                check.occupied_since = t
            if not in_grace and check.occupied_throughout:
                return Outcome.reopened, "still there when the check started"
            if not check.occupied_throughout and t - check.occupied_since >= rule.zone.dwell:
                return Outcome.reopened, "back at the spot for the dwell time"
            return None
        check.occupied_throughout = False
        check.occupied_since = None
        if check.clear_since is None:
            check.clear_since = t
        if t - check.clear_since >= cfg.verify_s:
            return Outcome.rectified, f"clear for {cfg.verify_s:g} s"
        return None


def _occupied(rule: ZoneRule, tracks: list[Track], spot: Box) -> bool:
    return any(
        tr.category is not Category.person and overlap_of_smaller(tr.box, spot) >= SPOT_OVERLAP
        for tr in rule.eligible(tracks)
    )
