"""API shapes for suppressed spots and reported incidents."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SuppressRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class SuppressionPublic(BaseModel):
    id: int
    camera: str
    zone: str
    box: tuple[float, float, float, float]
    reason: str
    created_by: str
    created_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


class CandidatePublic(BaseModel):
    camera: str
    zone: str
    box: tuple[float, float, float, float]
    dismissed: int = Field(description="dismissed incidents at this spot in the period")
    latest_incident: str
