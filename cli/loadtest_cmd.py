"""`streetwatch loadtest`: API clients and WebSocket listeners against a real server with
live cameras; prints a short table, writes the JSON report, and exits 1 when the run
missed its goals (errors, rate, undelivered alerts, API p95)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.benchmark.load import LoadOptions
    from pipeline.benchmark.load_report import LoadReport

P95_GOAL_MS = 200.0
RATE_TOLERANCE = 0.10


def register(sub: Any) -> None:
    p = sub.add_parser("loadtest", help="API and WebSocket load against a server with live cameras")
    p.add_argument("--clients", type=int, default=200, help="API client connections")
    p.add_argument("--rate", type=float, default=200.0, help="requests/s over all clients")
    p.add_argument("--listeners", type=int, default=50, help="WebSocket alert listeners")
    p.add_argument("--cameras", type=int, default=8, help="live cameras on looped video")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the measured load")
    p.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds of the same load first, reported apart (default 0)",
    )
    p.add_argument(
        "--processes", type=int, default=1, help="client processes (1: beside the listeners)"
    )
    p.add_argument("--api-workers", type=int, default=1, help="server processes serving the API")
    p.add_argument(
        "--analysis-nice",
        type=int,
        help="nice levels the cameras run below the API (default: the config's, 10); "
        "0 to compare with them at the API's priority",
    )
    p.add_argument("--seed-incidents", type=int, default=400, help="past incidents to seed")
    p.add_argument("--users", type=int, default=20, help="signed-in users the clients share")
    p.add_argument("--work-dir", type=Path, help="keep videos, database and server log here")
    p.add_argument("--out", type=Path, default=Path("loadtest-report.json"), help="JSON report")
    p.set_defaults(func=run)


def goal_failures(report: LoadReport) -> list[str]:
    """What the run missed of the load goal (empty: all met)."""
    problems = []
    if report.errors:
        problems.append(f"{report.errors} requests failed")
    if report.achieved_rps < report.target_rps * (1 - RATE_TOLERANCE):
        problems.append(f"achieved {report.achieved_rps} req/s of {report.target_rps}")
    if not report.alerts.all_delivered:
        problems.append("some listeners missed alerts or never connected")
    if report.routes["all"].p95_ms >= P95_GOAL_MS:
        problems.append(f"API p95 {report.routes['all'].p95_ms} ms >= {P95_GOAL_MS:.0f} ms")
    return problems


def run(args: argparse.Namespace) -> int:
    from pipeline.benchmark.load import LoadOptions, run_load

    options = LoadOptions(
        clients=args.clients,
        rate=args.rate,
        listeners=args.listeners,
        cameras=args.cameras,
        seconds=args.seconds,
        warmup_s=args.warmup,
        processes=args.processes,
        api_workers=args.api_workers,
        seed_incidents=args.seed_incidents,
        users=args.users,
        analysis_nice=args.analysis_nice,
        work_dir=args.work_dir,
    )
    try:
        options.check()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Stopped by a TERM signal (a CI timeout), still stop the server on the way out.
    signal.signal(signal.SIGTERM, _exit_on_term)
    # A log line per request would cost the load generator more than the request itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    report = run_load(options, command_line(options))
    print(report.table())
    args.out.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    print(f"wrote {args.out}")
    problems = goal_failures(report)
    for problem in problems:
        print(f"goal missed: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _exit_on_term(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def command_line(options: LoadOptions) -> str:
    """The command that repeats this run (for the report)."""
    parts = [
        "streetwatch loadtest",
        f"--clients {options.clients}",
        f"--rate {options.rate:g}",
        f"--listeners {options.listeners}",
        f"--cameras {options.cameras}",
        f"--seconds {options.seconds:g}",
        f"--warmup {options.warmup_s:g}",
        f"--processes {options.processes}",
        f"--api-workers {options.api_workers}",
        f"--seed-incidents {options.seed_incidents}",
        f"--users {options.users}",
    ]
    if options.analysis_nice is not None:
        parts.append(f"--analysis-nice {options.analysis_nice}")
    return " ".join(parts)
