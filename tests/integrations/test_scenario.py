"""Acceptance: incidents stored by the real sink and an update made through the API reach
an MQTT subscriber and a webhook receiver that fails twice; and `serve` and `run` wire the
integrations from the config."""

from __future__ import annotations

import argparse
import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.events import make_incident_listener
from cli.common import open_storage
from cli.run_cmd import _integrations
from cli.serve_cmd import build_runtime
from pipeline.config import AppConfig
from pipeline.config_enforcement import IntegrationsConfig, MqttConfig, WebhookConfig
from pipeline.evidence import EvidenceWriter
from pipeline.integrations import Integrations
from pipeline.integrations.webhooks import RetryPolicy
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store import users
from tests.api.conftest import CONFIG, T0, Api, make_record, seed_people
from tests.integrations.conftest import Receiver, Subscriber, unique_prefix, wait_until

SECRET = "scenario-secret-0123456789abcdef"
FAST = RetryPolicy(base_s=0.02, cap_s=0.1, poll_s=0.02)


def pictures() -> AlertPictures:
    image = np.full((120, 160, 3), 90, np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return AlertPictures(
        first_seen_jpeg=jpeg.tobytes(),
        alert_jpeg=jpeg.tobytes(),
        alert_image=image,
        zone_polygon_px=np.array([[10, 10], [150, 10], [150, 110], [10, 110]], np.int32),
        label_lines=["scenario"],
    )


def signature_ok(request_headers: dict[str, str], body: bytes) -> bool:
    message = request_headers["X-Streetwatch-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request_headers["X-Streetwatch-Signature"])


def test_every_alert_of_a_scenario_reaches_mqtt_and_a_webhook_that_fails_twice(
    api: Api,
    subscribe: Callable[[str], Subscriber],
    receiver_factory: Callable[..., Receiver],
) -> None:
    prefix = unique_prefix()
    subscriber = subscribe(f"{prefix}/#")
    receiver = receiver_factory(script=[500, 500])
    config = IntegrationsConfig(
        mqtt=MqttConfig(topic_prefix=prefix, qos=1),
        webhooks=[WebhookConfig(url=receiver.url, secret=SECRET)],
    )
    integrations = Integrations(config, api.runtime.bus, api.engine, retry=FAST)
    integrations.start()
    try:
        sink = IncidentSink(
            EvidenceWriter(api.evidence_dir),
            api.store,
            listeners=[make_incident_listener(api.runtime)],
        )
        cameras = ["cam-a", "cam-b", "cam-a", "cam-b", "cam-a"]
        for n, camera in enumerate(cameras):
            record = make_record(f"scn-{n}", camera=camera, alert_at=T0 + timedelta(minutes=n))
            sink.opened(record, pictures())
        sink.close()
        reviewed = api.client.post(
            "/api/incidents/scn-1/review",
            json={"decision": "confirm"},
            headers=api.auth("operator"),
        )
        assert reviewed.status_code == 200, reviewed.text
        messages = subscriber.wait_for(6)
        wait_until(lambda: len(receiver.accepted()) == 6, what="six webhook deliveries")
    finally:
        integrations.stop()

    expected_topics = [f"{prefix}/alerts/{c}" for c in cameras] + [
        f"{prefix}/incidents/cam-b/scn-1"
    ]
    assert [topic for topic, _ in messages] == expected_topics
    assert [m["incident"]["id"] for _, m in messages] == [f"scn-{n}" for n in range(5)] + ["scn-1"]
    assert [m["type"] for _, m in messages] == ["incident.opened"] * 5 + ["incident.updated"]
    assert messages[-1][1]["incident"]["status"] == "confirmed"
    assert len(messages[0][1]["incident"]["evidence"]) == 3

    accepted = receiver.accepted()
    assert [(r.json["type"], r.json["incident"]["id"]) for r in accepted] == [
        (m["type"], m["incident"]["id"]) for _, m in messages
    ]
    assert len({r.headers["X-Streetwatch-Delivery"] for r in accepted}) == 6  # each once
    assert len(receiver.requests) == 8  # the first event took three tries
    assert all(signature_ok(r.headers, r.body) for r in receiver.requests)
    assert integrations.mqtt is not None and integrations.mqtt.dropped == 0


def test_serve_starts_integrations_from_the_config(
    tmp_path: Path, receiver_factory: Callable[..., Receiver]
) -> None:
    receiver = receiver_factory()
    hook = {"url": receiver.url, "secret": SECRET, "events": ["incident.updated"]}
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "integrations": {"webhooks": [hook]}}))
    args = argparse.Namespace(
        config=config, data_dir=tmp_path / "data", model=None, no_cameras=True
    )
    settings, runtime = build_runtime(args)
    seed_people(runtime.engine)
    runtime.store.add_incident(make_record("srv-1"))
    with Session(runtime.engine) as session:
        user = users.find_user(session, "operator")
        assert user is not None
        token = users.start_session(session, user, timedelta(hours=1)).token
        session.commit()
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post(
            "/api/incidents/srv-1/review",
            json={"decision": "dismiss", "reason": "other"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        wait_until(lambda: len(receiver.accepted()) == 1, what="the update's webhook")
    [request] = receiver.accepted()
    assert request.headers["X-Streetwatch-Event"] == "incident.updated"
    assert request.json["incident"]["id"] == "srv-1"
    assert signature_ok(request.headers, request.body)


def test_run_announces_stored_incidents_to_the_integrations(
    tmp_path: Path, receiver_factory: Callable[..., Receiver]
) -> None:
    receiver = receiver_factory()
    storage = open_storage(tmp_path / "data")
    plain = AppConfig.model_validate(CONFIG)
    assert _integrations(plain, storage)[1] == []  # nothing configured: no listener, no work
    hook = {"url": receiver.url, "secret": SECRET}
    app = AppConfig.model_validate({**CONFIG, "integrations": {"webhooks": [hook]}})
    integrations, listeners, updates = _integrations(app, storage)
    integrations.start()
    try:
        sink = IncidentSink(storage.writer, storage.store, listeners=listeners)
        sink.opened(make_record("run-1"), pictures())
        sink.close()
        wait_until(lambda: len(receiver.accepted()) == 1, what="the alert's webhook")
        # The camera's own status changes (rectified, reopened) reach them too.
        [on_updated] = updates
        on_updated("run-1")
        wait_until(lambda: len(receiver.accepted()) == 2, what="the update's webhook")
    finally:
        integrations.stop()
    opened, updated = receiver.accepted()
    assert opened.json["type"] == "incident.opened"
    assert opened.json["incident"]["id"] == "run-1"
    assert updated.json["type"] == "incident.updated"
    assert updated.json["incident"]["id"] == "run-1"
    assert signature_ok(opened.headers, opened.body) and signature_ok(updated.headers, updated.body)
