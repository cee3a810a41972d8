"""Is a rule active at a wall-clock moment?"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.config import WEEKDAYS, Schedule, TimeWindow


class ScheduleCheck:
    """`active(moment)` for one zone's schedule; no schedule means always active.

    >>> from datetime import timezone
    >>> night = ScheduleCheck(Schedule(windows=["22:00-06:00"]), "UTC")
    >>> night.active(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    True
    """

    def __init__(self, schedule: Schedule | None, camera_timezone: str) -> None:
        self.schedule = schedule
        tz_name = (schedule.timezone if schedule else None) or camera_timezone
        self.tz = ZoneInfo(tz_name)
        self.windows: list[TimeWindow] = schedule.parsed_windows() if schedule else []
        self.weekdays = {WEEKDAYS.index(d) for d in schedule.weekdays} if schedule else set()

    def active(self, moment: datetime) -> bool:
        if self.schedule is None:
            return True
        local = moment.astimezone(self.tz)
        return any(self._in_window(local, w) for w in self.windows)

    def _in_window(self, local: datetime, window: TimeWindow) -> bool:
        now = local.time()
        if not window.crosses_midnight:
            return local.weekday() in self.weekdays and window.start <= now < window.end
        # A window crossing midnight belongs to the weekday it starts on: Friday 22:00-06:00
        # covers Friday night and the small hours of Saturday.
        if now >= window.start:
            return local.weekday() in self.weekdays
        if now < window.end:
            return (local - timedelta(days=1)).weekday() in self.weekdays
        return False
