"""Counts and handling times for the supervisors' KPIs."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status

from api.deps import DbSession
from api.schemas import StatsPublic
from pipeline.store.incident_query import stats

router = APIRouter(prefix="/api", tags=["stats"])


@router.get("/stats", response_model=StatsPublic)
def get_stats(
    db: DbSession, since: datetime | None = None, until: datetime | None = None
) -> StatsPublic:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: give a time zone (e.g. ...Z)"
            )
    return StatsPublic.model_validate(stats(db, since, until))
