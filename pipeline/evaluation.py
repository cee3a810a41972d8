"""Event-level evaluation (docs: EVALUATION.md): incidents matched to truth events by zone,
type, alert time window and box overlap; precision, recall, F1, duplicates, alert delay and
false alarms per camera-hour."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError
from pipeline.geometry import Box, as_box, iou

EARLY_S = 2.0  # an alert may come this much before arrive + dwell
LATE_S = 10.0  # ... and at most this much after it
MIN_IOU = 0.3


@dataclass(frozen=True, slots=True)
class TruthEvent:
    zone: str
    type: str
    arrive_s: float
    leave_s: float
    box: Box | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """The part of an incident the evaluation reads."""

    id: str
    zone: str
    type: str
    alert_s: float
    box: Box


@dataclass(slots=True)
class EvalReport:
    events: int
    incidents: int
    matched: int
    duplicates: int
    false_alarms: int  # incidents matching no truth event (duplicates not included)
    hours: float
    delays: list[float] = field(default_factory=list)
    unmatched_events: list[TruthEvent] = field(default_factory=list)
    unmatched_incidents: list[Alert] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.incidents if self.incidents else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.events if self.events else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def p90_delay(self) -> float | None:
        if not self.delays:
            return None
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]

    @property
    def false_alarms_per_hour(self) -> float:
        return (self.false_alarms + self.duplicates) / self.hours if self.hours > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "incidents": self.incidents,
            "matched": self.matched,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "duplicates": self.duplicates,
            "false_alarms": self.false_alarms,
            "hours": round(self.hours, 4),
            "false_alarms_per_camera_hour": round(self.false_alarms_per_hour, 3),
            "median_alert_delay_s": self.median_delay,
            "p90_alert_delay_s": self.p90_delay,
        }


def load_truth(path: Path) -> list[TruthEvent]:
    """Read a truth file (YAML or JSON) with an `events` list."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read truth file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise InputError(f"truth file {path} has no 'events' list")
    events = []
    for i, ev in enumerate(data["events"]):
        try:
            box = as_box(ev["box"]) if ev.get("box") else None
            events.append(
                TruthEvent(
                    str(ev["zone"]),
                    str(ev["type"]),
                    float(ev["arrive_s"]),
                    float(ev["leave_s"]),
                    box,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"truth file {path}: events[{i}] is malformed ({exc})") from None
    return events


def evaluate(
    alerts: Sequence[Alert], truth: Sequence[TruthEvent], dwell: dict[str, float], hours: float
) -> EvalReport:
    """Match alerts to events (`dwell`: zone name -> dwell seconds)."""
    real = [ev for ev in truth if ev.leave_s - ev.arrive_s >= dwell.get(ev.zone, 0.0)]
    pairs = sorted(
        (
            (abs(_delay(a, ev, dwell)), ai, ei)
            for ai, a in enumerate(alerts)
            for ei, ev in enumerate(real)
            if _matches(a, ev, dwell)
        ),
    )
    alert_taken: set[int] = set()
    event_taken: set[int] = set()
    report = EvalReport(
        events=len(real),
        incidents=len(alerts),
        matched=0,
        duplicates=0,
        false_alarms=0,
        hours=hours,
    )
    for _, ai, ei in pairs:
        if ai in alert_taken or ei in event_taken:
            continue
        alert_taken.add(ai)
        event_taken.add(ei)
        report.matched += 1
        report.delays.append(_delay(alerts[ai], real[ei], dwell))
    for ai, alert in enumerate(alerts):
        if ai in alert_taken:
            continue
        if any(_matches(alert, ev, dwell) for ev in real):
            report.duplicates += 1
        else:
            report.false_alarms += 1
            report.unmatched_incidents.append(alert)
    report.unmatched_events = [ev for ei, ev in enumerate(real) if ei not in event_taken]
    return report


def _delay(alert: Alert, event: TruthEvent, dwell: dict[str, float]) -> float:
    return alert.alert_s - (event.arrive_s + dwell.get(event.zone, 0.0))


def _matches(alert: Alert, event: TruthEvent, dwell: dict[str, float]) -> bool:
    if alert.zone != event.zone or alert.type != event.type:
        return False
    expected = event.arrive_s + dwell.get(event.zone, 0.0)
    if not expected - EARLY_S <= alert.alert_s <= min(event.leave_s, expected + LATE_S):
        return False
    return event.box is None or iou(alert.box, event.box) >= MIN_IOU


def format_report(report: EvalReport) -> str:
    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:+.1f} s"

    lines = [
        f"events {report.events}, incidents {report.incidents}, matched {report.matched}",
        f"precision {report.precision:.3f}   recall {report.recall:.3f}   F1 {report.f1:.3f}",
        f"duplicates {report.duplicates}   false alarms {report.false_alarms} "
        f"({report.false_alarms_per_hour:.2f} per camera-hour over {report.hours * 60:.1f} min)",
        f"alert delay median {secs(report.median_delay)}   p90 {secs(report.p90_delay)}",
    ]
    for ev in report.unmatched_events:
        lines.append(f"  missed: {ev.type} in {ev.zone}, arrived {ev.arrive_s:.1f} s")
    for a in report.unmatched_incidents:
        lines.append(f"  false alarm: {a.type} in {a.zone} at {a.alert_s:.1f} s ({a.id[:8]})")
    return "\n".join(lines)
