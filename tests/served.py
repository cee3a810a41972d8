"""An ASGI app served by uvicorn in a thread on a free loopback port, for tests that need a
real HTTP server (streams TestClient cannot end, clients of our own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_TIMEOUT_S = 10.0


@contextmanager
def served_on_loopback(app: Any) -> Iterator[int]:
    """Yields the port; stops the server on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    config.timeout_graceful_shutdown = 2
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
