"""`streetwatch loadtest`: API clients and WebSocket listeners against a real server process
whose live cameras keep raising alerts.

The server is `python -m cli.loadtest_server` (what `serve` runs, on looped paced videos) on a
free loopback port, over a fresh data folder seeded with users and past incidents. This
process signs the users in, connects the listeners, runs the clients on a fixed open-loop
schedule, then counts which alerts the cameras stored and checks every listener got each.

>>> report = run_load(LoadOptions(seconds=60))  # doctest: +SKIP
>>> report.errors, report.routes["all"].p95_ms, report.alerts.all_delivered  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from detector.config import DetectorConfig
from detector.priority import MAX_NICE
from detector.shared import session_plan
from pipeline.benchmark import load_scene
from pipeline.benchmark.load_clients import (
    ClientPlan,
    Listener,
    Sample,
    all_received,
    listen,
    run_clients,
    run_clients_in_process,
)
from pipeline.benchmark.load_report import (
    AlertFigures,
    LoadReport,
    WarmupFigures,
    percentile_ms,
    route_figures,
)
from pipeline.benchmark.load_server import ServerProcess, machine_busy_seconds
from pipeline.config import AppConfig
from pipeline.store.db import make_engine, migrate

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
DRAIN_S = 15.0  # after the load: time for alerts still being written to reach listeners
VARIANTS = 4  # differently phased videos, so the cameras do not all alert at once


@dataclass(frozen=True, slots=True)
class LoadOptions:
    clients: int = 200
    rate: float = 200.0  # requests per second, all clients together
    listeners: int = 50
    cameras: int = 8
    seconds: float = 60.0
    # Load at the same rate before the measured seconds, reported apart (default none:
    # the goal counts from the first request, connections opened and caches cold).
    warmup_s: float = 0.0
    processes: int = 1  # client processes; 1 runs them beside the listeners
    api_workers: int = 1  # server processes serving the API (`serve --api-workers`)
    seed_incidents: int = 400
    users: int = 20  # clients and listeners share these sign-ins round robin
    work_dir: Path | None = None  # kept when given (server log, database, videos)
    # How far below the API the cameras run (`analysis_nice` in the YAML): None keeps the
    # default; 0 runs them at the API's priority, to compare.
    analysis_nice: int | None = None

    def check(self) -> None:
        counts = (self.clients, self.listeners, self.cameras, self.processes, self.users)
        if min(*counts, self.api_workers) < 1:
            raise ValueError(
                "clients, listeners, cameras, processes, users and api-workers must be >= 1"
            )
        if self.rate <= 0 or self.seconds <= 0:
            raise ValueError("rate and seconds must be positive")
        if self.warmup_s < 0:
            raise ValueError("warm-up seconds must not be negative")
        if self.processes > self.clients:
            raise ValueError("more client processes than clients")
        if self.analysis_nice is not None and not 0 <= self.analysis_nice <= MAX_NICE:
            raise ValueError(f"analysis nice must be 0 to {MAX_NICE}, got {self.analysis_nice}")


def run_load(options: LoadOptions, command: str = "") -> LoadReport:
    """Prepare the world, run the server and the load, and measure."""
    options.check()
    if options.work_dir is not None:
        options.work_dir.mkdir(parents=True, exist_ok=True)
        return _run_in(options, options.work_dir, command)
    with tempfile.TemporaryDirectory(prefix="streetwatch-load-") as tmp:
        return _run_in(options, Path(tmp), command)


def _run_in(options: LoadOptions, work: Path, command: str) -> LoadReport:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    config_path, app, seeded = prepare(options, work)
    server_process = ServerProcess(
        config_path, work / "data", work / "server.log", options.api_workers
    )
    with server_process as server:
        tokens = sign_in(server.base_url, seeded)
        run = asyncio.run(_drive(options, server, seeded, tokens))
        cameras = camera_states(server.base_url, tokens[0])
    return LoadReport(
        command=command,
        started_at=started_at,
        machine=f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
        load_average_before=_rounded(load_before),
        load_average_after=_rounded(os.getloadavg()),
        detector=_detector_description(),
        clients=options.clients,
        client_processes=options.processes,
        api_workers=options.api_workers,
        analysis_nice=app.analysis_nice,
        seconds=options.seconds,
        target_rps=options.rate,
        achieved_rps=run.achieved_rps,
        schedule_late_p99_ms=percentile_ms([s.late_s for s in run.samples], 99),
        routes=route_figures(run.samples),
        error_examples=sorted({s.error for s in run.samples if not s.ok})[:10],
        warmup=WarmupFigures.of(options.warmup_s, run.warmup_samples),
        alerts=run.alerts,
        server_cpu_cores=run.server_cpu_cores,
        server_rss_mb=run.server_rss_mb,
        generator_cpu_cores=run.generator_cpu_cores,
        other_cpu_cores=round(
            max(0.0, run.machine_cpu_cores - run.server_cpu_cores - run.generator_cpu_cores), 2
        ),
        cameras=cameras,
        seeded_incidents=len(seeded.incident_ids),
        users=len(seeded.usernames),
    )


def prepare(options: LoadOptions, work: Path) -> tuple[Path, AppConfig, load_scene.Seeded]:
    """Videos, the cameras' YAML (its path and what it says), and a seeded database in
    `work/data`."""
    videos = load_scene.write_videos(work / "videos", min(VARIANTS, options.cameras))
    config = load_scene.camera_config(videos, options.cameras)
    if options.analysis_nice is not None:
        config["analysis_nice"] = options.analysis_nice
    config_path = work / "cameras.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    app = AppConfig.model_validate(config)
    data = work / "data"
    engine = make_engine(f"sqlite:///{(data / 'streetwatch.db').resolve()}")
    try:
        migrate(engine)
        seeded = load_scene.seed(
            engine,
            data / "evidence",
            app,
            options.seed_incidents,
            options.users,
        )
    finally:
        engine.dispose()
    return config_path, app, seeded


def sign_in(base_url: str, seeded: load_scene.Seeded) -> list[str]:
    """A session token per user, through the login route."""
    tokens = []
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as http:
        for name in seeded.usernames:
            response = http.post(
                "/api/auth/login", json={"username": name, "password": seeded.password}
            )
            response.raise_for_status()
            tokens.append(response.json()["token"])
    return tokens


def camera_states(base_url: str, token: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30, trust_env=False) as http:
        response = http.get("/api/cameras")
        response.raise_for_status()
        keep = ("name", "state", "lag_s", "frames_dropped")
        return [{k: c.get(k) for k in keep} for c in response.json()]


@dataclass(frozen=True, slots=True)
class _Run:
    samples: list[Sample]  # the measured seconds
    warmup_samples: list[Sample]
    achieved_rps: float
    alerts: AlertFigures
    server_cpu_cores: float
    server_rss_mb: dict[str, float]
    generator_cpu_cores: float
    machine_cpu_cores: float  # everything busy on the machine, load test included


async def _drive(
    options: LoadOptions, server: ServerProcess, seeded: load_scene.Seeded, tokens: list[str]
) -> _Run:
    stop = asyncio.Event()
    listeners = [Listener(n) for n in range(options.listeners)]
    ws_url = server.base_url.replace("http://", "ws://") + "/api/live"
    tasks = [
        asyncio.create_task(listen(lst, ws_url, tokens[lst.number % len(tokens)], stop))
        for lst in listeners
    ]
    await asyncio.wait_for(
        asyncio.gather(*(lst.connected.wait() for lst in listeners)), CONNECT_TIMEOUT_S
    )
    connected_at = datetime.now(UTC)
    sampler = asyncio.create_task(server.sample_rss())
    measured_from = time.monotonic() + _lead_s(options) + options.warmup_s
    cpu_at_start = asyncio.create_task(_server_cpu_at(server, measured_from))
    samples, generator_cpu = await _run_all_clients(options, server.base_url, seeded, tokens)
    cpu_before, machine_before, wall_before = await cpu_at_start
    wall = time.monotonic() - wall_before
    server_cpu = (server.cpu_seconds() - cpu_before) / wall
    machine_cpu = (machine_busy_seconds() - machine_before) / wall
    warmup = [s for s in samples if s.scheduled < measured_from]
    samples = [s for s in samples if s.scheduled >= measured_from]
    ended_at = datetime.now(UTC)
    sampler.cancel()
    published = await _published(server.base_url, tokens[0], connected_at, ended_at, listeners)
    stop.set()
    await asyncio.gather(*tasks)
    sent = [s for s in samples if not s.missed]
    end = max((s.done for s in sent), default=time.monotonic())
    start = min((s.scheduled for s in samples), default=end)
    return _Run(
        samples=samples,
        warmup_samples=warmup,
        achieved_rps=round(len(sent) / max(end - start, 1e-9), 1),
        alerts=alert_figures(listeners, published),
        server_cpu_cores=round(server_cpu, 2),
        server_rss_mb=server.rss_summary(),
        generator_cpu_cores=round(generator_cpu / (wall + options.warmup_s), 2),
        machine_cpu_cores=round(machine_cpu, 2),
    )


async def _server_cpu_at(server: ServerProcess, at: float) -> tuple[float, float, float]:
    """The server's CPU seconds, the machine's busy seconds and the clock at monotonic
    time `at` (the warm-up's end)."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    return server.cpu_seconds(), machine_busy_seconds(), time.monotonic()


def _lead_s(options: LoadOptions) -> float:
    # Client processes need a moment to start: the schedule begins once they can keep it.
    return 1.0 if options.processes == 1 else 4.0


async def _run_all_clients(
    options: LoadOptions, base_url: str, seeded: load_scene.Seeded, tokens: list[str]
) -> tuple[list[Sample], float]:
    """All samples (warm-up included) and the CPU seconds the clients used (in whichever
    processes)."""
    start_at = time.monotonic() + _lead_s(options)
    plans = _plans(options, base_url, seeded, tokens, start_at)
    if options.processes == 1:
        # The listeners share this process, so their CPU counts here too.
        before = time.process_time()
        samples = await run_clients(plans[0])
        return samples, time.process_time() - before
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(plans), mp_context=spawn) as pool:
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, run_clients_in_process, plan) for plan in plans)
        )
    return [s for group, _ in results for s in group], sum(cpu for _, cpu in results)


