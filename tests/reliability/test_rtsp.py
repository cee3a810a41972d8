"""Cameras against a real RTSP server (GStreamer's, serving a looped H.264 file on loopback)
that is killed with SIGKILL and restarted again and again, while `serve`'s runtime runs three
cameras behind the API:

- the camera shows offline in `GET /api/cameras` during each outage and online after it;
- its reconnect attempts follow a capped exponential back-off, reset after each recovery;
- the two cameras on another server keep reading and detecting through every outage;
- nothing leaks: no more descriptors or native threads in the last cycle than in the first,
  and after shutdown threads, descriptors and child processes are back where they started.

Two smaller tests take the PyAV packet reader through the same kills, and both readers
through a hung server (SIGSTOP), which only their read and open timeouts can notice.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import pipeline.live
from api.app import create_app
from api.runtime import Runtime
from api.settings import ApiSettings
from cli.serve_cmd import build_runtime
from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Scene, parked
from pipeline.evidence import EvidenceWriter
from pipeline.live import Backoff, CameraState, LiveCamera
from pipeline.packet_source import PacketSource
from pipeline.readers import Source
from pipeline.sink import IncidentSink
from pipeline.sources import VideoSource
from pipeline.store import users
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.api.conftest import seed_people
from tests.pipeline.harness import app_config, zone
from tests.reliability.rtsp_server import RtspServer, rtsp_server, unavailable

pytestmark = pytest.mark.slow

CYCLES = 5
FPS = 25
BASE_S, CAP_S = 0.2, 0.8  # back-off for the test: 0.2, 0.4, 0.8, 0.8, ...
# Attempts per outage before the server comes back: enough to reach the cap twice.
ATTEMPTS_PER_OUTAGE = 4
FLAKY, STEADY = "cam-flaky", ("cam-steady-1", "cam-steady-2")
WAIT_S = 20.0  # the longest any single expected change may take (opening probes ~1 s)
# A wait may run over its delay by scheduling and the refused connect: about 0.01 s on 2
# busy cores, so this much only allows for a loaded CI machine.
SLACK_S = 1.0
# Descriptors a running process may hold more of at one moment than at another (a pooled
# database connection, a socket mid-handshake); fewer than one leaked per cycle would make.
LEAK_SLACK = 2


class RecordingBackoff(Backoff):
    """The real back-off, noting each delay it hands out and when."""

    def __init__(self, base: float, cap: float) -> None:
        super().__init__(base, cap)
        self.delays: list[tuple[float, float]] = []

    def next(self) -> float:
        delay = super().next()
        self.delays.append((time.monotonic(), delay))
        return delay


@dataclass
class Attempts:
    """Every source open by the live cameras: (camera, when it began, whether it opened)."""

    opens: list[tuple[str, float, bool]] = field(default_factory=list)

    def of(self, camera: str, since: float) -> list[tuple[float, bool]]:
        return [(t, ok) for name, t, ok in self.opens if name == camera and t >= since]


@dataclass(frozen=True)
class Resources:
    threads: int  # OS threads of this process, FFmpeg's decoder threads included
    native_threads: int  # those that are not Python threads
    fds: int
    children: frozenset[int]

    @staticmethod
    def least(samples: int = 10, interval_s: float = 0.1) -> Resources:
        """The fewest threads and descriptors seen over a second: an open or a request in
        flight holds some for a moment, a leak holds them for good."""
        seen = []
        for _ in range(samples):
            seen.append(Resources.now())
            time.sleep(interval_s)
        return min(seen, key=lambda r: (r.fds, r.threads))

    @staticmethod
    def now() -> Resources:
        tasks = {int(t) for t in os.listdir("/proc/self/task")}
        python = {t.native_id for t in threading.enumerate()}
        return Resources(
            len(tasks), len(tasks - python), len(os.listdir("/proc/self/fd")), _children()
        )


def _children() -> frozenset[int]:
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        text = Path(f"/proc/self/task/{task}/children").read_text()
        found.update(int(pid) for pid in text.split())
    return frozenset(found)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = WAIT_S) -> float:
    """Poll `check` until true; returns the time it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def rtsp_missing() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """Four seconds of street at 25 fps, a keyframe each second, as a bare H.264 stream."""
    scene = Scene(320, 180, float(FPS), 4.0, [parked("car", (40, 60, 120, 110), 0, 4)])
    return scene.render(tmp_path / "loop.h264", gop=FPS)


