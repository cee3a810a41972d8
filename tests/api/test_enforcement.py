"""Suppressed spots, incidents reported by hand, priority and the age clock."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import cv2
import numpy as np

from pipeline.store.audit import verify_chain
from pipeline.store.tables import utc_now
from tests.api.conftest import T0, Api, make_record

OTHER_SPOT = (400.0, 300.0, 500.0, 400.0)


def ids(api: Api, user: str = "operator", **query: object) -> list[str]:
    response = api.client.get("/api/incidents", params=query, headers=api.auth(user))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def add(api: Api, incident_id: str, **changes: object) -> None:
    base = make_record(incident_id=incident_id, alert_at=T0 + timedelta(minutes=len(incident_id)))
    api.store.add_incident(dataclasses.replace(base, **changes))  # type: ignore[arg-type]


def test_suppressed_spot_is_hidden_from_review_until_lifted(api: Api) -> None:
    add(api, "bench-1")
    add(api, "bench-22")  # same spot, later
    add(api, "car-333", box=OTHER_SPOT)
    response = api.client.post(
        "/api/incidents/bench-1/suppress-spot",
        json={"reason": "a bench, not a stall"},
        headers=api.auth("operator"),
    )
    assert response.status_code == 200, response.text
    spot = response.json()
    assert spot["created_by"] == "operator" and spot["lifted_at"] is None

    assert ids(api, status="new", suppressed="false") == ["car-333"]
    assert sorted(ids(api, suppressed="true")) == ["bench-1", "bench-22"]
    listed = api.client.get("/api/incidents", headers=api.auth("operator")).json()["items"]
    assert {i["id"]: i["suppressed"] for i in listed} == {
        "bench-1": True,
        "bench-22": True,
        "car-333": False,
    }

    lifted = api.client.post(f"/api/suppressions/{spot['id']}/lift", headers=api.auth("operator"))
    assert lifted.status_code == 200 and lifted.json()["lifted_by"] == "operator"
    assert sorted(ids(api, suppressed="false")) == ["bench-1", "bench-22", "car-333"]
    assert api.client.get("/api/suppressions", headers=api.auth("monitor")).json() == []
    every = api.client.get(
        "/api/suppressions", params={"include_lifted": "true"}, headers=api.auth("monitor")
    ).json()
    assert [s["id"] for s in every] == [spot["id"]]
    assert verify_chain(api.engine) == []


def test_patrol_and_monitor_cannot_suppress_and_unknown_ids_are_404(api: Api) -> None:
    add(api, "bench-1")
    for user in ("patrol", "monitor"):
        response = api.client.post(
            "/api/incidents/bench-1/suppress-spot", json={"reason": "x"}, headers=api.auth(user)
        )
        assert response.status_code == 403
    missing = api.client.post(
        "/api/incidents/nope/suppress-spot", json={"reason": "x"}, headers=api.auth("operator")
    )
    assert missing.status_code == 404
    assert (
        api.client.post("/api/suppressions/99/lift", headers=api.auth("admin")).status_code == 404
    )


def test_spot_dismissed_three_times_is_offered_for_suppression(api: Api) -> None:
    recent = utc_now() - timedelta(days=1)
    for n in range(3):
        add(api, f"fp-{n}", status="dismissed", alert_at=recent + timedelta(minutes=n))
    add(api, "fp-other", status="dismissed", alert_at=recent, box=OTHER_SPOT)
    response = api.client.get("/api/suppressions/candidates", headers=api.auth("operator"))
    assert response.status_code == 200, response.text
    [candidate] = response.json()
    assert candidate["dismissed"] == 3 and candidate["latest_incident"] == "fp-2"
    api.client.post(
        "/api/incidents/fp-2/suppress-spot", json={"reason": "bench"}, headers=api.auth("operator")
    )
    again = api.client.get("/api/suppressions/candidates", headers=api.auth("operator"))
    assert again.json() == []


def jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((30, 40, 3), 200, np.uint8))
    assert ok
    return bytes(data.tobytes())


def test_reported_incident_enters_the_same_lifecycle_with_its_photo(api: Api) -> None:
    response = api.client.post(
        "/api/incidents/report",
        data={
            "type": "street_vending",
            "place": "12 Hang Bac, outside the pharmacy",
            "note": "citizen call",
            "severity": "high",
        },
        files={"photo": ("p.jpg", jpeg(), "image/jpeg")},
        headers=api.auth("patrol"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "reported" and body["status"] == "new"
    assert body["place"] == "12 Hang Bac, outside the pharmacy"
    assert [e["kind"] for e in body["evidence"]] == ["report_photo"]
    assert body["audit"][0]["action"] == "incident.report"
    assert body["audit"][0]["actor"] == "patrol"
    assert ids(api, source="reported") == [body["id"]]
    assert ids(api, source="camera") == []
    photo = api.client.get(body["evidence"][0]["url"], headers=api.auth("operator"))
    assert photo.status_code == 200 and photo.content == jpeg()
    reviewed = api.client.post(
        f"/api/incidents/{body['id']}/review",
        json={"decision": "confirm"},
        headers=api.auth("operator"),
    )
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "confirmed"


def test_bad_reports_are_refused_with_the_reason(api: Api) -> None:
    bad_type = api.client.post(
        "/api/incidents/report",
        data={"type": "littering", "place": "x"},
        headers=api.auth("operator"),
    )
    assert bad_type.status_code == 422 and "type" in bad_type.text
    no_place = api.client.post(
        "/api/incidents/report", data={"type": "street_vending"}, headers=api.auth("operator")
    )
    assert no_place.status_code == 422 and "place" in no_place.text
    not_image = api.client.post(
        "/api/incidents/report",
        data={"type": "street_vending", "place": "x"},
        files={"photo": ("p.jpg", b"not a picture", "image/jpeg")},
        headers=api.auth("operator"),
    )
    assert not_image.status_code == 415
    assert ids(api) == []


def test_priority_orders_severity_then_repeats_then_age(api: Api) -> None:
    now = utc_now()
    add(api, "medium-old", alert_at=now - timedelta(hours=10.5))
    add(api, "medium-new", alert_at=now)
    add(api, "high-new", alert_at=now, severity="high")
    add(api, "repeat-new", alert_at=now, repeat_of="medium-old")
    items = api.client.get("/api/incidents", headers=api.auth("operator")).json()["items"]
    priority = {i["id"]: i["priority"] for i in items}
    # 100 x severity + 30 x repeats + whole hours of age (see pipeline/store/priority.py).
    assert priority == {"high-new": 300, "repeat-new": 230, "medium-old": 210, "medium-new": 200}
    state_since = {i["id"]: i["state_since"] for i in items}
    alert_at = {i["id"]: i["alert_at"] for i in items}
    assert state_since == alert_at  # all still new: their clock started at the alert
