"""Dwell timers of abandoned-vehicle zones outlive the process: hours-to-days timers are saved
to the store (wall-clock times) and restored at start, together with their open incidents."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pipeline.config import RuleType
from pipeline.incidents import IncidentManager
from pipeline.records import Presence
from pipeline.rules import ZoneRule
from pipeline.store.repository import IncidentStore
from pipeline.store.writes import is_connection_error

log = logging.getLogger(__name__)

LONG_RULES = {RuleType.abandoned_vehicle}


class LongTimers:
    """`restore()` once at start; `save(t)` every `save_every_s` of stream time and at the end.

    >>> timers = LongTimers(store, "depot-lane", rules, incidents)  # doctest: +SKIP
    """

    def __init__(
        self,
        store: IncidentStore,
        camera: str,
        rules: list[ZoneRule],
        incidents: IncidentManager,
        save_every_s: float = 30.0,
    ) -> None:
        self.store = store
        self.camera = camera
        self.rules = [r for r in rules if r.zone.rule in LONG_RULES]
        self.incidents = incidents
        self.save_every_s = save_every_s
        self._saved_t: float | None = None

    def restore(self) -> int:
        """Put saved timers and open incidents back; returns how many timers came back."""
        if not self.rules:
            return 0
        saved = self.store.load_dwell_states(self.camera)
        count = 0
        for rule in self.rules:
            for key, state in saved.get(rule.zone.name, {}).items():
                rule.timers.restore(key, self._to_stream(state), now_t=0.0)
                count += 1
        zones = {r.zone.name for r in self.rules}
        for record in self.store.list_incidents(self.camera):
            if record.zone in zones and record.presence is Presence.active:
                self.incidents.resume(record)
        if count:
            log.info("camera %s: resumed %d long dwell timers", self.camera, count)
        return count

    def save(self, t: float, force: bool = False) -> None:
        if not self.rules:
            return
        if not force and self._saved_t is not None and t - self._saved_t < self.save_every_s:
            return
        self._saved_t = t
        for rule in self.rules:
            states = {
                c.key: self._to_wall(c.state())
                for c in list(rule.timers.active.values()) + rule.timers.restored
                if c.observations >= 2
            }
            try:
                self.store.save_dwell_states(self.camera, rule.zone.name, states)
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                # The database is away: the timers run on in memory and the next save (every
                # save_every_s) writes them, so only a crash during the outage loses progress.
                log.warning("camera %s: dwell timers not saved, database unreachable", self.camera)
                return

    def _to_wall(self, state: dict[str, Any]) -> dict[str, Any]:
        wall = self.incidents.wall
        out = {k: v for k, v in state.items() if not k.endswith("_t")}
        out["first_seen_at"] = wall(state["first_seen_t"]).isoformat()
        out["last_seen_at"] = wall(state["last_seen_t"]).isoformat()
        return out

    def _to_stream(self, state: dict[str, Any]) -> dict[str, Any]:
        origin = self.incidents.wall_origin
        first = datetime.fromisoformat(state["first_seen_at"])
        return {**state, "first_seen_t": (first - origin).total_seconds(), "last_seen_t": 0.0}