def serve_config(tmp_path: Path, flaky: RtspServer, steady: RtspServer) -> argparse.Namespace:
    """`streetwatch serve`'s arguments for three cameras, detections replayed (none)."""
    replay = tmp_path / "none.jsonl"
    replay.write_text(json.dumps({"frame": 0, "t": 0.0, "detections": []}) + "\n")
    zone = {
        "name": "curb",
        "rule": "illegal_parking",
        "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]],
    }
    sources = {FLAKY: flaky.url, STEADY[0]: steady.url, STEADY[1]: steady.url}
    config = {
        "cameras": [
            {"name": name, "source": url, "detect_fps": 2.0, "zones": [zone]}
            for name, url in sources.items()
        ],
        "detector": {"type": "replay", "model": str(replay)},
    }
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    return argparse.Namespace(config=path, data_dir=tmp_path / "data", model=None, no_cameras=False)


def monitor_token(runtime: Runtime) -> dict[str, str]:
    seed_people(runtime.engine)
    with Session(runtime.engine) as session:
        user = users.find_user(session, "monitor")
        assert user is not None
        token = users.start_session(session, user, timedelta(hours=1)).token
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Attempts:
    """Records when each camera opens its source, through the real opener."""
    record = Attempts()
    real = pipeline.live.open_source_for

    def opening(camera: Any, spec: str | int, origin: float | None = None) -> Source:
        began = time.monotonic()
        try:
            source = real(camera, spec, origin)
        except Exception:
            record.opens.append((camera.name, began, False))
            raise
        record.opens.append((camera.name, began, True))
        return source

    monkeypatch.setattr(pipeline.live, "open_source_for", opening)
    return record


