"""Counts and handling times for the supervisors' KPIs."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from api.deps import DbSession
from api.params import instant
from api.schemas import StatsPublic
from pipeline.store.incident_query import stats

router = APIRouter(prefix="/api", tags=["stats"])


@router.get("/stats", response_model=StatsPublic)
def get_stats(
    db: DbSession, since: datetime | None = None, until: datetime | None = None
) -> StatsPublic:
    since, until = instant(since, "since"), instant(until, "until")
    return StatsPublic.model_validate(stats(db, since, until))
