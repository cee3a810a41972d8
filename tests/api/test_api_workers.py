"""`streetwatch serve --api-workers 2` as a user runs it: two worker processes answer on
one port, an action taken through one reaches live listeners on both, a killed worker is
started again, and stopping the server stops them all."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from websockets.sync.client import ClientConnection, connect

from pipeline.benchmark.load_server import free_port
from tests.api.conftest import CONFIG, Api

WORKERS = 2
LISTENERS = 6  # spread over both workers by the kernel (all on one: 2 x 2^-6)


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def wait_for(check: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Served:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, port: int) -> None:
        self.process, self.log, self.port = process, log, port
        self.base = f"http://127.0.0.1:{port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def served(api: Api, tmp_path: Path) -> Iterator[Served]:
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    port = free_port()
    env = {
        **os.environ,
        "STREETWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'sw.db'}",
        "STREETWATCH_EVIDENCE_DIR": str(api.evidence_dir),
    }
    command = [sys.executable, "-m", "cli.main", "serve", "--config", str(config)]
    command += ["--data-dir", str(tmp_path / "data"), "--port", str(port), "--no-cameras"]
    command += ["--api-workers", str(WORKERS)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, log, port)
    try:
        wait_for(lambda: f"all {WORKERS} API processes ready" in served.text(), "start", 90)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def listen(served: Served, token: str) -> ClientConnection:
    url = f"ws://127.0.0.1:{served.port}/api/live"
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"})


def next_update(ws: ClientConnection, incident_id: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        event = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if event.get("type") == "incident.updated" and event["incident"]["id"] == incident_id:
            return event


def test_workers_serve_relay_restart_and_stop(api: Api, served: Served) -> None:
    workers = children(served.process.pid)
    assert len(workers) == WORKERS
    api.add_incident(incident_id="inc-relay")
    token = api.token("operator")
    headers = {"Authorization": f"Bearer {token}"}

    with contextlib.ExitStack() as stack:
        listeners = [
            stack.enter_context(listen(served, api.token("monitor"))) for _ in range(LISTENERS)
        ]
        check_updates_reach_every_listener(served, headers, listeners)

    check_sign_in_limit_is_shared(served)

    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(children(served.process.pid) - {victim}) == WORKERS,
        "the killed worker to be started again",
        60,
    )
    assert "exited with -9: starting it again" in served.text()
    wait_for(lambda: health(served) == 200, "the API after the restart", 30)

    survivors = children(served.process.pid)
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0
    for pid in survivors:
        assert _state(pid) in ("gone", "Z"), f"worker {pid} still running"


def check_sign_in_limit_is_shared(served: Served) -> None:
    """Five wrong passwords, each on a new connection (so on either worker): the sixth
    attempt is refused by whichever worker takes it."""
    codes = []
    for _ in range(6):
        response = httpx.post(
            f"{served.base}/api/auth/login",
            json={"username": "operator", "password": "wrong-password"},
            trust_env=False,
        )
        codes.append(response.status_code)
        time.sleep(0.2)  # the outcome reaches the other worker
    assert codes == [401] * 5 + [429]


def health(served: Served) -> int:
    try:
        return httpx.get(f"{served.base}/api/health", trust_env=False).status_code
    except httpx.HTTPError:
        return 0


def check_updates_reach_every_listener(
    served: Served, headers: dict[str, str], listeners: list[ClientConnection]
) -> None:
    # A fresh connection per request, so both workers answer some of them.
    for _ in range(20):
        response = httpx.get(f"{served.base}/api/incidents", headers=headers, trust_env=False)
        assert response.status_code == 200
        assert [i["id"] for i in response.json()["items"]] == ["inc-relay"]
    review = httpx.post(
        f"{served.base}/api/incidents/inc-relay/review",
        json={"decision": "confirm"},
        headers=headers,
        trust_env=False,
    )
    assert review.status_code == 200, review.text
    for ws in listeners:  # on whichever worker each landed
        assert next_update(ws, "inc-relay")["incident"]["status"] == "confirmed"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
