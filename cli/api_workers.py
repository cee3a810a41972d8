"""Extra API worker processes for `streetwatch serve --api-workers N` (see `api.relay`).

The main process binds the listening socket and starts each worker as
`python -m cli.api_workers --listen-fd F --relay-fd R --config C --data-dir D`; the
worker serves the API on that socket (the kernel hands each new connection to whichever
process accepts first) and talks to the main process over its end of a socket pair. A
worker that exits, or stops reading its relay, is started again after a delay that doubles
while it keeps failing (1 s up to a minute); stopping the pool stops them all.
"""

from __future__ import annotations

import argparse
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from api.app import create_app, freeze_startup_heap
from api.relay import RelayClient, RelayHub, RelayLink
from api.runtime import Runtime
from api.settings import ApiSettings
from cli.common import open_storage
from pipeline.config_load import load_config
from pipeline.store.catalog import export_config

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
HEALTHY_AFTER_S = 60.0  # a worker up this long starts its next restart delay from scratch
STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 120.0


class WorkerStartError(RuntimeError):
    """An API worker process ended before it was ready (its log says why)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket the worker processes can inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen[bytes]
    link: RelayLink
    started_at: float
    restart_delay_s: float = RESTART_DELAY_S


class ApiWorkerPool:
    """Starts `count` worker processes on `listener`, restarts any that exit, stops them."""

    module = "cli.api_workers"  # what each worker runs (`python -m`)

    def __init__(
        self, count: int, listener: socket.socket, hub: RelayHub, config: Path, data_dir: Path
    ) -> None:
        self.count, self.listener, self.hub = count, listener, hub
        self.config, self.data_dir = config, data_dir
        self._workers: list[_Worker] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # restarts and stop() never overlap
        self._monitor = threading.Thread(target=self._watch, name="api-workers", daemon=True)

    def start(self) -> None:
        """Start the workers and wait until they have all started (a connection accepted
        by the first one up would stay with it, however busy it gets). Raises
        WorkerStartError if one ends first."""
        self._workers = [self._spawn(n) for n in range(1, self.count + 1)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = 0
        while ready < self.count and time.monotonic() < deadline:
            ready += self.hub.wait_ready(self.count - ready, timeout_s=0.5)
            for worker in self._workers:
                code = worker.process.poll()
                if code is not None:
                    raise WorkerStartError(
                        f"API worker {worker.number} exited with {code} before it was ready"
                    )
        if ready < self.count:
            log.warning("only %d of %d API processes started in time", ready, self.count)
        else:
            log.info("all %d API processes ready", self.count)
        self._monitor.start()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    def stop(self) -> None:
        self._stopping.set()
        if self._monitor.is_alive():
            self._monitor.join()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.process.terminate()
        for worker in workers:
            try:
                worker.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("API worker %d did not stop in time: killed", worker.number)
                worker.process.kill()
                worker.process.wait()

    def _spawn(self, number: int, restart_delay_s: float = RESTART_DELAY_S) -> _Worker:
        ours, theirs = socket.socketpair()
        command = [
            sys.executable,
            "-m",
            self.module,
            "--listen-fd",
            str(self.listener.fileno()),
            "--relay-fd",
            str(theirs.fileno()),
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data_dir),
            "--number",
            str(number),
        ]
        process = subprocess.Popen(command, pass_fds=(self.listener.fileno(), theirs.fileno()))
        theirs.close()
        link = self.hub.attach(Connection(ours.detach()), f"{number} (pid {process.pid})")
        log.info("API worker %d started (pid %d)", number, process.pid)
        return _Worker(number, process, link, time.monotonic(), restart_delay_s)

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_DELAY_S):
            with self._lock:
                if self._stopping.is_set():
                    return
                for index, worker in enumerate(self._workers):
                    self._workers[index] = self._check(worker)

    def _check(self, worker: _Worker) -> _Worker:
        """The worker, or its replacement once it has exited and its delay has passed."""
        if worker.process.poll() is None and worker.link.closed:
            log.warning("API worker %d stopped reading its relay: stopping it", worker.number)
            worker.process.kill()
        code = worker.process.poll()
        if code is None:
            return worker
        up_s = time.monotonic() - worker.started_at
        delay = RESTART_DELAY_S if up_s >= HEALTHY_AFTER_S else worker.restart_delay_s
        if up_s < delay:
            return worker  # wait out its restart delay first
        log.warning(
            "API worker %d exited with %s: starting it again (next delay %.0f s if it fails)",
            worker.number,
            code,
            min(delay * 2, MAX_RESTART_DELAY_S),
        )
        return self._spawn(worker.number, min(delay * 2, MAX_RESTART_DELAY_S))


def worker_runtime(
    config: Path, data_dir: Path, client: RelayClient
) -> tuple[ApiSettings, Runtime]:
    """Storage and catalog like `serve`, no cameras or integrations, a relayed bus.
    Opened read-only for recovery: start-up sweeps are the camera process's job."""
    settings = ApiSettings(data_dir=data_dir)
    storage = open_storage(data_dir, writer=False)
    app_config = export_config(storage.engine, load_config(config))
    runtime = Runtime(
        storage.engine,
        storage.store,
        storage.evidence_dir,
        client.bus,
        config=app_config,
        announces_cameras=False,
    )
    runtime.on_startup.append(lambda: client.start(runtime))
    return settings, runtime


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m cli.api_workers")
    parser.add_argument("--listen-fd", required=True, type=int)
    parser.add_argument("--relay-fd", required=True, type=int)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--number", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s worker{args.number} %(levelname)s %(message)s"
    )
    listener = socket.socket(fileno=args.listen_fd)
    client = RelayClient(Connection(args.relay_fd))
    settings, runtime = worker_runtime(args.config, args.data_dir, client)
    app = create_app(settings, runtime)
    client.share_sign_ins(app.state.login_limiter)
    freeze_startup_heap()
    # Live streams (SSE, WebSockets) must not keep a stopping worker up for ever.
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=5))
    server.run(sockets=[listener])
    return 0


if __name__ == "__main__":
    sys.exit(main())
