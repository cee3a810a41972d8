"""Webhooks: signed POSTs to a real receiver on loopback, retried with back-off until it
recovers, dead letters after `max_attempts`, visible to admins only, and durable rows."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.config_enforcement import IntegrationsConfig, WebhookConfig
from pipeline.integrations import Integrations
from pipeline.integrations.webhooks import RetryPolicy, WebhookDispatcher, backoff_s, sign, verify
from pipeline.store.tables import WebhookDeliveryRow
from tests.api.conftest import CONFIG, Api
from tests.integrations.conftest import Receiver, incident_event, wait_until

SECRET = "a-shared-secret-of-32-characters"
FAST = RetryPolicy(base_s=0.02, cap_s=0.1, poll_s=0.02)


def rows(engine: Engine) -> list[WebhookDeliveryRow]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)))


def expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """Computed here from the documented recipe, not with the code under test."""
    message = headers["X-Streetwatch-Timestamp"].encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@pytest.fixture
def dispatchers() -> Iterator[list[WebhookDispatcher]]:
    made: list[WebhookDispatcher] = []
    yield made
    for dispatcher in made:
        dispatcher.stop()


def start_dispatcher(
    made: list[WebhookDispatcher], engine: Engine, bus: AlertBus, url: str, **hook: Any
) -> WebhookDispatcher:
    config = WebhookConfig(url=url, secret=SECRET, **hook)
    dispatcher = WebhookDispatcher(engine, [config], bus.subscribe_thread(), policy=FAST)
    dispatcher.start()
    made.append(dispatcher)
    return dispatcher


def test_a_receiver_that_fails_twice_gets_every_event_once_it_recovers(
    db: Engine,
    receiver_factory: Callable[..., Receiver],
    dispatchers: list[WebhookDispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pipeline.integrations")
    receiver = receiver_factory(script=[500, 500])
    bus = AlertBus()
    start_dispatcher(dispatchers, db, bus, receiver.url, max_attempts=5)
    events = [
        incident_event("incident.opened", "inc-1"),
        incident_event("incident.updated", "inc-1", status="confirmed"),
        {"type": "camera.status", "camera": {"name": "cam-a"}},  # not a webhook event
        incident_event("incident.opened", "inc-2", "cam-b"),
    ]
    for event in events:
        bus.publish(event)
    wait_until(lambda: len(receiver.accepted()) == 3, what="three deliveries")

    accepted = receiver.accepted()
    assert [r.json for r in accepted] == [events[0], events[1], events[3]]  # in order
    assert [r.headers["X-Streetwatch-Event"] for r in accepted] == [
        "incident.opened",
        "incident.updated",
        "incident.opened",
    ]
    delivery_ids = [r.headers["X-Streetwatch-Delivery"] for r in receiver.requests]
    assert delivery_ids == [delivery_ids[0]] * 3 + delivery_ids[3:]  # the first tried 3 times
    assert len(set(r.headers["X-Streetwatch-Delivery"] for r in accepted)) == 3  # each once
    assert [r.headers["X-Streetwatch-Attempt"] for r in receiver.requests[:3]] == ["1", "2", "3"]
    for request in receiver.requests:
        assert request.headers["Content-Type"] == "application/json"
        signature = request.headers["X-Streetwatch-Signature"]
        assert signature == expected_signature(SECRET, request.headers, request.body)
        assert verify(SECRET, request.headers["X-Streetwatch-Timestamp"], request.body, signature)
        assert not verify(
            "another-secret-of-enough-length",
            request.headers["X-Streetwatch-Timestamp"],
            request.body,
            signature,
        )

    # The receiver answers before the dispatcher records the answer: wait for the rows.
    wait_until(
        lambda: [r.status for r in rows(db)] == ["delivered"] * 3, what="three delivered rows"
    )
    stored = rows(db)
    assert [(r.status, r.attempts) for r in stored] == [
        ("delivered", 3),
        ("delivered", 1),
        ("delivered", 1),
    ]
    assert stored[0].last_error is not None and "HTTP 500" in stored[0].last_error
    assert all(r.delivered_at is not None for r in stored)
    assert SECRET not in caplog.text


def test_only_the_events_a_hook_asks_for_are_sent(
    db: Engine, receiver_factory: Callable[..., Receiver], dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = receiver_factory()
    bus = AlertBus()
    start_dispatcher(dispatchers, db, bus, receiver.url, events=["incident.opened"])
    bus.publish(incident_event("incident.updated", "inc-1"))
    bus.publish(incident_event("incident.opened", "inc-2"))
    wait_until(lambda: len(receiver.accepted()) == 1, what="one delivery")
    assert receiver.requests[0].json["incident"]["id"] == "inc-2"
    assert [r.event for r in rows(db)] == ["incident.opened"]


def test_pending_deliveries_survive_a_restart(
    db: Engine, receiver_factory: Callable[..., Receiver], dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = receiver_factory()
    hooks = [
        WebhookConfig(url=receiver.url, secret=SECRET),
        WebhookConfig(url="http://127.0.0.1:9/removed-later", secret=SECRET),
    ]
    before = WebhookDispatcher(db, hooks, policy=FAST)  # stored, never started: a crash
    ids = before.enqueue(incident_event("incident.opened", "inc-1"))
    assert len(ids) == 2
    assert [r.status for r in rows(db)] == ["pending", "pending"]

    # The restart's config no longer has the second URL: its row becomes a dead letter.
    after = WebhookDispatcher(db, hooks[:1], policy=FAST)
    after.start()
    dispatchers.append(after)
    wait_until(lambda: len(receiver.accepted()) == 1, what="the stored delivery")
    assert receiver.requests[0].headers["X-Streetwatch-Delivery"] == str(ids[0])
    wait_until(lambda: rows(db)[0].status == "delivered", what="the row to be marked")
    second = rows(db)[1]
    assert (second.status, second.attempts) == ("dead", 0)
    assert second.last_error is not None and "config" in second.last_error


def test_an_unreachable_receiver_is_retried_then_dead(
    db: Engine, dispatchers: list[WebhookDispatcher]
) -> None:
    bus = AlertBus()
    start_dispatcher(dispatchers, db, bus, "http://127.0.0.1:9/nobody", max_attempts=3, timeout_s=1)
    bus.publish(incident_event("incident.opened", "inc-1"))
    wait_until(lambda: bool(rows(db)) and rows(db)[0].status == "dead", what="a dead letter")
    [row] = rows(db)
    assert row.attempts == 3 and row.next_attempt_at is None
    assert row.last_error is not None and "127.0.0.1:9/nobody" in row.last_error


def test_a_receiver_that_never_recovers_leaves_a_dead_letter_for_admins(
    api: Api,
    receiver_factory: Callable[..., Receiver],
    dispatchers: list[WebhookDispatcher],
) -> None:
    receiver = receiver_factory(then=503)
    url = receiver.url + "?token=query-secret"
    start_dispatcher(dispatchers, api.engine, api.runtime.bus, url, max_attempts=3)
    api.runtime.bus.publish(incident_event("incident.opened", "inc-1"))
    wait_until(lambda: [r.status for r in rows(api.engine)] == ["dead"], what="a dead letter")
    assert len(receiver.requests) == 3

    for role in ("supervisor", "monitor", "operator", "patrol"):
        response = api.client.get("/api/webhooks/dead-letters", headers=api.auth(role))
        assert response.status_code == 403, role
    response = api.client.get("/api/webhooks/dead-letters", headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    [letter] = response.json()
    assert letter["status"] == "dead" and letter["attempts"] == 3
    assert letter["url"] == receiver.url  # shown without its query string
    assert "HTTP 503" in letter["last_error"] and "query-secret" not in response.text
    assert letter["payload"]["incident"]["id"] == "inc-1"

    retry = f"/api/webhooks/dead-letters/{letter['id']}/retry"
    assert api.client.post(retry, headers=api.auth("supervisor")).status_code == 403
    # The runtime's config does not list this URL: a retry could never be delivered.
    refused = api.client.post(retry, headers=api.auth("admin"))
    assert refused.status_code == 409, refused.text

    hook = {"url": url, "secret": SECRET}
    api.runtime.config = AppConfig.model_validate({**CONFIG, "integrations": {"webhooks": [hook]}})
    receiver.then = 200
    response = api.client.post(retry, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 0
    wait_until(lambda: rows(api.engine)[0].status == "delivered", what="the retried delivery")
    assert rows(api.engine)[0].attempts == 1
    assert api.client.get("/api/webhooks/dead-letters", headers=api.auth("admin")).json() == []
    assert api.client.post(retry, headers=api.auth("admin")).status_code == 404


def test_integrations_wiring_starts_webhooks_from_config(
    db: Engine, receiver_factory: Callable[..., Receiver]
) -> None:
    receiver = receiver_factory()
    bus = AlertBus()
    config = IntegrationsConfig(webhooks=[WebhookConfig(url=receiver.url, secret=SECRET)])
    integrations = Integrations(config, bus, db, retry=FAST)
    assert integrations.enabled and integrations.mqtt is None
    bus.publish(incident_event("incident.opened", "early"))  # before start: kept
    integrations.start()
    try:
        wait_until(lambda: len(receiver.accepted()) == 1, what="a delivery")
    finally:
        integrations.stop()
    assert json.loads(receiver.requests[0].body)["incident"]["id"] == "early"
    assert not Integrations(IntegrationsConfig(), bus, db).enabled


def test_signature_and_backoff_rules() -> None:
    body = b'{"type":"incident.opened"}'
    signature = sign(SECRET, "1700000000", body)
    assert (
        signature
        == "sha256=" + hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    )
    assert verify(SECRET, "1700000000", body, signature, now=1700000100)
    assert not verify(SECRET, "1700000000", body + b" ", signature, now=1700000100)
    assert not verify(SECRET, "1700000000", body, signature, now=1700000000 + 301)  # stale
    assert not verify(SECRET, "not-a-time", body, signature)

    rng = random.Random(7)
    waits = [backoff_s(n, base_s=5, cap_s=600, rng=rng) for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(600, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert len({round(w, 6) for w in waits}) == len(waits)  # jittered
