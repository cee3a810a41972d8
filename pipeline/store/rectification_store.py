"""Database side of rectification: which resolved incidents a camera checks, and storing
what it concluded (status, audit entry and the "after" picture in one transaction)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from pipeline.records import EvidenceFile
from pipeline.rectification import Outcome, RectificationOutcome, ResolvedSpot
from pipeline.store.repository import evidence_row
from pipeline.store.tables import IncidentRow
from pipeline.store.workflow import CAMERA_ACTOR, apply_action
from pipeline.store.writes import describe_db_error, is_connection_error

logger = logging.getLogger(__name__)

_ACTION = {Outcome.rectified: "rectify", Outcome.reopened: "reopen"}


class RectificationStore:
    """`resolved_spots(camera, at)` for the watcher; `conclude(outcome, after)` for the sink."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def resolved_spots(self, camera: str, started_at: datetime) -> list[ResolvedSpot]:
        """Resolved incidents of `camera` to check; none while the database is unreachable
        (one warning line each poll: the watcher simply asks again at its next poll)."""
        try:
            return self._resolved_spots(camera, started_at)
        except SQLAlchemyError as exc:
            if not is_connection_error(exc):
                raise
            logger.warning(
                "camera %s: rectification check postponed, database unreachable (%s)",
                camera,
                describe_db_error(exc),
            )
            return []

    def _resolved_spots(self, camera: str, started_at: datetime) -> list[ResolvedSpot]:
        query = select(IncidentRow).where(
            IncidentRow.camera == camera, IncidentRow.status == "resolved"
        )
        with self._sessions.begin() as session:
            rows = list(session.scalars(query))
            for row in rows:
                if row.verify_started_at is None:
                    row.verify_started_at = started_at
            return [ResolvedSpot(r.id, r.zone, r.box) for r in rows]

    def conclude(self, outcome: RectificationOutcome, after: EvidenceFile | None) -> bool:
        """Store the outcome; False (and nothing changed) when the incident is no longer
        resolved, e.g. a supervisor acted on it meanwhile."""
        action = _ACTION[outcome.outcome]
        with self._sessions.begin() as session:
            row = session.get(IncidentRow, outcome.incident_id)
            if row is None or row.status != "resolved":
                logger.info(
                    "incident %s is no longer resolved; camera's %s not applied",
                    outcome.incident_id,
                    outcome.outcome,
                )
                return False
            if after is not None:
                row.evidence.append(evidence_row(after))
            apply_action(
                session,
                outcome.incident_id,
                action,
                outcome.outcome.value,
                CAMERA_ACTOR,
                at=outcome.at,
                reason=outcome.reason,
            )
        return True
