"""Legal hold: an incident whose evidence retention must never delete (a court case, a
complaint under investigation). Setting or lifting it is a manager's decision, audited."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from api.convert import incident_detail
from api.deps import CurrentUser, DbSession
from api.schemas import IncidentDetail
from pipeline.store import audit
from pipeline.store.tables import IncidentRow

logger = logging.getLogger(__name__)
router = APIRouter(tags=["retention"])

LEGAL_HOLD_ACTION = "incident.legal_hold"


class LegalHoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold: bool = Field(description="true: keep its evidence whatever the retention; false: lift")
    reason: str = Field(
        min_length=1, max_length=200, pattern=r"\S", description="why, for the audit log"
    )


@router.post("/api/incidents/{incident_id}/legal-hold", response_model=IncidentDetail)
def set_legal_hold(
    incident_id: str, body: LegalHoldRequest, user: CurrentUser, db: DbSession
) -> IncidentDetail:
    # FOR UPDATE (PostgreSQL): a retention run deciding on this incident waits for us.
    row = db.get(IncidentRow, incident_id, with_for_update=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id!r}")
    if row.evidence_pruned_at is not None and body.hold and not row.evidence:
        logger.warning("legal hold on incident %s whose evidence was already pruned", row.id)
    if row.legal_hold != body.hold:
        detail = {"hold": body.hold, "reason": body.reason.strip()}
        row.legal_hold = body.hold
        audit.append(db, user.username, LEGAL_HOLD_ACTION, row.id, detail)
        logger.info("incident %s: legal hold %s by %s", row.id, body.hold, user.username)
    db.commit()
    return incident_detail(db, row)
