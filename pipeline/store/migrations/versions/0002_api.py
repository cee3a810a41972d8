"""API schema: users, teams, sessions, tickets, audit log, camera/zone catalog, and the
incident workflow columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_INCIDENT_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("team", sa.String(80)),
    ("review_reason", sa.String(200)),
    ("review_note", sa.String(2000)),
    ("resolution_note", sa.String(2000)),
    ("reviewed_at", _TS),
    ("dispatched_at", _TS),
    ("acknowledged_at", _TS),
    ("resolved_at", _TS),
]


def _create_people() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "team_zones",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("camera", sa.String(128), nullable=False),
        sa.Column("zone", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "camera", "zone", name="pk_team_zones"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_team_zones_team_id_teams", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_users_team_id_teams", ondelete="SET NULL"
        ),
    )


def _create_credentials() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "tickets",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("hash", name="pk_tickets"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_tickets_user_id_users", ondelete="CASCADE"
        ),
    )


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_incident_id", "audit_log", ["incident_id"])


def _create_catalog() -> None:
    op.create_table(
        "cameras",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("detect_fps", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_cameras"),
    )
    op.create_table(
        "zones",
        sa.Column("camera", sa.String(80), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("camera", "name", name="pk_zones"),
        sa.ForeignKeyConstraint(
            ["camera"], ["cameras.name"], name="fk_zones_camera_cameras", ondelete="CASCADE"
        ),
    )


def upgrade() -> None:
    _create_people()
    _create_credentials()
    _create_audit_log()
    _create_catalog()
    with op.batch_alter_table("incidents") as batch:
        for name, type_ in _INCIDENT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for name, _type in reversed(_INCIDENT_COLUMNS):
            batch.drop_column(name)
    op.drop_table("zones")
    op.drop_table("cameras")
    op.drop_index("ix_audit_log_incident_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("tickets")
    op.drop_table("sessions")
    op.drop_table("users")
    op.drop_table("team_zones")
    op.drop_table("teams")
