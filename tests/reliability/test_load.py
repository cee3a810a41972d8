"""Load (issue #7): 200 API clients at 200 requests/s in all and 50 WebSocket listeners for
60 s against a real server process whose 8 live cameras keep raising alerts. Loopback only;
the same code as `streetwatch loadtest` (figures and how they were taken:
docs/reliability.md).

The server runs as `serve --api-workers 2` would: the cameras in one process, at nice 10
below the API (`analysis_nice`), the API in two more. Two verdicts from one run: what must
hold even when the server is overloaded (every alert at every listener, no failed
response), and the goal itself (no errors, the rate held, API p95 under 200 ms). Before the
cameras ran below the API the goal was met or missed by how fast the host let this shared
2-core VM run (p95 43-84 ms in fast hours, 0.3-1.3 s in a slow one, 104-486 ms in three
runs one evening); with them below it, p95 was 9.4-10.9 ms here and 22.9-27.8 ms with 28
cameras using 1.8 of the 2 cores (docs/reliability.md). A run that shared the machine with
other busy processes measures them as much as the server: the goal is then reported as an
expected failure that names them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from cli.loadtest_cmd import goal_failures
from pipeline.benchmark.load import LoadOptions, run_load
from pipeline.benchmark.load_report import LoadReport

RUN_LIMIT_S = 120.0
# CPU used outside the server and load generator above which a run was not the server's own.
SHARED_CPU_CORES = 0.25


@pytest.fixture(scope="module")
def report() -> Iterator[LoadReport]:
    options = LoadOptions(clients=200, rate=200, listeners=50, cameras=8, seconds=60, api_workers=2)
    started = time.monotonic()
    result = run_load(options, "tests/reliability/test_load.py")
    print(result.table())
    assert time.monotonic() - started < RUN_LIMIT_S, result.table()
    yield result


@pytest.mark.slow
def test_under_load_every_alert_reaches_every_listener_and_nothing_fails(
    report: LoadReport,
) -> None:
    summary = report.table()
    assert report.alerts.published >= 5, summary  # the cameras really alerted meanwhile
    assert report.alerts.all_delivered, f"{report.alerts.listener_errors}\n{summary}"
    # Overload may leave requests unsent (a client still waiting), never failed ones.
    failed = [e for e in report.error_examples if not e.startswith("not sent")]
    assert failed == [], f"{failed}\n{summary}"
    assert all(c["state"] == "online" for c in report.cameras), report.cameras


@pytest.mark.slow
def test_load_goal_no_errors_rate_held_p95_under_200_ms(report: LoadReport) -> None:
    missed = goal_failures(report)
    if missed and report.other_cpu_cores > SHARED_CPU_CORES:
        pytest.xfail(
            f"goal missed ({'; '.join(missed)}) while other processes kept "
            f"{report.other_cpu_cores} cores busy: not a measure of the server"
        )
    assert missed == [], report.table()
