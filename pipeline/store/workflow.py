"""The enforcement workflow: which status an action moves an incident to, and from where.

new ─review─▶ confirmed | dismissed;  confirmed | reopened ─dispatch─▶ dispatched;
dispatched ─acknowledge─▶ acknowledged;  dispatched | acknowledged ─resolve─▶ resolved;
resolved ─rectify─▶ rectified | ─reopen─▶ reopened (both decided by the camera watching the
spot, see `pipeline.rectification`).
Every step is time-stamped on the incident and appended to the audit log with its actor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pipeline.store import audit
from pipeline.store.repository import IncidentNotFoundError
from pipeline.store.tables import IncidentRow, utc_now

logger = logging.getLogger(__name__)

STATUSES = (
    "new",
    "confirmed",
    "dismissed",
    "dispatched",
    "acknowledged",
    "resolved",
    "rectified",
    "reopened",
)
# Statuses a patrol team sees: the incident was handed to it.
HANDED_TO_TEAM = ("dispatched", "acknowledged", "resolved", "rectified", "reopened")
# Nothing more will happen to these (retention may prune their evidence).
CLOSED = ("dismissed", "rectified")
# The actor recorded for what the pipeline decides by itself.
CAMERA_ACTOR = "camera"


@dataclass(frozen=True, slots=True)
class Transition:
    sources: tuple[str, ...]
    timestamp_field: str


TRANSITIONS: dict[str, Transition] = {
    "review": Transition(("new",), "reviewed_at"),
    "dispatch": Transition(("confirmed", "reopened"), "dispatched_at"),
    "acknowledge": Transition(("dispatched",), "acknowledged_at"),
    "resolve": Transition(("dispatched", "acknowledged"), "resolved_at"),
    "rectify": Transition(("resolved",), "rectified_at"),
    "reopen": Transition(("resolved",), "reopened_at"),
}


class TransitionError(ValueError):
    """The incident's status does not allow this action."""


def apply_action(
    session: Session,
    incident_id: str,
    action: str,
    target: str,
    actor: str,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
    reason: str | None = None,
) -> IncidentRow:
    """Move an incident from an allowed status to `target`, set `changes`, audit it.

    `at` is when it happened (default now); the camera passes the frame's moment. `reason`
    goes to the audit entry only.

    Runs inside the caller's transaction. Raises `IncidentNotFoundError` or
    `TransitionError` (nothing changed then).
    """
    transition = TRANSITIONS[action]
    row = session.get(IncidentRow, incident_id, with_for_update=True)
    if row is None:
        raise IncidentNotFoundError(incident_id)
    if row.status not in transition.sources:
        raise TransitionError(
            f"cannot {action} incident {incident_id}: it is {row.status} "
            f"(allowed from {', '.join(transition.sources)})"
        )
    previous = row.status
    row.status = target
    setattr(row, transition.timestamp_field, at or utc_now())
    for name, value in (changes or {}).items():
        setattr(row, name, value)
    detail = {"from": previous, "to": target, **{k: v for k, v in (changes or {}).items() if v}}
    if reason:
        detail["reason"] = reason
    audit.append(session, actor, f"incident.{action}", incident_id, detail)
    session.flush()
    logger.info("incident %s: %s -> %s by %s", incident_id, previous, target, actor)
    return row
