"""The enforcement workflow: which status an action moves an incident to, and from where.

new ─review─▶ confirmed | dismissed;  confirmed ─dispatch─▶ dispatched;
dispatched ─acknowledge─▶ acknowledged;  dispatched | acknowledged ─resolve─▶ resolved.
Every step is time-stamped on the incident and appended to the audit log with its actor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline.store import audit
from pipeline.store.repository import IncidentNotFoundError
from pipeline.store.tables import IncidentRow, utc_now

logger = logging.getLogger(__name__)

STATUSES = ("new", "confirmed", "dismissed", "dispatched", "acknowledged", "resolved")
# Statuses a patrol team sees: the incident was handed to it.
HANDED_TO_TEAM = ("dispatched", "acknowledged", "resolved")


@dataclass(frozen=True, slots=True)
class Transition:
    sources: tuple[str, ...]
    timestamp_field: str


TRANSITIONS: dict[str, Transition] = {
    "review": Transition(("new",), "reviewed_at"),
    "dispatch": Transition(("confirmed",), "dispatched_at"),
    "acknowledge": Transition(("dispatched",), "acknowledged_at"),
    "resolve": Transition(("dispatched", "acknowledged"), "resolved_at"),
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
) -> IncidentRow:
    """Move an incident from an allowed status to `target`, set `changes`, audit it.

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
    setattr(row, transition.timestamp_field, utc_now())
    for name, value in (changes or {}).items():
        setattr(row, name, value)
    detail = {"from": previous, "to": target, **{k: v for k, v in (changes or {}).items() if v}}
    audit.append(session, actor, f"incident.{action}", incident_id, detail)
    session.flush()
    logger.info("incident %s: %s -> %s by %s", incident_id, previous, target, actor)
    return row
