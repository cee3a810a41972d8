"""The load test's result: one `LoadReport`, as JSON and as a short table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipeline.benchmark.load_clients import KINDS, Sample


def percentile_ms(values: Sequence[float], q: float) -> float:
    """The q-th percentile of seconds, in milliseconds (0 for no values)."""
    return round(float(np.percentile(values, q)) * 1000, 1) if len(values) else 0.0


@dataclass(frozen=True, slots=True)
class RouteFigures:
    """Requests of one kind (or all of them): count, failures and latency."""

    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> RouteFigures:
        # Requests never sent (the client was still busy) count as errors, not as latencies.
        latencies = [s.latency_s for s in samples if not s.missed]
        return cls(
            requests=len(samples),
            errors=sum(not s.ok for s in samples),
            p50_ms=percentile_ms(latencies, 50),
            p95_ms=percentile_ms(latencies, 95),
            p99_ms=percentile_ms(latencies, 99),
            max_ms=percentile_ms(latencies, 100),
        )


def route_figures(samples: Sequence[Sample]) -> dict[str, RouteFigures]:
    figures = {"all": RouteFigures.of(samples)}
    for kind in KINDS:
        figures[kind] = RouteFigures.of([s for s in samples if s.kind == kind])
    return figures


@dataclass(frozen=True, slots=True)
class WarmupFigures:
    """The load before the measured seconds (not part of the goal, shown for honesty)."""

    seconds: float
    requests: int
    errors: int
    p95_ms: float

    @classmethod
    def of(cls, seconds: float, samples: Sequence[Sample]) -> WarmupFigures:
        route = RouteFigures.of(samples)
        return cls(seconds, route.requests, route.errors, route.p95_ms)


@dataclass(frozen=True, slots=True)
class AlertFigures:
    """Alerts the cameras published during the run and what each listener got of them.

    `published`: incidents the cameras stored (and so announced) between the listeners
    being connected and the load ending; every listener must receive every one."""

    published: int
    listeners: int
    listeners_connected: int
    received_min: int  # of the published alerts, by the listener that got fewest
    listeners_missing_some: int
    events_min: int  # all events (opened, updated, camera status) per listener
    events_max: int
    delivery_p50_ms: float  # alert's wall-clock time (alert_at) to receipt, all listeners
    delivery_p95_ms: float
    delivery_max_ms: float
    listener_errors: list[str] = field(default_factory=list)

    @property
    def all_delivered(self) -> bool:
        return self.listeners_connected == self.listeners and self.listeners_missing_some == 0


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Everything one run measured; `as_dict()` is the JSON the CLI writes."""

    command: str
    started_at: str
    machine: str
    load_average_before: tuple[float, float, float]
    load_average_after: tuple[float, float, float]
    detector: str
    clients: int
    client_processes: int
    api_workers: int  # server processes serving the API
    analysis_nice: int  # nice levels the cameras ran below the API (on Linux)
    seconds: float
    target_rps: float
    achieved_rps: float
    schedule_late_p99_ms: float  # how late the generator sent (it keeping up: near 0)
    routes: dict[str, RouteFigures]
    error_examples: list[str]
    alerts: AlertFigures
    server_cpu_cores: float
    server_rss_mb: dict[str, float]  # start, peak, end
    generator_cpu_cores: float
    # Busy CPU of everything else on the machine during the run: well above zero, the
    # server was sharing its cores and the figures say little about it.
    other_cpu_cores: float
    cameras: list[dict[str, Any]]
    seeded_incidents: int
    users: int
    warmup: WarmupFigures

    @property
    def requests(self) -> int:
        return self.routes["all"].requests

    @property
    def errors(self) -> int:
        return self.routes["all"].errors

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alerts"]["all_delivered"] = self.alerts.all_delivered
        return data

    def table(self) -> str:
        """A short human summary."""
        lines = [
            f"{self.clients} clients ({self.client_processes} process(es)), "
            f"{self.api_workers} API process(es), cameras {self.analysis_nice} nice levels "
            f"below the API, {self.seconds:.0f} s, "
            f"target {self.target_rps:.0f} req/s, achieved {self.achieved_rps:.1f} req/s "
            f"(sends late p99 {self.schedule_late_p99_ms:.1f} ms)",
            f"{'route':<10}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'p99 ms':>9}{'max ms':>9}",
        ]
        for name, r in self.routes.items():
            lines.append(
                f"{name:<10}{r.requests:>10}{r.errors:>8}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}"
                f"{r.p99_ms:>9.1f}{r.max_ms:>9.1f}"
            )
        w = self.warmup
        if w.seconds > 0:
            lines.append(
                f"before that, {w.seconds:g} s warm-up at the same rate (not counted): "
                f"{w.requests} requests, {w.errors} errors, p95 {w.p95_ms:.1f} ms"
            )
        a = self.alerts
        lines += [
            f"alerts published {a.published}; listeners {a.listeners_connected}/{a.listeners} "
            f"connected, fewest received {a.received_min}, missing some: "
            f"{a.listeners_missing_some}",
            f"alert delivery (alert_at to receipt) p50 {a.delivery_p50_ms:.0f} ms, "
            f"p95 {a.delivery_p95_ms:.0f} ms, max {a.delivery_max_ms:.0f} ms",
            f"server CPU {self.server_cpu_cores:.2f} cores, RSS MB {self.server_rss_mb}; "
            f"load generator CPU {self.generator_cpu_cores:.2f} cores; everything else on the "
            f"machine {self.other_cpu_cores:.2f} cores",
            self._camera_line(),
            f"load average before {self.load_average_before}, after {self.load_average_after}",
        ]
        return "\n".join(lines)

    def _camera_line(self) -> str:
        """Whether the cameras kept up beside the API (their state when the load ended)."""
        online = sum(c["state"] == "online" for c in self.cameras)
        lag = max((c.get("lag_s") or 0.0 for c in self.cameras), default=0.0)
        dropped = sum(c.get("frames_dropped") or 0 for c in self.cameras)
        return (
            f"cameras at the end: {online}/{len(self.cameras)} online, analysis lag max "
            f"{lag:.2f} s, frames dropped {dropped}"
        )
