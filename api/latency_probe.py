"""A real WebSocket client of the real API, for `streetwatch bench`'s alert latency: the
sink's stored row is published the way `streetwatch serve` publishes it (row read back,
`IncidentPublic` built), served by uvicorn on loopback and received on `/api/live`."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from datetime import timedelta
from pathlib import Path

import uvicorn
import websockets
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.events import OPENED, make_incident_listener
from api.runtime import Runtime
from api.security import hash_password
from api.settings import ApiSettings
from pipeline.alerts import AlertBus
from pipeline.benchmark.latency import Arrived
from pipeline.sink import AlertListener
from pipeline.store import users
from pipeline.store.repository import IncidentStore

PROBE_USER = "latency-probe"


class WebSocketDelivery:
    """`Delivery` for `measure_latency`: uvicorn in a thread, one WebSocket client in another."""

    def __init__(self, engine: Engine, store: IncidentStore, evidence_dir: Path) -> None:
        self.runtime = Runtime(engine, store, evidence_dir, AlertBus())
        config = uvicorn.Config(
            create_app(ApiSettings(), self.runtime), host="127.0.0.1", port=0, log_level="warning"
        )
        config.timeout_graceful_shutdown = 2
        self.server = uvicorn.Server(config)
        self.server_thread = threading.Thread(target=self.server.run, daemon=True)
        self.client_thread = threading.Thread(target=self._client, daemon=True)
        self.token = _probe_token(engine)
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.arrived: Arrived = lambda camera, alert_s: None

    def sink_listener(self) -> AlertListener:
        return make_incident_listener(self.runtime)

    def start(self, arrived: Arrived) -> None:
        self.arrived = arrived
        self.server_thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server for the latency probe did not start")
            time.sleep(0.02)
        self.client_thread.start()
        if not self.connected.wait(15):
            raise RuntimeError("the latency probe's WebSocket client did not connect")

    def stop(self) -> None:
        self.stopping.set()
        self.client_thread.join(5)
        self.server.should_exit = True
        self.server_thread.join(10)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/api/live"

    def _client(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with websockets.connect(self.url, additional_headers=headers) as ws:
            await self._wait_subscribed()
            self.connected.set()
            while not self.stopping.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except TimeoutError:
                    continue
                event = json.loads(message)
                if event.get("type") == OPENED:
                    incident = event["incident"]
                    self.arrived(incident["camera"], float(incident["alert_s"]))

    async def _wait_subscribed(self) -> None:
        # The socket is accepted before the route subscribes to the bus; an alert published
        # in between would be missed, so wait until the subscription exists.
        while self.runtime.bus.subscriber_count == 0:
            await asyncio.sleep(0.01)


def _probe_token(engine: Engine) -> str:
    """An admin session for the probe; its password is random and never used."""
    with Session(engine) as session, session.begin():
        user = users.find_user(session, PROBE_USER)
        if user is None:
            user = users.create_user(
                session, PROBE_USER, hash_password(secrets.token_urlsafe(16)), "admin"
            )
        issued = users.start_session(session, user, timedelta(hours=2))
        return issued.token
