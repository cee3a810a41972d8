"""Workflow actions, their audit trail (hash-chained) and the resolution photo upload."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pipeline.store.audit import append, verify_chain
from pipeline.store.tables import AuditRow
from tests.api.conftest import Api


def jpeg_bytes() -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((40, 60, 3), 128, np.uint8))
    assert ok
    return bytes(data.tobytes())


def png_bytes() -> bytes:
    ok, data = cv2.imencode(".png", np.full((40, 60, 3), 64, np.uint8))
    assert ok
    return bytes(data.tobytes())


def post(api: Api, user: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = api.client.post(path, headers=api.auth(user), **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_full_lifecycle_is_audited_with_actors(api: Api) -> None:
    api.add_incident(incident_id="inc-1")
    base = "/api/incidents/inc-1"
    reviewed = post(api, "operator", f"{base}/review", json={"decision": "confirm", "note": "car"})
    assert reviewed["status"] == "confirmed" and reviewed["review_note"] == "car"
    sent = post(api, "supervisor", f"{base}/dispatch", json={"team": "team-1"})
    assert sent["status"] == "dispatched" and sent["team"] == "team-1"
    acked = post(api, "patrol", f"{base}/acknowledge")
    assert acked["status"] == "acknowledged"
    done = post(api, "patrol", f"{base}/resolve", data={"note": "moved on"})
    assert done["status"] == "resolved" and done["resolution_note"] == "moved on"
    trail = [(a["actor"], a["action"]) for a in done["audit"]]
    assert trail == [
        ("operator", "incident.review"),
        ("supervisor", "incident.dispatch"),
        ("patrol", "incident.acknowledge"),
        ("patrol", "incident.resolve"),
    ]
    assert done["audit"][0]["detail"] == {
        "from": "new",
        "to": "confirmed",
        "review_note": "car",
    }
    assert verify_chain(api.engine) == []
    stats = api.client.get("/api/stats", headers=api.auth("supervisor")).json()
    assert stats["review_seconds"]["median"] is not None
    assert stats["resolve_seconds"]["p90"] is not None


def test_invalid_transitions_are_409_and_change_nothing(api: Api) -> None:
    api.add_incident(incident_id="inc-1")
    headers = api.auth("admin")
    base = "/api/incidents/inc-1"
    assert api.client.post(f"{base}/acknowledge", headers=headers).status_code == 409
    assert (
        api.client.post(f"{base}/dispatch", json={"team": "team-1"}, headers=headers).status_code
        == 409
    )
    assert (
        api.client.post(f"{base}/resolve", data={"note": "x"}, headers=headers).status_code == 409
    )
    post(api, "admin", f"{base}/review", json={"decision": "dismiss", "reason": "shadow"})
    again = api.client.post(f"{base}/review", json={"decision": "confirm"}, headers=headers)
    assert again.status_code == 409
    assert "dismissed" in again.json()["detail"]
    detail = api.client.get(base, headers=headers).json()
    assert detail["status"] == "dismissed" and len(detail["audit"]) == 1
    missing = api.client.post("/api/incidents/nope/review", json={"decision": "confirm"})
    assert missing.status_code == 401  # no credentials at all


def test_dispatch_needs_a_team_that_covers_the_zone(api: Api) -> None:
    api.add_incident(incident_id="inc-1", status="confirmed")
    headers = api.auth("operator")
    url = "/api/incidents/inc-1/dispatch"
    assert api.client.post(url, json={"team": "ghost"}, headers=headers).status_code == 422
    wrong = api.client.post(url, json={"team": "team-2"}, headers=headers)
    assert wrong.status_code == 422 and "cam-a/z1" in wrong.json()["detail"]


def test_patrol_of_another_team_cannot_acknowledge(api: Api) -> None:
    api.add_incident(incident_id="inc-1", status="confirmed")
    post(api, "operator", "/api/incidents/inc-1/dispatch", json={"team": "team-1"})
    response = api.client.post("/api/incidents/inc-1/acknowledge", headers=api.auth("patrol2"))
    assert response.status_code == 404


def test_audit_chain_detects_a_modified_row(api: Api) -> None:
    api.add_incident(incident_id="inc-1")
    post(api, "operator", "/api/incidents/inc-1/review", json={"decision": "confirm"})
    post(api, "operator", "/api/incidents/inc-1/dispatch", json={"team": "team-1"})
    assert verify_chain(api.engine) == []
    with Session(api.engine) as session, session.begin():
        first = session.scalars(select(AuditRow).order_by(AuditRow.id)).first()
        assert first is not None
        session.execute(update(AuditRow).where(AuditRow.id == first.id).values(actor="someone"))
    problems = verify_chain(api.engine)
    assert problems and "content does not match" in problems[0]


def test_audit_chain_detects_a_removed_row(api: Api) -> None:
    api.add_incident(incident_id="inc-1")
    post(api, "operator", "/api/incidents/inc-1/review", json={"decision": "confirm"})
    post(api, "operator", "/api/incidents/inc-1/dispatch", json={"team": "team-1"})
    with Session(api.engine) as session, session.begin():
        first = session.scalars(select(AuditRow).order_by(AuditRow.id)).first()
        session.delete(first)
    assert any("does not follow" in p for p in verify_chain(api.engine))


def dispatched(api: Api) -> str:
    api.add_incident(incident_id="inc-1", status="confirmed")
    post(api, "operator", "/api/incidents/inc-1/dispatch", json={"team": "team-1"})
    return "/api/incidents/inc-1/resolve"


def test_resolve_with_photo_stores_evidence(api: Api) -> None:
    url = dispatched(api)
    files = {"photo": ("fixed.png", png_bytes(), "image/png")}
    body = post(api, "patrol", url, data={"note": "cleared"}, files=files)
    kinds = [e["kind"] for e in body["evidence"]]
    assert kinds == ["resolution_photo"]
    photo = api.client.get("/api/evidence/inc-1/resolution_photo", headers=api.auth("patrol"))
    assert photo.status_code == 200 and photo.content.startswith(b"\xff\xd8\xff")


def test_resolve_rejects_a_photo_that_is_not_an_image(api: Api) -> None:
    url = dispatched(api)
    files = {"photo": ("x.jpg", b"GIF89a not really", "image/jpeg")}
    response = api.client.post(url, data={"note": "x"}, files=files, headers=api.auth("patrol"))
    assert response.status_code == 415
    detail = api.client.get("/api/incidents/inc-1", headers=api.auth("patrol")).json()
    assert detail["status"] == "dispatched"


def test_resolve_rejects_an_oversized_photo(api: Api) -> None:
    url = dispatched(api)
    big = jpeg_bytes() + b"\0" * (5 * 1024 * 1024)
    files = {"photo": ("big.jpg", big, "image/jpeg")}
    response = api.client.post(url, data={"note": "x"}, files=files, headers=api.auth("patrol"))
    assert response.status_code == 413
    ok = api.client.post(
        url,
        data={"note": "x"},
        files={"photo": ("ok.jpg", jpeg_bytes(), "image/jpeg")},
        headers=api.auth("patrol"),
    )
    assert ok.status_code == 200


def test_concurrent_appends_keep_one_chain(api: Api) -> None:
    def write(actor: str) -> None:
        for n in range(15):
            with Session(api.engine) as session:
                append(session, actor, "test.append", None, {"n": n})
                if n % 5 == 4:
                    session.rollback()  # a failed change must release the lock too
                else:
                    session.commit()

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    with Session(api.engine) as session:
        count = session.scalar(select(func.count()).select_from(AuditRow))
    assert count == 4 * 12
    assert verify_chain(api.engine) == []
