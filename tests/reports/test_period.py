"""Months and ISO weeks become half-open periods in the report's time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import InputError
from pipeline.reports.period import Period, parse_month, parse_week

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_month_bounds_in_the_time_zone() -> None:
    period = parse_month("2026-12", TZ)
    assert (period.first_day, period.last_day, period.days) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        31,
    )
    assert period.start == datetime(2026, 12, 1, tzinfo=TZ)
    assert period.end == datetime(2027, 1, 1, tzinfo=TZ)
    assert parse_month("2028-02", TZ).days == 29


def test_iso_week_runs_monday_to_sunday() -> None:
    period = parse_week("2026-W47", TZ)
    assert period.first_day == date(2026, 11, 16) and period.first_day.weekday() == 0
    assert period.last_day == date(2026, 11, 22)
    assert parse_week("2026-w01", TZ).label == "2026-W01"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "nov", "2026/11", ""])
def test_bad_months_say_what_to_type(text: str) -> None:
    with pytest.raises(InputError, match="YYYY-MM"):
        parse_month(text, TZ)


@pytest.mark.parametrize("text", ["2026-47", "2026-W7", "W47"])
def test_bad_weeks_say_what_to_type(text: str) -> None:
    with pytest.raises(InputError, match="YYYY-Www"):
        parse_week(text, TZ)


def test_a_week_the_year_does_not_have() -> None:
    with pytest.raises(InputError, match="no ISO week 53"):
        parse_week("2027-W53", TZ)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_month, "9999-12"),
        (parse_week, "9999-W52"),
        (parse_month, "0001-01"),
        (parse_week, "1969-W01"),
    ],
)
def test_years_whose_periods_leave_the_datetime_range_are_refused(
    parse: Callable[[str, ZoneInfo], Period], text: str
) -> None:
    # 9999-12 ended in year 10000 (ValueError); year 1 east of UTC began in year 0.
    with pytest.raises(InputError, match="year must be 1970 to 8999"):
        parse(text, TZ)
    assert parse_month("8999-12", TZ).end.year == 9000
