"""The link between `serve`'s camera process and its extra API worker processes.

With `serve --api-workers N` (N > 1) the main process runs the cameras, the evidence sink,
the integrations and the alert bus and serves no requests; N worker processes accept on one
listening socket and serve the API from the same database. One Python process does at most
about one core of routes (the interpreter lock), so this is how the API uses a second core.

What a worker cannot read from the database comes over a socket pair per worker
(`multiprocessing.connection`, pickled tuples; both ends are our own processes):

- main -> worker: `("event", dict)` every event of the main bus (new incidents, updates,
  camera states), delivered to the worker's WebSocket listeners; `("cameras", list)` the
  live status of each running camera once a second, with its newest picture every
  PICTURE_EVERY_S (None in between: the worker keeps the one it has).
- worker -> main: `("ready", None)` once the worker has started; `("publish", dict)`
  an event raised by a route in the worker (a status change), published on the main bus
  (so integrations see it and every process's listeners get it once); `("zones", name)`
  the camera's zones were edited: the main process hands the stored zones to the running
  camera; `("login", (outcome, user, client))` a sign-in failed or succeeded, passed on
  to the other workers' rate limiters (N processes must not allow N times the attempts).

A worker whose link ends (the main process is gone) stops itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.orm import Session

from api.runtime import Runtime
from api.security import LoginLimiter
from pipeline.alerts import AlertBus
from pipeline.config import CameraConfig, ZoneConfig
from pipeline.live import CameraState, CameraStatus
from pipeline.store import catalog

logger = logging.getLogger(__name__)

SNAPSHOT_EVERY_S = 1.0
# Pictures serve the zone editor's backdrop; cameras encode a frame only when asked, so
# asking every second for every camera would cost more CPU than all the cameras' rules.
PICTURE_EVERY_S = 10.0
# A peer that has not taken a message within this time is cut off: one hung worker must
# not hold up the events of the others (the pool then restarts it).
SEND_TIMEOUT_S = 2.0


class RelayLink:
    """One end of a socket pair; `send` may be called from any thread."""

    def __init__(
        self, conn: Connection, name: str, on_broken: Callable[[], None] | None = None
    ) -> None:
        self.conn, self.name = conn, name
        self._lock = threading.Lock()
        self.closed = False
        # The hub sends a worker nothing until it is ready: a worker still importing does
        # not read, and a full socket would cut it off (see SEND_TIMEOUT_S).
        self.ready = False
        self._on_broken = on_broken
        with self._socket() as sock:
            timeout = struct.pack("ll", int(SEND_TIMEOUT_S), 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)

    def _socket(self) -> socket.socket:
        """The connection's socket, for options a Connection does not offer (a duplicate
        descriptor of the same socket; closing it leaves the connection open)."""
        return socket.socket(fileno=os.dup(self.conn.fileno()))

    def close(self) -> None:
        """End the link both ways; a thread blocked reading it wakes up (a plain close
        would leave it, and the other side, waiting)."""
        self.closed = True
        with contextlib.suppress(OSError), self._socket() as sock:
            sock.shutdown(socket.SHUT_RDWR)
        with self._lock:  # not while a send is halfway through the handle
            self.conn.close()

    def send(self, message: tuple[str, Any]) -> bool:
        if self.closed:
            return False
        try:
            with self._lock:
                self.conn.send(message)
            return True
        except (OSError, ValueError):  # the other side has gone, or stopped reading
            self.closed = True
            if self._on_broken is not None:
                self._on_broken()
            return False


class RelayHub:
    """The main process's end: forwards its bus and camera states to every worker and
    carries out what workers ask for."""

    def __init__(
        self,
        runtime: Runtime,
        snapshot_every_s: float = SNAPSHOT_EVERY_S,
        picture_every_s: float = PICTURE_EVERY_S,
    ) -> None:
        self.runtime = runtime
        self.snapshot_every_s = snapshot_every_s
        self.picture_every_s = picture_every_s
        self._links: list[RelayLink] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Semaphore(0)
        self._events = runtime.bus.subscribe_thread()
        self._threads = [
            threading.Thread(target=self._forward_events, name="relay-events", daemon=True),
            threading.Thread(target=self._push_cameras, name="relay-cameras", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._events.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def attach(self, conn: Connection, name: str) -> RelayLink:
        """Serve a new worker: once it says it is ready, it gets the camera states, then
        every event."""
        link = RelayLink(conn, name)
        with self._lock:
            self._links.append(link)
        reader = threading.Thread(target=self._read, args=(link,), name=f"relay-{name}")
        reader.daemon = True
        reader.start()
        return link

    def wait_ready(self, count: int, timeout_s: float) -> int:
        """Wait until `count` workers have said they started (or `timeout_s` has passed);
        returns how many did."""
        deadline = time.monotonic() + timeout_s
        for done in range(count):
            if not self._ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return done
        return count

    def _broadcast(self, message: tuple[str, Any], skip: RelayLink | None = None) -> None:
        """Send to every ready worker (but `skip`); a worker that cannot take it is dropped."""
        with self._lock:
            links = [link for link in self._links if link.ready and link is not skip]
        for link in links:
            if not link.send(message):
                self._drop(link)

    def _drop(self, link: RelayLink) -> None:
        link.close()
        with self._lock:
            if link in self._links:
                self._links.remove(link)
                logger.info("API worker %s: relay closed", link.name)

    def _forward_events(self) -> None:
        while not self._stop.is_set():
            event = self._events.get(timeout=0.5)
            if event is not None:
                self._broadcast(("event", event))

    def _push_cameras(self) -> None:
        pictures_at = time.monotonic()
        while not self._stop.wait(self.snapshot_every_s):
            with_pictures = time.monotonic() >= pictures_at
            if with_pictures:
                pictures_at = time.monotonic() + self.picture_every_s
            self._broadcast(("cameras", self._camera_states(with_pictures)))

    def _camera_states(
        self, with_pictures: bool = True
    ) -> list[tuple[dict[str, Any], bytes | None]]:
        return [
            (asdict(c.status), c.latest_jpeg if with_pictures else None)
            for c in list(self.runtime.cameras.values())
        ]

    def _read(self, link: RelayLink) -> None:
        while not self._stop.is_set():
            try:
                kind, body = link.conn.recv()
            except (EOFError, OSError):
                self._drop(link)
                return
            try:
                self._handle(link, kind, body)
            except Exception:  # one bad request must not end the worker's link
                logger.exception("API worker %s: %s request failed", link.name, kind)

    def _handle(self, link: RelayLink, kind: str, body: Any) -> None:
        if kind == "ready":
            link.send(("cameras", self._camera_states()))
            link.ready = True
            self._ready.release()
        elif kind == "login":
            self._broadcast(("login", body), skip=link)
        elif kind == "publish":
            self.runtime.bus.publish(body)
        elif kind == "zones":
            live = self.runtime.cameras.get(body)
            if live is not None:
                with Session(self.runtime.engine) as session:
                    live.replace_zones(catalog.zone_configs(session, body))
                logger.info("camera %s: zones replaced while running (edited in a worker)", body)
        else:
            logger.warning("relay: unknown request %r", kind)


class RelayBus(AlertBus):
    """A worker's bus: `publish` goes to the main process, whose bus sends every event
    back to each worker (this one included), where `deliver` hands it to the listeners."""

    def __init__(self, link: RelayLink) -> None:
        super().__init__()
        self._link = link

    def publish(self, event: dict[str, Any]) -> None:
        if not self._link.send(("publish", event)):
            logger.warning("event %s not published: the camera process is gone", event.get("type"))

    def deliver(self, event: dict[str, Any]) -> None:
        super().publish(event)


class RemoteCamera:
    """A camera running in the main process, as a worker sees it (updated each second)."""

    def __init__(self, camera: CameraConfig, link: RelayLink) -> None:
        self.camera = camera
        self.status = CameraStatus(camera.name)
        self.latest_jpeg: bytes | None = None
        self._link = link

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        # The zones are stored already; the main process reads them from the database.
        self.camera = self.camera.model_copy(update={"zones": list(zones)})
        self._link.send(("zones", self.camera.name))


class RelayClient:
    """A worker's end: `bus` is the worker's bus; once `start(runtime)` has run, what the
    main process sends is applied to that runtime."""

    def __init__(self, conn: Connection, on_lost: Callable[[], None] | None = None) -> None:
        # Without the camera process a worker would serve stale camera states and no
        # alerts: it stops (SIGTERM to itself, so uvicorn shuts down in order), whether
        # the link ends while reading or a send to the main process fails.
        self._on_lost = on_lost or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        self.link = RelayLink(conn, "main", on_broken=self._on_lost)
        self.bus = RelayBus(self.link)
        self._configs: dict[str, CameraConfig] = {}
        self._limiter: LoginLimiter | None = None

    def share_sign_ins(self, limiter: LoginLimiter) -> None:
        """Tell the other workers of this one's sign-in outcomes, and count theirs."""
        self._limiter = limiter

        def announce(outcome: str, username: str, client: str) -> None:
            self.link.send(("login", (outcome, username, client)))

        limiter.announce = announce

    def start(self, runtime: Runtime) -> None:
        self._configs = {c.name: c for c in runtime.config.cameras} if runtime.config else {}
        threading.Thread(target=self._read, args=(runtime,), name="relay-main", daemon=True).start()
        self.link.send(("ready", None))

    def _read(self, runtime: Runtime) -> None:
        while True:
            try:
                kind, body = self.link.conn.recv()
            except (EOFError, OSError):
                logger.warning("the camera process has gone: this API worker stops")
                self._on_lost()
                return
            if kind == "event":
                self.bus.deliver(body)
            elif kind == "cameras":
                self._update_cameras(runtime, body)
            elif kind == "login" and self._limiter is not None:
                self._limiter.apply(*body)

    def _update_cameras(
        self, runtime: Runtime, states: list[tuple[dict[str, Any], bytes | None]]
    ) -> None:
        for fields, jpeg in states:
            name = fields["name"]
            camera = runtime.cameras.get(name)
            if camera is None:
                config = self._configs.get(name)
                if config is None:
                    continue
                camera = RemoteCamera(config, self.link)
                runtime.cameras[name] = camera
            fields = {**fields, "state": CameraState(fields["state"])}
            camera.status = CameraStatus(**fields)
            if jpeg is not None and isinstance(camera, RemoteCamera):
                camera.latest_jpeg = jpeg
