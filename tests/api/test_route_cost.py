"""The per-request CPU driver against the real app served on loopback."""

from __future__ import annotations

import asyncio
import os

from api.app import create_app
from api.settings import ApiSettings
from pipeline.benchmark.route_cost import measure, sign_in
from tests.api.conftest import PASSWORD, Api
from tests.served import served_on_loopback


def test_measures_requests_and_server_cpu(api: Api, settings: ApiSettings) -> None:
    for n in range(3):
        api.add_incident(incident_id=f"inc-{n}")
    with served_on_loopback(create_app(settings, api.runtime)) as port:
        plan = sign_in(f"http://127.0.0.1:{port}", "operator", PASSWORD)
        assert sorted(plan.incident_ids) == ["inc-0", "inc-1", "inc-2"]
        # The server runs in this process: its CPU is this process's.
        cost = asyncio.run(measure(plan, os.getpid(), "detail", connections=2, seconds=1.0))
    assert cost.requests > 10
    assert cost.server_cpu_s > 0
    assert 0 < cost.cpu_ms_per_request < 1000
    assert "requests/s" in cost.line()
