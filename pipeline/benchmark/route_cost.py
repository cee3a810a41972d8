"""CPU per API request: a closed loop of requests against a running server, with the
server's own CPU time read from /proc, so route changes can be compared per core.

    python -m pipeline.benchmark.route_cost --url http://127.0.0.1:8000 --pid PID \\
        --username U --password P [--kind mix|list|detail|evidence] [--connections 10]

Run it against `streetwatch serve --no-cameras` on a data folder with incidents (for
example one kept by `streetwatch loadtest --work-dir D`: `--data-dir D/data`, config
`D/cameras.yaml`, and a user added with `streetwatch user add`). The requests are those
of the load test (`load_clients.request_path`); the driver runs beside the server on the
same machine, so requests/s is what the server did with what the driver left it, and
"CPU ms per request" is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipeline.benchmark.load_clients import KIND_WEIGHTS, KINDS, ClientPlan, request_path
from pipeline.benchmark.raw_http import RawConnection


@dataclass(frozen=True, slots=True)
class RouteCost:
    kind: str
    requests: int
    seconds: float
    server_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / max(self.requests, 1)

    def line(self) -> str:
        return (
            f"{self.kind}: {self.per_second:.1f} requests/s, server CPU "
            f"{self.cpu_ms_per_request:.2f} ms a request ({self.requests} in {self.seconds:g} s)"
        )


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def sign_in(url: str, username: str, password: str) -> ClientPlan:
    """A token, and the incidents and cameras the requests pick from (one plan)."""
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
        response = http.post("/api/auth/login", json={"username": username, "password": password})
        response.raise_for_status()
        token = response.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        items = http.get("/api/incidents", params={"limit": 200}, headers=headers).json()["items"]
    if not items:
        raise SystemExit("the server has no incidents to ask for")
    return ClientPlan(
        base_url=url,
        tokens=[token],
        first_index=0,
        total_clients=1,
        rate=1.0,
        seconds=0.0,
        start_at=0.0,
        incident_ids=[i["id"] for i in items],
        cameras=sorted({i["camera"] for i in items}),
    )


async def measure(
    plan: ClientPlan, pid: int, kind: str, connections: int, seconds: float
) -> RouteCost:
    url = urlsplit(plan.base_url)
    headers = {"Authorization": f"Bearer {plan.tokens[0]}"}
    done = 0

    async def one(number: int) -> None:
        nonlocal done
        rng = random.Random(number)
        http = RawConnection(url.hostname or "127.0.0.1", url.port or 80, headers)
        try:
            while time.monotonic() < end:
                chosen = rng.choices(KINDS, KIND_WEIGHTS)[0] if kind == "mix" else kind
                status, _ = await http.get(request_path(chosen, rng, plan))
                if status != 200:
                    raise SystemExit(f"HTTP {status} for a {chosen} request")
                done += 1
        finally:
            await http.close()

    cpu_before, started = process_cpu_seconds(pid), time.monotonic()
    end = started + seconds
    await asyncio.gather(*(one(n) for n in range(connections)))
    elapsed = time.monotonic() - started
    return RouteCost(kind, done, round(elapsed, 2), process_cpu_seconds(pid) - cpu_before)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.benchmark.route_cost")
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", required=True, type=int, help="the server's process id")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--kind", choices=("mix", *KINDS), default="mix")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    plan = sign_in(args.url, args.username, args.password)
    cost = asyncio.run(measure(plan, args.pid, args.kind, args.connections, args.seconds))
    print(cost.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
