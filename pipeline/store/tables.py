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

    evidence: Mapped[list[EvidenceRow]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EvidenceRow.id",
        lazy="selectin",
    )


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