def _plans(
    options: LoadOptions,
    base_url: str,
    seeded: load_scene.Seeded,
    tokens: list[str],
    start_at: float,
) -> list[ClientPlan]:
    per = -(-options.clients // options.processes)
    plans = []
    for first in range(0, options.clients, per):
        count = min(per, options.clients - first)
        plans.append(
            ClientPlan(
                base_url=base_url,
                tokens=[tokens[(first + i) % len(tokens)] for i in range(count)],
                first_index=first,
                total_clients=options.clients,
                rate=options.rate,
                seconds=options.warmup_s + options.seconds,
                start_at=start_at,
                incident_ids=seeded.incident_ids,
                cameras=seeded.cameras,
            )
        )
    return plans


async def _published(
    base_url: str,
    token: str,
    since: datetime,
    until: datetime,
    listeners: list[Listener],
) -> dict[str, datetime]:
    """Camera incidents alerted while the listeners were connected (id -> alert_at), once
    every listener has them all or DRAIN_S has passed."""
    deadline = time.monotonic() + DRAIN_S
    await asyncio.sleep(2.0)  # alerts of the last seconds are still being written
    ids = await asyncio.to_thread(_camera_incidents, base_url, token, since, until)
    while time.monotonic() < deadline and not all_received(listeners, set(ids)):
        await asyncio.sleep(0.2)
    return ids


def _camera_incidents(
    base_url: str, token: str, since: datetime, until: datetime
) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    params: dict[str, str] = {"source": "camera", "since": since.isoformat(), "limit": "200"}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30, trust_env=False) as http:
        while True:
            response = http.get("/api/incidents", params=params)
            response.raise_for_status()
            page = response.json()
            for item in page["items"]:
                alert_at = datetime.fromisoformat(item["alert_at"])
                if alert_at <= until:
                    found[item["id"]] = alert_at
            if not page["next_cursor"]:
                return found
            params["cursor"] = page["next_cursor"]


