"""POST /api/incidents/{id}/legal-hold: managers only, audited, and retention respects it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from pipeline.config_enforcement import RetentionConfig
from pipeline.records import EvidenceFile, EvidenceKind
from pipeline.recovery import verify
from pipeline.retention import plan_retention
from pipeline.retention_apply import apply_plan
from pipeline.store.audit import verify_chain
from pipeline.store.tables import IncidentRow
from tests.api.conftest import T0, Api

LATER = T0 + timedelta(days=400)


def _dismissed_with_evidence(api: Api, incident_id: str) -> str:
    """A dismissed incident (long past retention) with one real evidence file."""
    api.add_incident(incident_id=incident_id)
    data = b"\xff\xd8" + incident_id.encode() * 50
    relative = f"{incident_id[:2]}/{incident_id}/alert_annotated.jpg"
    path = api.evidence_dir / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    kind = EvidenceKind.alert_annotated
    api.store.add_evidence(
        incident_id, [EvidenceFile(kind, relative, digest, len(data), "image/jpeg")]
    )
    with Session(api.engine) as session, session.begin():
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        row.status = "dismissed"
        row.reviewed_at = T0
    return relative


def _hold(
    api: Api, user: str, incident_id: str, hold: bool, reason: str = "court case 12/26"
) -> httpx.Response:
    return api.client.post(
        f"/api/incidents/{incident_id}/legal-hold",
        json={"hold": hold, "reason": reason},
        headers=api.auth(user),
    )


def _retention(api: Api) -> list[str]:
    with Session(api.engine) as session:
        plan = plan_retention(session, api.evidence_dir, RetentionConfig(), LATER)
    return apply_plan(api.engine, api.evidence_dir, plan).pruned


def test_supervisor_sets_legal_hold_audited_and_retention_keeps_the_evidence(api: Api) -> None:
    relative = _dismissed_with_evidence(api, "inc-held")
    _dismissed_with_evidence(api, "inc-free")

    response = _hold(api, "supervisor", "inc-held", True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["legal_hold"] is True
    assert body["evidence_pruned_at"] is None
    [entry] = [a for a in body["audit"] if a["action"] == "incident.legal_hold"]
    assert entry["actor"] == "supervisor"
    assert entry["detail"] == {"hold": True, "reason": "court case 12/26"}

    assert _retention(api) == ["inc-free"]
    assert (api.evidence_dir / relative).is_file()
    detail = api.client.get("/api/incidents/inc-held", headers=api.auth("admin")).json()
    assert detail["legal_hold"] is True
    assert [e["kind"] for e in detail["evidence"]] == ["alert_annotated"]
    pruned = api.client.get("/api/incidents/inc-free", headers=api.auth("admin")).json()
    assert pruned["evidence"] == []
    assert pruned["evidence_pruned_at"] is not None

    # Lifted by an admin: the next run prunes it.
    lifted = _hold(api, "admin", "inc-held", False, "case closed")
    assert lifted.status_code == 200
    assert lifted.json()["legal_hold"] is False
    assert _retention(api) == ["inc-held"]
    assert not (api.evidence_dir / relative).exists()
    assert verify_chain(api.engine) == []
    assert verify(api.engine, api.evidence_dir).problems == []


def test_setting_the_same_hold_twice_writes_one_audit_entry(api: Api) -> None:
    _dismissed_with_evidence(api, "inc-1")
    assert _hold(api, "admin", "inc-1", True).status_code == 200
    body = _hold(api, "admin", "inc-1", True).json()
    assert [a["action"] for a in body["audit"]].count("incident.legal_hold") == 1


@pytest.mark.parametrize("user", ["operator", "patrol", "monitor"])
def test_other_roles_may_not_set_legal_hold(api: Api, user: str) -> None:
    _dismissed_with_evidence(api, "inc-1")
    assert _hold(api, user, "inc-1", True).status_code == 403
    with Session(api.engine) as session:
        row = session.get(IncidentRow, "inc-1")
        assert row is not None and row.legal_hold is False


def test_legal_hold_needs_a_reason_and_a_known_incident(api: Api) -> None:
    _dismissed_with_evidence(api, "inc-1")
    assert _hold(api, "admin", "inc-1", True, reason="   ").status_code == 422
    assert _hold(api, "admin", "nope", True).status_code == 404
    bad = api.client.post(
        "/api/incidents/inc-1/legal-hold", json={"hold": True}, headers=api.auth("admin")
    )
    assert bad.status_code == 422
