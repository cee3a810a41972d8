"""Event-level matching as EVALUATION.md defines it."""

from __future__ import annotations

import pytest

from pipeline.evaluation import Alert, TruthEvent, evaluate

DWELL = {"curb": 10.0}
CAR = (0.0, 0.0, 100.0, 50.0)
BoxT = tuple[float, float, float, float]


def ev(arrive: float, leave: float, box: BoxT | None = CAR) -> TruthEvent:
    return TruthEvent("curb", "illegal_parking", arrive, leave, box)


def al(alert_s: float, box: BoxT = CAR, zone: str = "curb", i: int = 0) -> Alert:
    return Alert(f"a{i}-{alert_s}", zone, "illegal_parking", alert_s, box)


@pytest.mark.parametrize(
    ("alerts", "truth", "expected"),
    [
        # (matched, duplicates, false alarms)
        ([al(20.5)], [ev(10, 60)], (1, 0, 0)),
        ([al(17.9)], [ev(10, 60)], (0, 0, 1)),  # more than 2 s early
        ([al(30.5)], [ev(10, 60)], (0, 0, 1)),  # more than 10 s late
        ([al(25.0)], [ev(10, 24)], (0, 0, 1)),  # after the object left
        ([al(20.0, box=(200, 0, 300, 50))], [ev(10, 60)], (0, 0, 1)),  # elsewhere
        ([al(20.0)], [ev(10, 60, box=None)], (1, 0, 0)),  # truth without a box
        ([al(20.0, zone="sidewalk")], [ev(10, 60)], (0, 0, 1)),
        ([al(20.0), al(21.0, i=1)], [ev(10, 60)], (1, 1, 0)),  # a second incident: duplicate
        ([al(15.0)], [ev(10, 15)], (0, 0, 1)),  # shorter than the dwell: not an event
    ],
)
def test_matching_rules(
    alerts: list[Alert], truth: list[TruthEvent], expected: tuple[int, int, int]
) -> None:
    report = evaluate(alerts, truth, DWELL, hours=1.0)
    assert (report.matched, report.duplicates, report.false_alarms) == expected


def test_metrics() -> None:
    truth = [ev(10, 60), ev(100, 200, box=(300, 0, 400, 50)), ev(300, 400, box=(500, 0, 600, 50))]
    alerts = [
        al(21.0),
        al(111.0, box=(300, 0, 400, 50)),
        al(50.0, box=(700, 0, 800, 50)),
        al(22.0, i=2),
    ]
    report = evaluate(alerts, truth, DWELL, hours=0.5)
    assert report.matched == 2 and report.duplicates == 1 and report.false_alarms == 1
    assert report.precision == pytest.approx(2 / 4)  # duplicates count against precision
    assert report.recall == pytest.approx(2 / 3)
    assert report.median_delay == pytest.approx(1.0)
    assert report.false_alarms_per_hour == pytest.approx(4.0)  # (1 false + 1 duplicate) / 0.5 h
    assert [e.arrive_s for e in report.unmatched_events] == [300]