def alert_figures(listeners: list[Listener], published: dict[str, datetime]) -> AlertFigures:
    wanted = set(published)
    received = [len(wanted & lst.opened_ids()) for lst in listeners]
    delays = [
        e.received_at - published[e.incident_id].timestamp()
        for lst in listeners
        for e in lst.events
        if e.type == "incident.opened" and e.incident_id in wanted
    ]
    events = [len(lst.events) for lst in listeners]
    errors = [f"listener {lst.number}: {lst.error}" for lst in listeners if lst.error]
    return AlertFigures(
        published=len(wanted),
        listeners=len(listeners),
        listeners_connected=sum(not lst.error for lst in listeners),
        received_min=min(received, default=0),
        listeners_missing_some=sum(r < len(wanted) for r in received),
        events_min=min(events, default=0),
        events_max=max(events, default=0),
        delivery_p50_ms=percentile_ms(delays, 50),
        delivery_p95_ms=percentile_ms(delays, 95),
        delivery_max_ms=percentile_ms(delays, 100),
        listener_errors=errors[:10],
    )


def _rounded(values: tuple[float, float, float]) -> tuple[float, float, float]:
    a, b, c = (round(v, 2) for v in values)
    return a, b, c


def _detector_description() -> str:
    sessions, threads = session_plan(DetectorConfig(threads=1))
    return (
        f"onnx demo model (models/demo/streetwatch-demo.onnx, 320 px, {sessions} session(s) "
        f"of {threads} thread(s) shared by the cameras), 1 detection/s per camera"
    )
