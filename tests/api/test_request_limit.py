"""Many requests at once: they queue for a place instead of deadlocking the thread pool on
the database pool (found by the load test: 100 req/s stalled every request for 30 s)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.request_limit import RequestLimit
from tests.api.conftest import Api


def test_at_most_limit_requests_run_at_once_and_streams_are_exempt() -> None:
    inside, most = 0, 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1

    async def nothing() -> Any:
        return {}

    async def ignore(message: Any) -> None:
        pass

    async def run() -> None:
        limited = RequestLimit(app, limit=3)
        call = {"type": "http", "path": "/api/incidents"}
        await asyncio.gather(*(limited(call, nothing, ignore) for _ in range(20)))
        assert most == 3
        stream = {"type": "http", "path": "/api/live/sse"}
        streams = [limited(stream, nothing, ignore) for _ in range(5)]
        await asyncio.gather(*streams)
        assert most == 5

    asyncio.run(run())
    with pytest.raises(ValueError, match="at least 1"):
        RequestLimit(app, limit=0)


def test_a_hundred_concurrent_requests_all_succeed_quickly(api: Api, server: str) -> None:
    for n in range(30):
        api.add_incident(incident_id=f"many-{n:02d}")
    headers = api.auth("monitor")

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server, limits=limits, timeout=20) as client:
            paths = ["/api/incidents?limit=50", "/api/incidents/many-07"] * 50
            responses = await asyncio.gather(*(client.get(p, headers=headers) for p in paths))
        return [r.status_code for r in responses]

    assert asyncio.run(run()) == [200] * 100
