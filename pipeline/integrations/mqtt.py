"""Alerts and incident updates published to an MQTT broker (paho-mqtt 2.x).

Topics (see docs/integrations.md):
- `{prefix}/alerts/{camera}` carries `incident.opened` events;
- `{prefix}/incidents/{camera}/{incident_id}` carries `incident.updated` events.
The payload is the event itself as JSON: `{"type": ..., "incident": {...}}`.

The publisher never holds the pipeline back: events wait in the bus subscription's bounded
queue (oldest dropped and counted when full) while the broker is unreachable; paho
reconnects in the background, and one warning is logged per outage, not per event.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from pipeline.alerts import ThreadSubscription
from pipeline.config_enforcement import MqttConfig

log = logging.getLogger(__name__)

_UNSAFE = str.maketrans({"/": "_", "+": "_", "#": "_"})


def event_topic(prefix: str, event: dict[str, Any]) -> str | None:
    """The topic for an event, or None for events MQTT does not carry."""
    incident = event.get("incident") or {}
    camera = str(incident.get("camera", "unknown")).translate(_UNSAFE)
    if event.get("type") == "incident.opened":
        return f"{prefix}/alerts/{camera}"
    if event.get("type") == "incident.updated":
        incident_id = str(incident.get("id", "unknown")).translate(_UNSAFE)
        return f"{prefix}/incidents/{camera}/{incident_id}"
    return None


@dataclass(slots=True)
class MqttStats:
    handed: int = 0  # given to paho
    published: int = 0  # sent (QoS 0) or acknowledged by the broker (QoS 1 and 2)
    refused: int = 0  # paho's queue was full, or QoS 0 while disconnected or caught in a cut


class MqttPublisher:
    """Publishes bus events from a thread while connected; reconnects in the background.

    >>> config = MqttConfig(host="127.0.0.1", topic_prefix="city")
    >>> publisher = MqttPublisher(config, bus.subscribe_thread())  # doctest: +SKIP
    >>> publisher.start(); ...; publisher.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        config: MqttConfig,
        events: ThreadSubscription,
        max_queued: int = 1000,
        reconnect_max_s: int = 30,
    ) -> None:
        self.config = config
        self.events = events
        self.stats = MqttStats()
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._acked = threading.Condition()
        self._in_outage = False
        self._catching_up = False  # paho is re-sending what was in flight at a cut
        self._dropped_at_outage = 0
        self._started = False
        # A persistent session (named client, clean_session off) makes the broker and paho
        # re-send QoS 1/2 messages that were in flight when the connection dropped.
        client_id = config.client_id or f"streetwatch-{uuid.uuid4().hex[:12]}"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if config.username is not None:
            self._client.username_pw_set(config.username, config.password)
        # QoS 1/2 messages handed over just before a disconnect wait in paho's queue and
        # are re-sent on reconnect; the cap keeps that queue bounded too.
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(1, reconnect_max_s)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._thread = threading.Thread(target=self._publish_loop, name="mqtt", daemon=True)

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    @property
    def dropped(self) -> int:
        """Events lost: pushed out of the full queue during an outage, or refused by paho."""
        return self.events.dropped + self.stats.refused

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._started = True
        self._client.connect_async(self.config.host, self.config.port, keepalive=30)
        self._client.loop_start()
        self._thread.start()
        log.info("MQTT: publishing to %s under %s/", self.where, self.config.topic_prefix)

    def stop(self, flush_s: float = 5.0) -> None:
        """Publish what is queued (if connected, for up to `flush_s`), then disconnect."""
        deadline = time.monotonic() + flush_s
        self._stop.set()
        if not self._started:
            self.events.close()
            return
        self._thread.join(flush_s)
        self.events.close()
        self._wait_for_acks(deadline)
        unsent = self.stats.handed - self.stats.published + self.events.queue.qsize()
        if unsent:
            log.warning("MQTT: stopping with %d events not delivered to %s", unsent, self.where)
        self._client.disconnect()
        self._client.loop_stop()

    def _publish_loop(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if not self._connected.is_set():
                if stopping:
                    return
                self._connected.wait(0.2)
                continue
            if self._catching_up and not stopping:
                self._catch_up()
                continue
            event = self.events.get(timeout=0 if stopping else 0.2)
            if event is None:
                if stopping:
                    return
                continue
            self._publish(event)

    def _catch_up(self, limit_s: float = 10.0) -> None:
        """Messages in flight at a cut are re-sent by paho first; new events wait for their
        acknowledgements, so a subscriber gets everything in order."""
        if not self._wait_for_acks(time.monotonic() + limit_s, stop=self._stop):
            log.warning(
                "MQTT: re-sent messages not acknowledged by %s within %.0f s; publishing "
                "newer events anyway, order may not hold",
                self.where,
                limit_s,
            )
        with self._acked:
            self._catching_up = False

    def _wait_for_acks(self, deadline: float, stop: threading.Event | None = None) -> bool:
        """Until every message handed to paho is acknowledged (True), or the connection drops,
        `stop` is set or the deadline passes (False)."""
        with self._acked:
            while self.stats.published < self.stats.handed:
                left = deadline - time.monotonic()
                if left <= 0 or not self._connected.is_set() or (stop and stop.is_set()):
                    return False
                self._acked.wait(min(left, 0.1))
        return True

    def _publish(self, event: dict[str, Any]) -> None:
        topic = event_topic(self.config.topic_prefix, event)
        if topic is None:
            return
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        with self._acked:
            self.stats.handed += 1
        info = self._client.publish(topic, payload, qos=self.config.qos)
        kept = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
            info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and self.config.qos > 0
        )
        if not kept:
            with self._acked:
                self.stats.handed -= 1
                self.stats.refused += 1
            log.debug("MQTT: %s not published (%s)", topic, paho.error_string(info.rc))

    # paho callbacks, on paho's network thread.

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            # Wrong credentials or client id: paho keeps retrying; say it once.
            self._begin_outage(f"broker refused the connection ({reason})")
            return
        with self._acked:
            unacked = self.stats.handed - self.stats.published
            if self.config.qos == 0 and unacked:
                # QoS 0 messages caught in the cut are gone (paho never re-sends them).
                self.stats.refused += unacked
                self.stats.handed = self.stats.published
            self._catching_up = self.config.qos > 0 and unacked > 0
        self._connected.set()
        if self._in_outage:
            lost = self.dropped - self._dropped_at_outage
            log.warning(
                "MQTT: connected to %s again; %d events dropped meanwhile", self.where, lost
            )
        else:
            log.info("MQTT: connected to %s", self.where)
        self._in_outage = False

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self._begin_outage("cannot connect")

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            self._begin_outage(f"disconnected ({reason})")

    def _on_publish(self, _c: Any, _u: Any, _mid: int, _reason: Any, _props: Any) -> None:
        with self._acked:
            self.stats.published += 1
            self._acked.notify_all()

    def _begin_outage(self, why: str) -> None:
        self._connected.clear()
        if self._in_outage:
            return
        self._in_outage = True
        self._dropped_at_outage = self.dropped
        log.warning(
            "MQTT: %s to %s; retrying in the background, events wait in a queue of %d "
            "(oldest dropped when full)",
            why,
            self.where,
            self.events.queue.maxsize,
        )
