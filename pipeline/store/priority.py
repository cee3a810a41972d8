"""Priority and the age clock of an incident in the enforcement workflow.

priority = 100 x severity (low 1, medium 2, high 3, critical 4) + 30 x repeats (at most 5 counted)
           + hours since the alert (at most 72 counted)
so severity decides first, a repeat offender comes before a first-timer of the same
severity, and among equals the older one comes first. `state_since` is when the incident
entered its current status: the age clock of that state.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.store.tables import IncidentRow

SEVERITY_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
REPEAT_WEIGHT, MAX_REPEATS = 30, 5
MAX_AGE_HOURS = 72

# Which timestamp marks the entry into each status.
_ENTERED = {
    "new": "alert_at",
    "confirmed": "reviewed_at",
    "dismissed": "reviewed_at",
    "dispatched": "dispatched_at",
    "acknowledged": "acknowledged_at",
    "resolved": "resolved_at",
    "rectified": "rectified_at",
    "reopened": "reopened_at",
}


def priority(severity: str, repeat_count: int, alert_at: datetime, now: datetime) -> int:
    age_hours = max(0.0, (now - alert_at).total_seconds() / 3600)
    return (
        100 * SEVERITY_WEIGHT.get(severity, 2)
        + REPEAT_WEIGHT * min(repeat_count, MAX_REPEATS)
        + int(min(age_hours, MAX_AGE_HOURS))
    )


def state_since(row: IncidentRow) -> datetime:
    """When the incident entered its current status (the alert time if unknown)."""
    entered = getattr(row, _ENTERED.get(row.status, "alert_at"), None)
    return entered if isinstance(entered, datetime) else row.alert_at
