"""Report periods: a calendar month (`2026-11`) or an ISO week (`2026-W47`) in a time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.errors import InputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

PeriodKind = Literal["monthly", "weekly"]
# Years a report may cover: beyond them a period's edges fall outside Python's datetime
# range once a time zone is applied (year 9999's December would end in year 10000).
YEARS = range(1970, 9000)


@dataclass(frozen=True, slots=True)
class Period:
    """Half-open `[start, end)` in the report's time zone, with the label people typed.

    >>> parse_month("2026-11", ZoneInfo("UTC")).days
    30
    """

    kind: PeriodKind
    label: str
    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(0), self.tz)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def describe(self) -> str:
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()} ({self.tz.key})"


def parse_month(text: str, tz: ZoneInfo) -> Period:
    """`YYYY-MM` as a period; InputError with an example when it is not one."""
    match = _MONTH.match(text.strip())
    month = int(match.group(2)) if match else 0
    if match is None or not 1 <= month <= 12:
        raise InputError(f"bad month {text!r}: use YYYY-MM, e.g. 2026-11")
    year = _checked_year(int(match.group(1)), text)
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period("monthly", f"{year:04d}-{month:02d}", first, following - timedelta(days=1), tz)


def parse_week(text: str, tz: ZoneInfo) -> Period:
    """ISO week `YYYY-Www` (Monday to Sunday); InputError with an example when it is not one."""
    match = _WEEK.match(text.strip().upper())
    if match is None:
        raise InputError(f"bad week {text!r}: use the ISO week YYYY-Www, e.g. 2026-W47")
    year, week = _checked_year(int(match.group(1)), text), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError(f"bad week {text!r}: {year} has no ISO week {week}") from None
    label = f"{year:04d}-W{week:02d}"
    return Period("weekly", label, monday, monday + timedelta(days=6), tz)


def _checked_year(year: int, text: str) -> int:
    if year not in YEARS:
        raise InputError(f"bad period {text!r}: the year must be {YEARS.start} to {YEARS.stop - 1}")
    return year
