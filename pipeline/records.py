"""Domain records that cross from the analysis side to storage and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Presence(StrEnum):
    """Is the violating object still there? (The enforcement workflow status is separate.)"""

    active = "active"
    ended = "ended"


class EvidenceKind(StrEnum):
    first_seen = "first_seen"  # the object's first frame at its spot
    alert_annotated = "alert_annotated"  # alert frame with box, zone outline, camera, times
    alert_clean = "alert_clean"  # the same frame untouched
    clip = "clip"  # pre_s before to post_s after the alert
    resolution_photo = "resolution_photo"  # uploaded by the patrol when resolving
    after = "after"  # the spot seen clear by the camera once the incident was rectified
    report_photo = "report_photo"  # attached to an incident entered by hand


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    kind: EvidenceKind
    path: str  # relative to the evidence root, forward slashes
    sha256: str
    size_bytes: int
    media_type: str  # image/jpeg, video/mp4, video/webm


@dataclass(slots=True)
class IncidentRecord:
    """One violation: one object (or vending cluster) staying in a zone past its dwell.

    Stream times (`*_s`) are seconds into the processed stream; `*_at` are the matching
    wall-clock moments (timezone-aware).
    """

    id: str
    camera: str
    zone: str
    type: str  # RuleType value
    severity: str
    first_seen_s: float
    alert_s: float
    last_seen_s: float
    first_seen_at: datetime
    alert_at: datetime
    last_seen_at: datetime
    box: tuple[float, float, float, float]  # pixel xyxy at alert time
    confidence: float
    object_classes: list[str]
    presence: Presence = Presence.active
    status: str = "new"  # enforcement workflow state, owned by the workflow code
    repeat_of: str | None = None
    evidence: list[EvidenceFile] = field(default_factory=list)
