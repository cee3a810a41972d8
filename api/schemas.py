"""API shapes (pydantic), separate from the database rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "supervisor", "monitor", "operator", "patrol"]
Language = Literal["en", "vi", "zh"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ok(BaseModel):
    status: Literal["ok"] = "ok"


class Me(BaseModel):
    username: str
    role: Role
    team: str | None
    language: Language
    csrf_token: str | None = None  # for cookie sessions: a reloaded page needs it again


class LoginRequest(_Closed):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    token: str
    csrf_token: str
    expires_at: datetime
    user: Me


class LanguageUpdate(_Closed):
    language: Language


class TicketResponse(BaseModel):
    ticket: str
    expires_in: int


class UserCreate(_Closed):
    username: str = Field(min_length=2, max_length=80, pattern=NAME_PATTERN)
    password: str = Field(min_length=8, max_length=1024)
    role: Role
    team: str | None = None


class UserPublic(BaseModel):
    username: str
    role: Role
    team: str | None
    language: Language
    disabled: bool
    created_at: datetime


class TeamZone(_Closed):
    camera: str = Field(min_length=1, max_length=80)
    zone: str = Field(min_length=1, max_length=80)


class TeamCreate(_Closed):
    name: str = Field(min_length=1, max_length=80, pattern=NAME_PATTERN)
    zones: list[TeamZone] = Field(default_factory=list)


class TeamUpdate(_Closed):
    zones: list[TeamZone]


class TeamPublic(BaseModel):
    name: str
    zones: list[TeamZone]
    members: list[str]


CameraStateName = Literal["online", "offline", "reconnecting", "starting", "stopped"]


class CameraPublic(BaseModel):
    name: str
    state: CameraStateName
    last_frame_at: datetime | None
    detect_fps: float
    lag_s: float
    frames_dropped: int
    zones: list[str]
    # Counters since the process started, so a wall can tell a stalled camera from a slow one.
    frames_read: int = 0
    frames_detected: int = 0
    reconnects: int = 0
    retry_delay_s: float = 0.0  # back-off before the next reconnect attempt; 0 while online
    analysis_errors: int = 0  # frames whose detection or rules failed (the camera went on)


class EvidencePublic(BaseModel):
    kind: str
    url: str
    sha256: str
    media_type: str


class IncidentPublic(BaseModel):
    id: str
    camera: str
    zone: str
    type: str
    severity: str
    status: str
    presence: str
    first_seen_at: datetime
    alert_at: datetime
    last_seen_at: datetime
    first_seen_s: float
    alert_s: float
    last_seen_s: float
    box: tuple[float, float, float, float]
    confidence: float
    object_classes: list[str]
    repeat_of: str | None
    repeat_count: int = Field(description="earlier incidents in its repeat chain (0: first)")
    team: str | None
    evidence: list[EvidencePublic]
    source: str = Field(default="camera", description="camera, or reported (entered by hand)")
    place: str | None = Field(default=None, description="where, for reported incidents")
    priority: int = Field(default=0, description="severity, repeats and age; higher first")
    state_since: datetime | None = Field(default=None, description="entered its status at")
    suppressed: bool = Field(default=False, description="in a spot hidden from review")


class AuditPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class IncidentDetail(IncidentPublic):
    review_reason: str | None = None
    review_note: str | None = None
    resolution_note: str | None = None
    legal_hold: bool = Field(default=False, description="retention never deletes its evidence")
    evidence_pruned_at: datetime | None = Field(
        default=None, description="when retention deleted its evidence files"
    )
    audit: list[AuditPublic]


class IncidentPage(BaseModel):
    items: list[IncidentPublic]
    next_cursor: str | None


class ReviewRequest(_Closed):
    decision: Literal["confirm", "dismiss"]
    reason: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class DispatchRequest(_Closed):
    team: str = Field(min_length=1, max_length=80)


class Summary(BaseModel):
    median: float | None
    p90: float | None


class StatsPublic(BaseModel):
    by_type: dict[str, int]
    by_zone: dict[str, int]
    by_day: dict[str, int]
    review_seconds: Summary
    resolve_seconds: Summary
