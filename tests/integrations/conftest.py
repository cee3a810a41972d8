"""Fixtures for the integration tests: a real webhook receiver on loopback, a real MQTT
subscriber on the Mosquitto broker at 127.0.0.1:1883 (tests skip when it is not there),
and the API fixtures of tests/api for the admin routes."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine

from pipeline.store.db import make_engine
from tests.api.conftest import api, settings, template_db  # noqa: F401 (fixtures)

BROKER = ("127.0.0.1", 1883)


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def db(tmp_path: Path, template_db: Path) -> Iterator[Engine]:  # noqa: F811
    """A migrated SQLite database of its own."""
    shutil.copyfile(template_db, tmp_path / "hooks.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'hooks.db'}")
    yield engine
    engine.dispose()


# --- webhook receiver -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """An HTTP server on loopback that answers POSTs from a script of status codes, then
    `then` for every later request, and records what it got."""

    script: list[int]
    then: int = 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.script.pop(0) if self.script else self.then
            self.requests.append(Request(headers, body, status))
            return status

    def accepted(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def make(script: list[int] | None = None, then: int = 200) -> Receiver:
        receiver = Receiver(list(script or []), then)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


# --- MQTT ---------------------------------------------------------------------------------


def broker_reachable() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def broker() -> tuple[str, int]:
    if not broker_reachable():
        pytest.skip("no MQTT broker (Mosquitto) listening on 127.0.0.1:1883")
    return BROKER


class Subscriber:
    """A real paho client subscribed to `topic` (QoS 1), collecting (topic, JSON) pairs."""

    def __init__(self, topic: str) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sw-sub-{uuid.uuid4().hex}"
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(*BROKER)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the test subscriber could not subscribe"

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload)))

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        wait_until(lambda: len(self.messages) >= count, timeout_s, f"{count} MQTT messages")
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscribe(broker: tuple[str, int]) -> Iterator[Callable[[str], Subscriber]]:
    made: list[Subscriber] = []

    def make(topic: str) -> Subscriber:
        made.append(Subscriber(topic))
        return made[-1]

    yield make
    for sub in made:
        sub.close()


def unique_prefix() -> str:
    return f"swtest/{uuid.uuid4().hex[:12]}"


def incident_event(
    kind: str, incident_id: str, camera: str = "cam-a", **extra: Any
) -> dict[str, Any]:
    incident = {"id": incident_id, "camera": camera, "zone": "z1", "status": "new", **extra}
    return {"type": kind, "incident": incident}
