"""SQLAlchemy models for incidents, their evidence files and persisted dwell timers.

The schema itself is created by the Alembic migrations in `migrations/versions`; keep
both in step when a column changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back in UTC.

    SQLite has no time zone support and drops the offset, so values are converted to
    UTC before they are stored and marked as UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: a time zone is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base whose metadata names constraints predictably (for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IncidentRow(Base):
    """One violation incident, as stored."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_camera_zone_alert_at", "camera", "zone", "alert_at"),
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_alert_at", "alert_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    camera: Mapped[str] = mapped_column(String(128))
    zone: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(32))
    first_seen_s: Mapped[float] = mapped_column(Float)
    alert_s: Mapped[float] = mapped_column(Float)
    last_seen_s: Mapped[float] = mapped_column(Float)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alert_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    object_classes: Mapped[list[str]] = mapped_column(JSON)
    presence: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    repeat_of: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Enforcement workflow (migration 0002): who handles it and when each step happened.
    team: Mapped[str | None] = mapped_column(String(80), nullable=True)
    review_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    review_note: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Rectification, reported incidents and retention (migration 0003).
    source: Mapped[str] = mapped_column(String(16), default="camera", server_default="camera")
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    verify_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    evidence_pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reported_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    place: Mapped[str | None] = mapped_column(String(500), nullable=True)

    evidence: Mapped[list[EvidenceRow]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EvidenceRow.id",
        lazy="selectin",
    )

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The xyxy box in pixels."""
        return (self.x1, self.y1, self.x2, self.y2)


class EvidenceRow(Base):
    """One evidence file (image or clip) of an incident; at most one per kind."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("incident_id", "kind", name="uq_evidence_incident_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    incident: Mapped[IncidentRow] = relationship(back_populates="evidence")


class DwellStateRow(Base):
    """A dwell timer that must survive restarts (abandoned vehicles wait for days)."""

    __tablename__ = "dwell_states"

    camera: Mapped[str] = mapped_column(String(128), primary_key=True)
    zone: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# --- Users, teams, sessions, audit log and the camera/zone catalog (migration 0002) ---


class TeamRow(Base):
    """A patrol team; it sees the incidents of its zones that were dispatched to it."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class TeamZoneRow(Base):
    """One (camera, zone) a team is responsible for."""

    __tablename__ = "team_zones"

    team_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    camera: Mapped[str] = mapped_column(String(128), primary_key=True)
    zone: Mapped[str] = mapped_column(String(128), primary_key=True)


class UserRow(Base):
    """A person who signs in; only a password hash is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SessionRow(Base):
    """A signed-in session; the key is the SHA-256 of the token, never the token itself."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class TicketRow(Base):
    """A single-use, short-lived credential for WebSockets and media URLs (hash only)."""

    __tablename__ = "tickets"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(Base):
    """One audit entry; `hash` chains it to the entry before, so edits are detectable."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_incident_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CameraRow(Base):
    """A camera of the catalog (imported from the YAML, then edited through the API)."""

    __tablename__ = "cameras"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(1000))
    detect_fps: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)


class ZoneRow(Base):
    """A zone of a camera; `definition` is the ZoneConfig as JSON."""

    __tablename__ = "zones"

    camera: Mapped[str] = mapped_column(
        String(80), ForeignKey("cameras.name", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Keeps the YAML order (rules are evaluated and shown in this order).
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# --- Enforcement workflow (migration 0003) ---


class SpotSuppressionRow(Base):
    """A spot hidden from the review queue (street furniture, a permitted stall).

    Lifting it (`lifted_at`) makes its incidents visible again; rows are never deleted, so
    who suppressed what, and when, stays on record.
    """

    __tablename__ = "spot_suppressions"
    __table_args__ = (Index("ix_spot_suppressions_camera_zone", "camera", "zone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera: Mapped[str] = mapped_column(String(128))
    zone: Mapped[str] = mapped_column(String(128))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    lifted_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The xyxy box in pixels."""
        return (self.x1, self.y1, self.x2, self.y2)


class WebhookDeliveryRow(Base):
    """One event to POST to one webhook URL: pending, delivered, or dead (a dead letter)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(1000))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
