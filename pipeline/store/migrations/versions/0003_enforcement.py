"""Enforcement workflow: rectification by camera, reported incidents, legal hold,
suppressed spots, and webhook deliveries (with their dead letters).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_NULLABLE_INCIDENT_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("verify_started_at", _TS),
    ("rectified_at", _TS),
    ("reopened_at", _TS),
    ("evidence_pruned_at", _TS),
    ("reported_by", sa.String(80)),
    ("place", sa.String(500)),
]


def _create_suppressions() -> None:
    op.create_table(
        "spot_suppressions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera", sa.String(128), nullable=False),
        sa.Column("zone", sa.String(128), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("lifted_by", sa.String(80), nullable=True),
        sa.Column("lifted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_spot_suppressions"),
    )
    op.create_index(
        "ix_spot_suppressions_camera_zone", "spot_suppressions", ["camera", "zone"], unique=False
    )


def _create_webhook_deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"], unique=False)


def upgrade() -> None:
    _create_suppressions()
    _create_webhook_deliveries()
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="camera")
        )
        batch.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        for name, type_ in _NULLABLE_INCIDENT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for name, _type in reversed(_NULLABLE_INCIDENT_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("legal_hold")
        batch.drop_column("source")
    op.drop_index("ix_webhook_deliveries_status", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_spot_suppressions_camera_zone", table_name="spot_suppressions")
    op.drop_table("spot_suppressions")
