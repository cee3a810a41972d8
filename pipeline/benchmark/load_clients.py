"""The load test's clients: API clients on a fixed open-loop schedule (asyncio, one
keep-alive connection each, `raw_http`) and WebSocket listeners that note every event and
when it arrived.

Times are `time.monotonic()` (the same clock in every process on one Linux machine) for the
schedule and latencies, and `time.time()` for alert receipt, which is compared with the
alert's own wall-clock timestamp.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

from pipeline.benchmark.raw_http import HttpProtocolError, RawConnection
from pipeline.records import EvidenceKind

KINDS = ("list", "detail", "evidence")
KIND_WEIGHTS = (0.4, 0.3, 0.3)
PICTURES = (EvidenceKind.first_seen, EvidenceKind.alert_clean, EvidenceKind.alert_annotated)
STATUSES = ("new", "confirmed", "dismissed")
TIMEOUT_S = 10.0
MAX_LATE_S = 1.0  # a send this late counts as a failure (see _one_client)


@dataclass(frozen=True, slots=True)
class ClientPlan:
    """A group of clients with everything they need, picklable for a worker process."""

    base_url: str
    tokens: list[str]  # one per client
    first_index: int  # the group's first client number, for its place in the schedule
    total_clients: int
    rate: float  # requests per second over all clients, all groups
    seconds: float
    start_at: float  # monotonic time of the schedule's zero
    incident_ids: list[str]
    cameras: list[str]


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    scheduled: float
    sent: float
    done: float
    status: int  # 0: no response (an exception)
    size: int
    error: str = ""
    missed: bool = False  # never sent: the client was still busy (see _one_client)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def latency_s(self) -> float:
        return self.done - self.sent

    @property
    def late_s(self) -> float:
        return self.sent - self.scheduled


def request_path(kind: str, rng: random.Random, plan: ClientPlan) -> str:
    """A path of the given kind, like an operator's screen asks for it."""
    if kind == "detail":
        return f"/api/incidents/{rng.choice(plan.incident_ids)}"
    if kind == "evidence":
        return f"/api/evidence/{rng.choice(plan.incident_ids)}/{rng.choice(PICTURES).value}"
    since = datetime.now(UTC) - timedelta(days=rng.randint(1, 7))
    filters = [
        f"camera={rng.choice(plan.cameras)}",
        f"status={rng.choice(STATUSES)}",
        f"since={since.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "type=illegal_parking",
    ]
    chosen = rng.sample(filters, rng.randint(0, 2))
    return "/api/incidents?" + "&".join([*chosen, f"limit={rng.choice((20, 50))}"])


def schedule(client: int, plan: ClientPlan) -> list[float]:
    """Monotonic send times of one client: every client sends every `clients / rate` s,
    offset by its number, so the sum over all clients is evenly spaced at `rate`."""
    period = plan.total_clients / plan.rate
    first = plan.start_at + client / plan.rate
    count = int(plan.seconds * plan.rate / plan.total_clients + 1e-9)
    times = [first + k * period for k in range(count + 1)]
    return [t for t in times if t < plan.start_at + plan.seconds]


async def _one_client(client: int, token: str, plan: ClientPlan) -> list[Sample]:
    rng = random.Random(client)
    samples = []
    url = urlsplit(plan.base_url)
    http = RawConnection(
        url.hostname or "127.0.0.1", url.port or 80, {"Authorization": f"Bearer {token}"}
    )
    try:
        for at in schedule(client, plan):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            path = request_path(kind, rng, plan)
            now = time.monotonic()
            if now - at > MAX_LATE_S:
                # Its previous request is still running: open-loop load does not wait for
                # the server, so this one counts as failed rather than being sent late.
                samples.append(Sample(kind, at, now, now, 0, 0, "not sent: client busy", True))
                continue
            samples.append(await _request(http, kind, path, at))
    finally:
        await http.close()
    return samples


async def _request(http: RawConnection, kind: str, path: str, scheduled: float) -> Sample:
    sent = time.monotonic()
    try:
        status, body = await asyncio.wait_for(http.get(path), TIMEOUT_S)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpProtocolError) as exc:
        await http.close()  # a half-read answer would poison the next one
        return Sample(kind, scheduled, sent, time.monotonic(), 0, 0, f"{type(exc).__name__}")
    done = time.monotonic()
    error = "" if 200 <= status < 300 else f"HTTP {status} {path}"
    return Sample(kind, scheduled, sent, done, status, len(body), error)


async def run_clients(plan: ClientPlan) -> list[Sample]:
    """Every client of the plan, concurrently, until the schedule ends."""
    results = await asyncio.gather(
        *(_one_client(plan.first_index + i, token, plan) for i, token in enumerate(plan.tokens))
    )
    return [s for group in results for s in group]


def run_clients_in_process(plan: ClientPlan) -> tuple[list[Sample], float]:
    """Entry point of a worker process: its samples and the CPU seconds it used."""
    before = time.process_time()
    samples = asyncio.run(run_clients(plan))
    return samples, time.process_time() - before


# --- WebSocket listeners -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    type: str
    incident_id: str | None
    alert_at: datetime | None
    received_at: float  # time.time()


@dataclass
class Listener:
    """One WebSocket client; `events` fills in as they arrive."""

    number: int
    events: list[Received] = field(default_factory=list)
    error: str = ""
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def opened_ids(self) -> set[str]:
        return {e.incident_id for e in self.events if e.type == "incident.opened" and e.incident_id}


def _received(message: str | bytes) -> Received:
    now = time.time()
    event = json.loads(message)
    incident = event.get("incident") or {}
    alert_at = incident.get("alert_at")
    return Received(
        event.get("type", "?"),
        incident.get("id"),
        datetime.fromisoformat(alert_at) if alert_at else None,
        now,
    )


async def listen(listener: Listener, ws_url: str, token: str, stop: asyncio.Event) -> None:
    """Record events until `stop` is set; a failure is kept in `listener.error`."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with connect(ws_url, additional_headers=headers, proxy=None) as ws:
            listener.connected.set()
            stopping = asyncio.create_task(stop.wait())
            while not stop.is_set():
                receiving = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait(
                    {receiving, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiving not in done:
                    receiving.cancel()
                    break
                listener.events.append(_received(receiving.result()))
            stopping.cancel()
    except Exception as exc:  # reported, not raised: one listener must not end the run
        listener.error = f"{type(exc).__name__}: {exc}"
        listener.connected.set()


def all_received(listeners: Sequence[Listener], ids: set[str]) -> bool:
    return all(ids <= listener.opened_ids() for listener in listeners)
