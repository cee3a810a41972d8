"""API shapes of the KPI table and the hot-spot ledger (`api/routers/kpis.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.store.ledger import WEEKDAYS, SpotEntry


class KpiRowPublic(BaseModel):
    """One group's figures; rates are fractions (0.5 = 50 %), None when undefined."""

    group: str
    discovered: int = Field(description="incidents found by cameras")
    reported: int = Field(description="incidents entered by hand")
    confirmed: int
    dismissed: int
    review_precision: float | None = Field(description="confirmed / (confirmed + dismissed)")
    resolved: int
    disposal_rate: float | None = Field(description="resolved / confirmed")
    rectified: int
    rectification_rate: float | None = Field(description="rectified / resolved")
    review_median_s: float | None
    review_p90_s: float | None
    dispatch_median_s: float | None
    dispatch_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


class KpiReport(BaseModel):
    start: datetime
    end: datetime
    by: Literal["zone", "team", "all"]
    source: Literal["camera", "reported", "all"]
    rows: list[KpiRowPublic]


class SpotPublic(BaseModel):
    """One spot of the ledger; `by_hour[h]` counts violations at local hour h (24 values)."""

    camera: str
    zone: str
    box: tuple[float, float, float, float]
    violations: int
    repeats: int
    after_rectification: int
    reopened: int
    by_weekday: dict[str, int] = Field(description='"mon".."sun", camera local time')
    by_hour: list[int] = Field(min_length=24, max_length=24)
    first_at: datetime
    last_at: datetime
    incident_ids: list[str]

    @classmethod
    def of(cls, entry: SpotEntry) -> SpotPublic:
        return cls(
            camera=entry.camera,
            zone=entry.zone,
            box=entry.box,
            violations=entry.violations,
            repeats=entry.repeats,
            after_rectification=entry.after_rectification,
            reopened=entry.reopened,
            by_weekday={day: entry.by_weekday.get(day, 0) for day in WEEKDAYS},
            by_hour=[entry.by_hour.get(hour, 0) for hour in range(24)],
            first_at=entry.first_at,
            last_at=entry.last_at,
            incident_ids=list(entry.incident_ids),
        )


class LedgerReport(BaseModel):
    start: datetime
    end: datetime
    total_spots: int = Field(description="spots with at least min_violations, before limit")
    spots: list[SpotPublic]
