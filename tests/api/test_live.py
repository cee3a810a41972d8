"""Live alerts: an incident stored by the real sink reaches WebSocket and SSE clients."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from starlette.testclient import WebSocketDenialResponse

from api.events import make_incident_listener
from pipeline.evidence import EvidenceWriter
from pipeline.records import IncidentRecord
from pipeline.sink import AlertPictures, IncidentSink
from tests.api.conftest import Api, make_record


def pictures() -> AlertPictures:
    image = np.full((120, 160, 3), 90, np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return AlertPictures(
        first_seen_jpeg=jpeg.tobytes(),
        alert_jpeg=jpeg.tobytes(),
        alert_image=image,
        zone_polygon_px=np.array([[10, 10], [150, 10], [150, 110], [10, 110]], np.int32),
        label_lines=["cam-a z1"],
    )


def store_through_sink(api: Api, record: IncidentRecord) -> float:
    """Store one incident the way the pipeline does; returns when it was handed over."""
    sink = IncidentSink(
        EvidenceWriter(api.evidence_dir), api.store, listeners=[make_incident_listener(api.runtime)]
    )
    started = time.monotonic()
    sink.opened(record, pictures())
    sink.close()
    return started


def wait_for_subscriber(api: Api) -> None:
    deadline = time.monotonic() + 5
    while api.runtime.bus.subscriber_count == 0:
        assert time.monotonic() < deadline, "client never subscribed"
        time.sleep(0.01)


def receive_within(ws: Any, seconds: float) -> dict[str, Any]:
    got: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: got.append(ws.receive_json()), daemon=True)
    reader.start()
    reader.join(seconds)
    assert got, f"no message within {seconds} s"
    return got[0]


def test_websocket_gets_incident_opened_within_a_second(api: Api) -> None:
    with api.client.websocket_connect("/api/live", headers=api.auth("monitor")) as ws:
        wait_for_subscriber(api)
        started = store_through_sink(api, make_record("live-1"))
        event = receive_within(ws, 2.0)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert event["type"] == "incident.opened"
    incident = event["incident"]
    assert incident["id"] == "live-1" and incident["status"] == "new"
    assert {e["kind"] for e in incident["evidence"]} == {
        "first_seen",
        "alert_clean",
        "alert_annotated",
    }


def test_websocket_gets_updates_from_actions(api: Api) -> None:
    api.add_incident(incident_id="inc-1")
    api.login("operator")  # the cookie signs the WebSocket in
    with api.client.websocket_connect("/api/live") as ws:
        wait_for_subscriber(api)
        api.client.post(
            "/api/incidents/inc-1/review",
            json={"decision": "confirm"},
            headers=api.auth("operator"),
        )
        event = receive_within(ws, 2.0)
    assert event["type"] == "incident.updated"
    assert event["incident"]["status"] == "confirmed"


def test_websocket_with_ticket_and_without_credentials(api: Api) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        api.client.websocket_connect("/api/live"),
    ):
        pass
    assert denied.value.status_code == 401
    ticket = api.client.post("/api/auth/ticket", headers=api.auth("monitor")).json()["ticket"]
    with api.client.websocket_connect(f"/api/live?ticket={ticket}"):
        wait_for_subscriber(api)
    with (
        pytest.raises(WebSocketDenialResponse),
        api.client.websocket_connect(f"/api/live?ticket={ticket}"),
    ):
        pass


def test_patrol_websocket_only_gets_its_teams_incidents(api: Api) -> None:
    api.add_incident(incident_id="theirs", camera="cam-b", status="confirmed")
    api.add_incident(incident_id="mine", status="confirmed")
    with api.client.websocket_connect("/api/live", headers=api.auth("patrol")) as ws:
        wait_for_subscriber(api)
        boss = api.auth("supervisor")
        for incident_id, team in (("theirs", "team-2"), ("mine", "team-1")):
            api.client.post(
                f"/api/incidents/{incident_id}/dispatch", json={"team": team}, headers=boss
            )
        event = receive_within(ws, 2.0)
    assert event["incident"]["id"] == "mine"


def test_sse_gets_incident_opened_within_a_second(api: Api, server: str) -> None:
    headers = api.auth("monitor")
    with httpx.stream("GET", f"{server}/api/live/sse", headers=headers, timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith(":")  # the opening comment
        wait_for_subscriber(api)
        started = store_through_sink(api, make_record("live-sse"))
        data = next(line for line in lines if line.startswith("data: "))
        elapsed = time.monotonic() - started
    event = json.loads(data.removeprefix("data: "))
    assert event["type"] == "incident.opened" and event["incident"]["id"] == "live-sse"
    assert elapsed < 1.0


def test_sse_needs_sign_in(api: Api) -> None:
    assert api.client.get("/api/live/sse").status_code == 401
