"""Database rows to API shapes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.schemas import AuditPublic, EvidencePublic, IncidentDetail, IncidentPublic
from pipeline.store import audit
from pipeline.store.incident_query import EvidenceSummary, evidence_summaries, repeat_counts
from pipeline.store.priority import priority, state_since
from pipeline.store.suppression import suppressed_ids
from pipeline.store.tables import IncidentRow, utc_now


def evidence_url(incident_id: str, kind: str) -> str:
    return f"/api/evidence/{incident_id}/{kind}"


def incident_public(
    row: IncidentRow,
    evidence: list[EvidenceSummary],
    repeat_count: int,
    now: datetime,
    suppressed: bool = False,
) -> IncidentPublic:
    return IncidentPublic(
        id=row.id,
        camera=row.camera,
        zone=row.zone,
        type=row.type,
        severity=row.severity,
        status=row.status,
        presence=row.presence,
        first_seen_at=row.first_seen_at,
        alert_at=row.alert_at,
        last_seen_at=row.last_seen_at,
        first_seen_s=row.first_seen_s,
        alert_s=row.alert_s,
        last_seen_s=row.last_seen_s,
        box=row.box,
        confidence=row.confidence,
        object_classes=list(row.object_classes),
        repeat_of=row.repeat_of,
        repeat_count=repeat_count,
        team=row.team,
        evidence=[
            EvidencePublic(
                kind=e.kind,
                url=evidence_url(row.id, e.kind),
                sha256=e.sha256,
                media_type=e.media_type,
            )
            for e in evidence
        ],
        source=row.source,
        place=row.place,
        priority=priority(row.severity, repeat_count, row.alert_at, now),
        state_since=state_since(row),
        suppressed=suppressed,
    )


def incidents_public(session: Session, rows: list[IncidentRow]) -> list[IncidentPublic]:
    ids = [r.id for r in rows]
    counts = repeat_counts(session, rows)
    evidence = evidence_summaries(session, ids)
    hidden = suppressed_ids(session, rows)
    now = utc_now()
    return [
        incident_public(r, evidence[r.id], counts.get(r.id, 0), now, r.id in hidden) for r in rows
    ]


def incident_detail(session: Session, row: IncidentRow) -> IncidentDetail:
    [public] = incidents_public(session, [row])
    entries = [
        AuditPublic(at=e.at, actor=e.actor, action=e.action, detail=e.detail)
        for e in audit.entries_for_incident(session, row.id)
    ]
    return IncidentDetail(
        **public.model_dump(),
        review_reason=row.review_reason,
        review_note=row.review_note,
        resolution_note=row.resolution_note,
        legal_hold=row.legal_hold,
        evidence_pruned_at=row.evidence_pruned_at,
        audit=entries,
    )
