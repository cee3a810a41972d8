"""MQTT: a real subscriber on the local Mosquitto broker gets every alert and update, in
order, on the documented topics; a broker that is down never holds the pipeline back."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pipeline.alerts import AlertBus
from pipeline.config_enforcement import MqttConfig
from pipeline.integrations.mqtt import MqttPublisher, event_topic
from tests.integrations.conftest import (
    BROKER,
    Subscriber,
    incident_event,
    unique_prefix,
    wait_until,
)


def scenario(count: int) -> list[dict[str, object]]:
    """Alerts from two cameras with an update after every third, and camera-status noise."""
    events: list[dict[str, object]] = []
    for n in range(count):
        camera = "cam-a" if n % 2 else "cam-b"
        events.append(incident_event("incident.opened", f"inc-{n:03d}", camera))
        if n % 3 == 2:
            events.append(
                incident_event("incident.updated", f"inc-{n:03d}", camera, status="confirmed")
            )
        events.append({"type": "camera.status", "camera": {"name": camera, "state": "running"}})
    return events


def test_topics_are_the_documented_ones() -> None:
    opened = incident_event("incident.opened", "abc", "gate-1")
    updated = incident_event("incident.updated", "abc", "gate-1")
    assert event_topic("sw", opened) == "sw/alerts/gate-1"
    assert event_topic("sw", updated) == "sw/incidents/gate-1/abc"
    assert event_topic("sw", {"type": "camera.status", "camera": {}}) is None
    # MQTT wildcards and level separators in names cannot leak into the topic.
    assert (
        event_topic("sw", incident_event("incident.updated", "a/#", "c+d"))
        == "sw/incidents/c_d/a__"
    )


def test_subscriber_receives_every_alert_and_update_in_order(
    subscribe: Callable[[str], Subscriber],
) -> None:
    prefix = unique_prefix()
    subscriber = subscribe(f"{prefix}/#")
    bus = AlertBus()
    publisher = MqttPublisher(MqttConfig(topic_prefix=prefix, qos=1), bus.subscribe_thread())
    events = scenario(30)
    publisher.start()
    try:
        for event in events:  # published at once: they wait for the connection in the queue
            bus.publish(event)
        expected = [e for e in events if e["type"] != "camera.status"]
        got = subscriber.wait_for(len(expected))
    finally:
        publisher.stop()
    assert [payload for _topic, payload in got] == expected
    assert [topic for topic, _payload in got] == [event_topic(prefix, e) for e in expected]
    assert got[0][0] == f"{prefix}/alerts/cam-b"
    assert publisher.dropped == 0
    assert publisher.stats.published == len(expected)
    time.sleep(0.2)
    assert len(subscriber.messages) == len(expected)  # nothing twice


def test_broker_down_never_blocks_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.integrations")
    bus = AlertBus(max_queue=10)
    config = MqttConfig(port=_closed_port(), username="robot", password="hunter2-not-in-logs")
    publisher = MqttPublisher(config, bus.subscribe_thread(), reconnect_max_s=1)
    publisher.start()
    try:
        started = time.monotonic()
        for n in range(50):
            bus.publish(incident_event("incident.opened", f"inc-{n}"))
        assert time.monotonic() - started < 0.5
        time.sleep(2.5)  # at least two failed reconnects
    finally:
        stop_started = time.monotonic()
        publisher.stop(flush_s=1.0)
    assert time.monotonic() - stop_started < 5
    assert publisher.dropped == 40  # the queue of 10 kept the newest
    assert not publisher.connected
    outage_lines = [r for r in caplog.records if "retrying in the background" in r.getMessage()]
    assert len(outage_lines) == 1
    assert "hunter2" not in caplog.text


class CuttableProxy:
    """A TCP relay in front of the broker whose connections can be cut and refused, to
    make a real outage without touching the broker."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.holding_replies = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b, replies in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(a, b, replies), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (replies and self.holding_replies):
                    sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.refusing = True
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def hold_replies(self) -> None:
        """Swallow what the broker sends the client (acknowledgements), as a link that is
        about to fail can."""
        self.holding_replies = True

    def restore(self) -> None:
        self.refusing = False
        self.holding_replies = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy(broker: tuple[str, int]) -> Iterator[CuttableProxy]:
    relay = CuttableProxy(broker)
    yield relay
    relay.close()


@pytest.mark.parametrize("qos", [1, 2])
def test_events_published_during_an_outage_arrive_after_reconnect_in_order(
    subscribe: Callable[[str], Subscriber],
    proxy: CuttableProxy,
    caplog: pytest.LogCaptureFixture,
    qos: int,
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.integrations")
    prefix = unique_prefix()
    subscriber = subscribe(f"{prefix}/#")
    bus = AlertBus()
    config = MqttConfig(port=proxy.port, topic_prefix=prefix, qos=qos)
    publisher = MqttPublisher(config, bus.subscribe_thread(), reconnect_max_s=1)
    publisher.start()
    events = [incident_event("incident.opened", f"inc-{n}") for n in range(10)]
    try:
        wait_until(lambda: publisher.connected, 5, "the publisher to connect")
        # The broker takes the first events but its acknowledgements never come back: they
        # are in flight when the link is cut.
        proxy.hold_replies()
        for event in events[:5]:
            bus.publish(event)
        wait_until(lambda: publisher.stats.handed == 5, 5, "the first events handed to paho")
        time.sleep(0.5)
        assert publisher.stats.published == 0
        proxy.cut()
        wait_until(lambda: not publisher.connected, 5, "the publisher to notice the outage")
        for event in events[5:]:
            bus.publish(event)
        time.sleep(0.5)
        proxy.restore()
        wait_until(lambda: publisher.stats.published == 10, 15, "every event acknowledged")
        time.sleep(0.3)  # a late repeat would arrive within this
    finally:
        publisher.stop()
    got = [payload for _topic, payload in subscriber.messages]
    ids = [event["incident"]["id"] for event in got]
    assert list(dict.fromkeys(ids)) == [f"inc-{n}" for n in range(10)]  # none lost, in order
    # The first events were re-sent before anything newer: QoS 1 delivers them again
    # (at least once); QoS 2 lets the broker drop the repeats (exactly once).
    first = events[:5] if qos == 1 else []
    assert got == events[:5] + first + events[5:]
    assert publisher.dropped == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("retrying in the background" in w for w in warnings) == 1
    assert any("connected to" in w and "again; 0 events dropped" in w for w in warnings)


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    assert BROKER[1] != port
    return port
