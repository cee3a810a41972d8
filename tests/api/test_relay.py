"""The relay between the camera process and API worker processes (`serve --api-workers`),
both ends in one process over a real socket pair."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import pytest

from api.relay import SEND_TIMEOUT_S, RelayClient, RelayHub, RemoteCamera
from api.runtime import CameraHandle, Runtime
from api.security import LoginLimiter
from cli.api_workers import ApiWorkerPool, WorkerStartError
from pipeline.alerts import AlertBus, ThreadSubscription
from pipeline.config import AppConfig, ZoneConfig
from pipeline.live import CameraState, CameraStatus
from tests.api.conftest import CONFIG, Api


class FakeCamera:
    """A running camera of the main process: a status, a picture (counting how often it is
    asked for, as a live camera encodes it on demand), zones handed over."""

    def __init__(self, name: str) -> None:
        self.camera = AppConfig.model_validate(CONFIG).camera(name)
        self.status = CameraStatus(name, state=CameraState.online, frames_read=42)
        self.picture: bytes | None = b"\xff\xd8\xff live picture"
        self.pictures_taken = 0
        self.replaced: list[list[ZoneConfig]] = []

    @property
    def latest_jpeg(self) -> bytes | None:
        self.pictures_taken += 1
        return self.picture

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        self.replaced.append(list(zones))


@dataclass
class Pair:
    main: Runtime
    worker: Runtime
    hub: RelayHub
    client: RelayClient
    lost: threading.Event
    camera: FakeCamera


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def drain(sub: ThreadSubscription, wait_s: float = 0.3) -> list[dict[str, Any]]:
    events = []
    while (event := sub.get(timeout=wait_s)) is not None:
        events.append(event)
    return events


@pytest.fixture
def pair(api: Api) -> Iterator[Pair]:
    main = api.runtime
    camera = FakeCamera("cam-a")
    main.cameras["cam-a"] = cast(CameraHandle, camera)
    ours, theirs = socket.socketpair()
    hub = RelayHub(main, snapshot_every_s=0.05)
    lost = threading.Event()
    client = RelayClient(Connection(theirs.detach()), on_lost=lost.set)
    worker = Runtime(
        api.engine,
        api.store,
        api.evidence_dir,
        client.bus,
        config=main.config,
        announces_cameras=False,
    )
    hub.start()
    link = hub.attach(Connection(ours.detach()), "test")
    client.start(worker)
    wait_for(lambda: link.ready, "the worker's ready to reach the hub")
    yield Pair(main, worker, hub, client, lost, camera)
    hub.stop()


def test_worker_says_it_is_ready(pair: Pair) -> None:
    assert pair.hub.wait_ready(1, timeout_s=5) == 1


def test_events_of_the_main_bus_reach_the_workers_listeners(pair: Pair) -> None:
    listener = pair.worker.bus.subscribe_thread()
    pair.main.bus.publish({"type": "incident.opened", "incident": {"id": "abc"}})
    assert drain(listener) == [{"type": "incident.opened", "incident": {"id": "abc"}}]


def test_event_raised_in_a_worker_goes_through_the_main_bus_once(pair: Pair) -> None:
    main_listener = pair.main.bus.subscribe_thread()
    worker_listener = pair.worker.bus.subscribe_thread()
    pair.worker.bus.publish({"type": "incident.updated", "incident": {"id": "x1"}})
    expected = [{"type": "incident.updated", "incident": {"id": "x1"}}]
    assert drain(main_listener) == expected  # integrations subscribe there
    assert drain(worker_listener) == expected  # back once, not twice


def test_worker_sees_the_live_camera_state_and_picture(pair: Pair) -> None:
    wait_for(lambda: "cam-a" in pair.worker.cameras, "the first camera snapshot")
    remote = pair.worker.cameras["cam-a"]
    assert isinstance(remote, RemoteCamera)
    assert remote.status.state is CameraState.online
    assert remote.status.frames_read == 42
    assert remote.latest_jpeg == b"\xff\xd8\xff live picture"
    pair.camera.status.state = CameraState.reconnecting
    pair.camera.status.reconnects = 3
    wait_for(lambda: remote.status.reconnects == 3, "the next snapshot")
    assert remote.status.state is CameraState.reconnecting


def test_pictures_ride_along_less_often_than_states_and_are_kept_between(pair: Pair) -> None:
    # States go every 0.05 s here, pictures every 10 s (the default): the camera is asked
    # for its picture for the ready worker and in the first round, then not for a while.
    wait_for(lambda: pair.camera.pictures_taken >= 2, "the ready worker's and the first round")
    remote = pair.worker.cameras["cam-a"]
    pair.camera.picture = b"\xff\xd8\xff newer picture"
    pair.camera.status.frames_read = 10
    wait_for(lambda: remote.status.frames_read == 10, "a state sent after the picture changed")
    pair.camera.status.frames_read = 20
    wait_for(lambda: remote.status.frames_read == 20, "the next state")
    assert pair.camera.pictures_taken == 2
    assert remote.latest_jpeg == b"\xff\xd8\xff live picture"  # kept, not blanked


def test_a_newer_picture_arrives_with_the_next_picture_round(api: Api) -> None:
    camera = FakeCamera("cam-a")
    api.runtime.cameras["cam-a"] = cast(CameraHandle, camera)
    ours, theirs = socket.socketpair()
    hub = RelayHub(api.runtime, snapshot_every_s=0.05, picture_every_s=0.2)
    client = RelayClient(Connection(theirs.detach()), on_lost=lambda: None)
    worker = Runtime(
        api.engine,
        api.store,
        api.evidence_dir,
        client.bus,
        config=api.runtime.config,
        announces_cameras=False,
    )
    hub.start()
    try:
        hub.attach(Connection(ours.detach()), "test")
        client.start(worker)
        wait_for(lambda: "cam-a" in worker.cameras, "the first camera snapshot")
        camera.picture = b"\xff\xd8\xff newer picture"
        remote = worker.cameras["cam-a"]
        wait_for(lambda: remote.latest_jpeg == camera.picture, "the newer picture")
    finally:
        hub.stop()


def test_zones_edited_in_a_worker_are_handed_to_the_running_camera(pair: Pair) -> None:
    wait_for(lambda: "cam-a" in pair.worker.cameras, "the first camera snapshot")
    pair.worker.cameras["cam-a"].replace_zones([])
    wait_for(lambda: bool(pair.camera.replaced), "the main process to replace the zones")
    # The main process reads the stored zones (the catalog), not what the worker sent.
    assert [z.name for z in pair.camera.replaced[0]] == ["z1", "z2"]


def test_worker_stops_when_the_camera_process_is_gone(pair: Pair) -> None:
    pair.hub.stop()
    assert pair.lost.wait(5), "the worker did not notice the closed relay"


def test_a_closed_worker_is_dropped_and_the_rest_go_on(api: Api, pair: Pair) -> None:
    second_main, second_worker = socket.socketpair()
    second = pair.hub.attach(Connection(second_main.detach()), "second")
    second_end = Connection(second_worker.detach())
    second_end.send(("ready", None))
    wait_for(lambda: second.ready, "the second worker to be ready")
    second_end.close()  # that worker is gone
    listener = pair.worker.bus.subscribe_thread()
    for n in range(3):
        pair.main.bus.publish({"type": "incident.opened", "n": n})
    assert [e["n"] for e in drain(listener)] == [0, 1, 2]
    wait_for(lambda: second.closed, "the gone worker to be dropped")


def test_plain_bus_is_untouched(api: Api) -> None:
    assert type(api.runtime.bus) is AlertBus  # one process: no relay in the way


def test_sign_in_failures_count_in_every_worker(pair: Pair) -> None:
    ours, theirs = socket.socketpair()
    second_link = pair.hub.attach(Connection(ours.detach()), "second")
    second = RelayClient(Connection(theirs.detach()), on_lost=lambda: None)
    first_limiter, second_limiter = LoginLimiter(max_failures=3), LoginLimiter(max_failures=3)
    pair.client.share_sign_ins(first_limiter)
    second.share_sign_ins(second_limiter)
    second.start(pair.worker)
    wait_for(lambda: second_link.ready, "the second worker to be ready")
    for _ in range(3):
        first_limiter.failed("operator", "10.0.0.9")
    wait_for(lambda: second_limiter.retry_after("operator", "10.0.0.9") > 0, "the failures")
    assert first_limiter.retry_after("operator", "10.0.0.9") > 0  # counted once, not echoed
    second_limiter.succeeded("operator", "10.0.0.9")
    wait_for(lambda: first_limiter.retry_after("operator", "10.0.0.9") == 0, "the success")


def test_a_hung_worker_is_cut_off_and_the_others_still_get_events(pair: Pair) -> None:
    ours, theirs = socket.socketpair()
    hung = pair.hub.attach(Connection(ours.detach()), "hung")
    hung_end = Connection(theirs.detach())
    hung_end.send(("ready", None))  # then never reads
    wait_for(lambda: hung.ready, "the hub to take the hung worker as ready")
    listener = pair.worker.bus.subscribe_thread()
    big = "x" * 300_000  # fills the hung peer's socket buffer within a few events
    started = time.monotonic()
    for n in range(10):
        pair.main.bus.publish({"type": "incident.opened", "n": n, "pad": big})
    received: list[int] = []
    while len(received) < 10 and (event := listener.get(timeout=4 * SEND_TIMEOUT_S)):
        received.append(event["n"])
    # The hung peer costs at most two send timeouts (a partial write, then nothing).
    assert time.monotonic() - started < 2 * SEND_TIMEOUT_S + 2
    assert received == list(range(10))
    assert hung.closed, "the hung peer was not cut off"
    hung_end.close()


def test_pool_reports_a_worker_that_dies_at_start(api: Api, tmp_path: Path) -> None:
    hub = RelayHub(api.runtime)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        pool = ApiWorkerPool(1, listener, hub, tmp_path / "none.yaml", tmp_path)
        pool.module = "tests.api.failing_worker"
        with pytest.raises(WorkerStartError, match="exited with 3 before it was ready"):
            pool.start()
        pool.stop()
    hub.stop()


def test_a_worker_slow_to_start_is_not_cut_off(pair: Pair) -> None:
    """Nothing is sent to a worker before it says it is ready: one still importing does
    not read, and events piling up in its socket would cut it off."""
    ours, theirs = socket.socketpair()
    link = pair.hub.attach(Connection(ours.detach()), "slow")
    for n in range(10):  # far more than the socket holds
        pair.main.bus.publish({"type": "incident.opened", "n": n, "pad": "x" * 300_000})
    time.sleep(2 * SEND_TIMEOUT_S + 0.5)
    assert not link.closed
    slow = RelayClient(Connection(theirs.detach()), on_lost=lambda: None)
    runtime = Runtime(
        pair.worker.engine,
        pair.worker.store,
        pair.worker.evidence_dir,
        slow.bus,
        config=pair.main.config,
        announces_cameras=False,
    )
    listener = runtime.bus.subscribe_thread()
    slow.start(runtime)
    wait_for(lambda: "cam-a" in runtime.cameras, "the camera states once ready")
    pair.main.bus.publish({"type": "incident.opened", "n": 99})
    assert [e["n"] for e in drain(listener)] == [99]
    assert not link.closed
