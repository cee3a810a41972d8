"""KPIs per zone / team / all, and the repeat-offender / hot-spot ledger (supervisors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import DbSession
from api.schemas_kpis import KpiReport, KpiRowPublic, LedgerReport, SpotPublic
from pipeline.store.kpis import check_period, compute_kpis
from pipeline.store.ledger import spot_ledger

router = APIRouter(prefix="/api", tags=["kpis"])

PERIOD_HELP = "alert_at from (inclusive), with a time zone, e.g. 2024-06-01T00:00:00Z"
StartQuery = Annotated[datetime, Query(description=PERIOD_HELP)]
EndQuery = Annotated[datetime, Query(description="alert_at until (exclusive), with a time zone")]


def period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The checked period, or 422 saying what is wrong with it."""
    try:
        check_period(start, end)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return start, end


@router.get("/kpis", response_model=KpiReport)
def get_kpis(
    db: DbSession,
    start: StartQuery,
    end: EndQuery,
    by: Literal["zone", "team", "all"] = "zone",
    source: Annotated[
        Literal["camera", "reported", "all"],
        Query(description="whose confirmed/resolved/... figures; discovered/reported always"),
    ] = "camera",
) -> KpiReport:
    start, end = period(start, end)
    rows = compute_kpis(db, start, end, by, source=source)
    return KpiReport(
        start=start,
        end=end,
        by=by,
        source=source,
        rows=[KpiRowPublic.model_validate(row, from_attributes=True) for row in rows],
    )


@router.get("/ledger", response_model=LedgerReport)
def get_ledger(
    db: DbSession,
    start: StartQuery,
    end: EndQuery,
    min_violations: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    confirmed_only: bool = False,
) -> LedgerReport:
    start, end = period(start, end)
    spots = spot_ledger(db, start, end, min_violations, confirmed_only=confirmed_only)
    return LedgerReport(
        start=start,
        end=end,
        total_spots=len(spots),
        spots=[SpotPublic.of(spot) for spot in spots[:limit]],
    )