class Wall:
    """The API's camera list, polled, with every state each camera was seen in."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.seen: dict[str, list[str]] = {}

    def cameras(self) -> dict[str, dict[str, Any]]:
        response = self.client.get("/api/cameras", headers=self.headers)
        assert response.status_code == 200, response.text
        found = {c["name"]: c for c in response.json()}
        for name, camera in found.items():
            states = self.seen.setdefault(name, [])
            if not states or states[-1] != camera["state"]:
                states.append(camera["state"])
        return found

    def wait_state(self, name: str, state: str) -> dict[str, Any]:
        wait_for(f"{name} {state} in the API", lambda: self.cameras()[name]["state"] == state)
        return self.cameras()[name]


def settle_threads(before: set[threading.Thread], timeout_s: float = 10.0) -> Resources:
    """Resources once every Python thread started since `before` was taken has ended (the
    app's workers and camera threads). Threads that earlier tests in the same run left
    behind are in `before` and do not count."""
    wait_for("threads to end", lambda: set(threading.enumerate()) <= before, timeout_s)
    return Resources.now()


def settle(baseline: Resources, timeout_s: float = 10.0) -> Resources:
    """Resources once threads and descriptors are back to `baseline` (or after `timeout_s`):
    closing FFmpeg captures and idle worker threads takes a moment."""
    deadline = time.monotonic() + timeout_s
    current = Resources.now()
    while time.monotonic() < deadline and (
        current.threads > baseline.threads or current.fds > baseline.fds
    ):
        time.sleep(0.1)
        current = Resources.now()
    return current


def outage_delays(backoff: RecordingBackoff, since: float) -> list[float]:
    return [delay for t, delay in backoff.delays if t >= since]


def test_rtsp_camera_survives_server_kills(
    rtsp_missing: None, tmp_path: Path, video: Path, attempts: Attempts
) -> None:
    started = time.monotonic()
    # Children an earlier test left running (not this test's to account for).
    already = _children()
    with (
        rtsp_server(video, FPS, tmp_path / "flaky.log") as flaky,
        rtsp_server(video, FPS, tmp_path / "steady.log") as steady,
    ):
        args = serve_config(tmp_path, flaky, steady)
        # A first serve, started and stopped, takes what a process sets up once and keeps
        # (imports' and OpenCV's worker threads, the evidence folder's writer lock); the
        # baseline is what is left after it.
        before = set(threading.enumerate())
        settings, runtime = build_runtime(args)
        headers = monitor_token(runtime)
        serve(settings, runtime, headers, lambda wall: None)
        baseline = settle_threads(before)
        assert baseline.children - already == {flaky.pid, steady.pid}

        # The second serve, with the same data folder, is the one under test.
        settings, runtime = build_runtime(args)
        backoff = RecordingBackoff(BASE_S, CAP_S)
        cast(LiveCamera, runtime.cameras[FLAKY]).backoff = backoff
        per_cycle: list[Resources] = []
        overruns: list[float] = []

        def cycles(wall: Wall) -> None:
            for cycle in range(CYCLES):
                overruns.extend(run_cycle(cycle, wall, flaky, backoff, attempts))
                per_cycle.append(Resources.least())

        wall, statuses = serve(settings, runtime, headers, cycles)
        after = settle(baseline)
        servers = frozenset({flaky.pid, steady.pid})

    elapsed = time.monotonic() - started
    print(f"\n{CYCLES} kill/restart cycles in {elapsed:.1f} s; states seen: {wall.seen[FLAKY]}")
    print(f"back-off delays handed out: {[d for _, d in backoff.delays]}")
    print(f"waits over their delay: up to {max(overruns):.3f} s")
    print(f"resources per cycle: {per_cycle}; baseline {baseline}; after {after}")
    assert statuses[FLAKY]["reconnects"] >= CYCLES * ATTEMPTS_PER_OUTAGE
    assert all(status["reconnects"] == 0 for name, status in statuses.items() if name != FLAKY)
    for name in STEADY:  # online from their first frame to shutdown
        assert wall.seen[name][wall.seen[name].index("online") :] == ["online"], wall.seen
    assert wall.seen[FLAKY].count("offline") == CYCLES, wall.seen
    assert {runtime.cameras[name].status.state for name in runtime.cameras} == {CameraState.stopped}
    # No descriptor or decoder thread left behind by reconnects: one per outage would add
    # CYCLES - 1 by the last cycle, one per failed attempt several times that.
    first, last = per_cycle[0], per_cycle[-1]
    assert last.fds <= first.fds + LEAK_SLACK and last.native_threads <= first.native_threads, (
        per_cycle
    )
    # Nor by the cameras once stopped. (Fewer is fine: a thread an earlier test left behind
    # may end meanwhile.)
    assert after.threads <= baseline.threads and after.fds <= baseline.fds, (baseline, after)
    assert after.children - already == servers  # only the servers this test started
    assert _children() - already == frozenset()  # and they are gone now


def serve(
    settings: ApiSettings, runtime: Runtime, headers: dict[str, str], during: Callable[[Wall], None]
) -> tuple[Wall, dict[str, dict[str, Any]]]:
    """Run the app (cameras start with it) until every camera is online and `during` is
    done; returns the wall and the last statuses. Stops it as `serve` does on exit."""
    with TestClient(create_app(settings, runtime)) as client:
        wall = Wall(client, headers)
        for name in (FLAKY, *STEADY):
            wall.wait_state(name, "online")
        during(wall)
        statuses = {name: wall.cameras()[name] for name in (FLAKY, *STEADY)}
    runtime.engine.dispose()  # the process would exit here; its pooled connections go too
    return wall, statuses


def run_cycle(
    cycle: int, wall: Wall, flaky: RtspServer, backoff: RecordingBackoff, attempts: Attempts
) -> list[float]:
    """Kill the flaky server, watch the outage, restart it and watch the recovery; returns
    how much longer than its delay each wait between attempts took."""
    before = wall.cameras()
    killed_at = time.monotonic()
    flaky.kill()
    gone = wall.wait_state(FLAKY, "offline")
    assert 0 < gone["retry_delay_s"] <= CAP_S
    wait_for(
        f"{ATTEMPTS_PER_OUTAGE} failed reconnects (cycle {cycle})",
        lambda: len(outage_delays(backoff, killed_at)) > ATTEMPTS_PER_OUTAGE,
    )
    during = wall.cameras()
    assert during[FLAKY]["state"] == "offline"
    assert during[FLAKY]["retry_delay_s"] == CAP_S
    # The other cameras went on reading and detecting through the outage.
    for name in STEADY:
        assert during[name]["state"] == "online"
        read = during[name]["frames_read"] - before[name]["frames_read"]
        detected = during[name]["frames_detected"] - before[name]["frames_detected"]
        assert read >= FPS and detected >= 2, (name, read, detected)

    flaky.start()
    restarted_at = time.monotonic()
    back = wall.wait_state(FLAKY, "online")
    assert back["retry_delay_s"] == 0
    wait_for(
        "frames from the restarted server",
        lambda: wall.cameras()[FLAKY]["frames_read"] > back["frames_read"] + FPS,
    )

    # Exponential from the base (reset by the previous recovery), capped.
    delays = outage_delays(backoff, killed_at)
    expected = [min(BASE_S * 2**n, CAP_S) for n in range(len(delays))]
    assert delays == pytest.approx(expected), delays
    # And the camera really waited that long between attempts.
    opens = attempts.of(FLAKY, killed_at)
    assert [ok for _, ok in opens][-1] is True and not any(ok for _, ok in opens[:-1])
    handed = [t for t, _ in backoff.delays if t >= killed_at]
    waited = [t_open - t_delay for t_delay, (t_open, _) in zip(handed, opens, strict=True)]
    for delay, wait in zip(delays, waited, strict=True):
        assert delay <= wait <= delay + SLACK_S, (cycle, delays, waited)
    # Back within one capped delay of the server's return.
    assert opens[-1][0] <= restarted_at + CAP_S + SLACK_S
    return [wait - delay for delay, wait in zip(delays, waited, strict=True)]


class NothingDetector(Detector):
    """An empty street: the camera's reading and reconnecting is what is under test."""

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [Detections.empty(self.class_names) for _ in frames]


@contextmanager
def live_camera(
    tmp_path: Path,
    url: str,
    reader: str,
    open_source: Callable[[str | int, float], Source] | None = None,
) -> Iterator[LiveCamera]:
    """One camera on `url`, started, with the test's short back-off; stopped on exit."""
    app = app_config([zone()], source=url, reader=reader, detect_fps=2.0)
    engine = make_engine(f"sqlite:///{tmp_path / f'{reader}.db'}")
    migrate(engine)
    store = IncidentStore(engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    camera = LiveCamera(
        app, app.cameras[0], NothingDetector(), sink, store, open_source, Backoff(BASE_S, CAP_S)
    )
    camera.start()
    try:
        yield camera
    finally:
        camera.stop()
        sink.close()
        engine.dispose()


def wait_online_and_reading(camera: LiveCamera) -> None:
    wait_for("online", lambda: camera.status.state is CameraState.online)
    read = camera.status.frames_read
    wait_for("frames", lambda: camera.status.frames_read > read + FPS)


def test_packet_reader_reconnects_to_a_restarted_server(
    rtsp_missing: None, tmp_path: Path, video: Path
) -> None:
    """`reader: pyav` (PyAV packets) through the same kills, on its own."""
    with (
        rtsp_server(video, FPS, tmp_path / "server.log") as server,
        live_camera(tmp_path, server.url, "pyav") as camera,
    ):
        wait_online_and_reading(camera)
        first = Resources.least()
        for _ in range(2):
            server.kill()
            wait_for("offline", lambda: camera.status.state is CameraState.offline)
            wait_for("capped back-off", lambda: camera.status.retry_delay_s == CAP_S)
            server.start()
            wait_online_and_reading(camera)
        last = Resources.least()
        assert camera.status.reconnects >= 2 * 3
        assert camera.status.retry_delay_s == 0
    assert last.fds <= first.fds + LEAK_SLACK and last.native_threads <= first.native_threads


@pytest.mark.parametrize("reader", ["opencv", "pyav"])
def test_a_hung_server_is_noticed_and_reconnected(
    rtsp_missing: None, tmp_path: Path, video: Path, reader: str
) -> None:
    """SIGSTOP: the connection stays up but nothing comes. The read timeout ends the stream,
    the open timeout fails the reconnects, and SIGCONT brings the camera back."""
    timeout_s = 1.0

    def opener(spec: str | int, origin: float) -> Source:
        # As `readers.open_source`, with a short timeout (serve uses the 10 s default).
        if reader == "pyav":
            return PacketSource(spec, 2.0, "auto", origin, open_timeout_s=timeout_s)
        return VideoSource(spec, open_timeout_s=timeout_s, clock_origin=origin)

    with (
        rtsp_server(video, FPS, tmp_path / "server.log") as server,
        live_camera(tmp_path, server.url, reader, opener) as camera,
    ):
        wait_online_and_reading(camera)
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        try:
            noticed = wait_for("stream end", lambda: camera.status.state is not CameraState.online)
            wait_for("a timed-out reconnect", lambda: camera.status.state is CameraState.offline)
        finally:
            server.process.send_signal(signal.SIGCONT)
        wait_online_and_reading(camera)
    print(f"\n{reader}: hung stream noticed after {noticed:.1f} s (read timeout {timeout_s} s)")
    # FFmpeg gives up after a few timeouts, not at the first; bounded all the same.
    assert noticed <= 6 * timeout_s + SLACK_S
