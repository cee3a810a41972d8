"""KPIs and the hot-spot ledger on a hand-built database, checked against hand arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from pipeline.store.kpis import KpiRow, compute_kpis, median, p90
from pipeline.store.ledger import WEEKDAYS, spot_ledger
from pipeline.store.tables import CameraRow, IncidentRow
from tests.api.conftest import T0, Api

START = datetime(2024, 6, 1, tzinfo=UTC)
END = datetime(2024, 7, 1, tzinfo=UTC)
PERIOD = "start=2024-06-01T00:00:00Z&end=2024-07-01T00:00:00Z"
H = timedelta(hours=1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def seed(
    api: Api, incident_id: str, camera: str, zone: str, alert_at: datetime, **fields: Any
) -> None:
    """One incident; `fields` set columns make_record does not (times, source, team, box)."""
    repeat_of = fields.pop("repeat_of", None)
    api.add_incident(
        incident_id=incident_id, camera=camera, zone=zone, alert_at=alert_at, repeat_of=repeat_of
    )
    with Session(api.engine) as session, session.begin():
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)


def handled(
    alert: datetime, review: float, dispatch: float | None = None, resolve: float | None = None
) -> dict[str, datetime]:
    """Timestamps from the spans: alert +review -> reviewed, +dispatch -> dispatched, ..."""
    times = {"reviewed_at": alert + s(review)}
    if dispatch is not None:
        times["dispatched_at"] = times["reviewed_at"] + s(dispatch)
        if resolve is not None:
            times["resolved_at"] = times["dispatched_at"] + s(resolve)
    return times


def seed_kpi_world(api: Api) -> None:
    """Catalog: cam-a/z1 and cam-a/z2 belong to team-1, cam-b/z1 to team-2 (conftest)."""
    # cam-a/z1: confirmed -> dispatched -> resolved -> rectified, and two more.
    a1 = handled(T0, 60, 300, 1200)
    seed(
        api,
        "a1",
        "cam-a",
        "z1",
        T0,
        status="rectified",
        team="team-1",
        **a1,
        rectified_at=a1["resolved_at"] + s(600),
    )
    seed(
        api,
        "a2",
        "cam-a",
        "z1",
        T0 + H,
        status="resolved",
        team="team-1",
        **handled(T0 + H, 120, 600, 1800),
    )
    seed(api, "a3", "cam-a", "z1", T0 + 2 * H, status="dismissed", **handled(T0 + 2 * H, 180))
    # cam-a/z2: a dispatched one, an unreviewed one, and a reopened one sent out again: its
    # resolved_at (first round) is before its new dispatched_at, so no resolve span.
    seed(
        api,
        "a4",
        "cam-a",
        "z2",
        T0 + 3 * H,
        status="dispatched",
        team="team-1",
        **handled(T0 + 3 * H, 240, 900),
    )
    seed(api, "a5", "cam-a", "z2", T0 + 4 * H)
    a6_reviewed = T0 + 8 * H + s(60)
    seed(
        api,
        "a6",
        "cam-a",
        "z2",
        T0 + 8 * H,
        status="dispatched",
        team="team-1",
        reviewed_at=a6_reviewed,
        resolved_at=a6_reviewed + s(600),
        reopened_at=a6_reviewed + s(650),
        dispatched_at=a6_reviewed + s(750),
    )
    # cam-b/z1: one alerted exactly at the start (inside: [start, end)), no team on b1/b2.
    seed(api, "e1", "cam-b", "z1", START)
    seed(api, "b1", "cam-b", "z1", T0 + 5 * H, status="confirmed", **handled(T0 + 5 * H, 30))
    seed(api, "b2", "cam-b", "z1", T0 + 6 * H, status="dismissed", **handled(T0 + 6 * H, 90))
    seed(
        api,
        "b3",
        "cam-b",
        "z1",
        T0 + 9 * H,
        status="resolved",
        team="team-2",
        **handled(T0 + 9 * H, 300, 60, 3600),
    )
    # Entered by hand at cam-a/z1: counted as reported, kept out of the camera figures.
    seed(
        api,
        "r1",
        "cam-a",
        "z1",
        T0 + 7 * H,
        source="reported",
        status="resolved",
        team="team-1",
        **handled(T0 + 7 * H, 0, 100, 200),
    )
    # A camera outside the catalog: its own zone group, no team ("(unassigned)").
    seed(api, "c1", "cam-c", "z9", T0 + 10 * H)
    # Outside the period: just before the start, exactly at the end.
    seed(api, "out1", "cam-a", "z1", START - s(1), status="confirmed", **handled(START - s(1), 10))
    seed(api, "out2", "cam-b", "z1", END, status="dismissed", **handled(END, 10))


def row(group: str, **figures: Any) -> KpiRow:
    empty: dict[str, Any] = dict.fromkeys(KpiRow.__dataclass_fields__, None)
    empty.update(discovered=0, reported=0, confirmed=0, dismissed=0, resolved=0, rectified=0)
    return KpiRow(**(empty | {"group": group} | figures))


# Figures by hand. Spans in seconds; median of an even count is the mean of the middle two;
# p90 is nearest-rank: sorted value number ceil(0.9 * n).
CAM_A_Z1 = row(
    "cam-a/z1",
    discovered=3,  # a1 a2 a3
    reported=1,  # r1
    confirmed=2,  # a1 a2
    dismissed=1,  # a3
    review_precision=2 / 3,
    resolved=2,  # a1 a2
    disposal_rate=2 / 2,
    rectified=1,  # a1
    rectification_rate=1 / 2,
    review_median_s=120.0,  # [60, 120, 180]
    review_p90_s=180.0,  # rank ceil(2.7) = 3
    dispatch_median_s=(300 + 600) / 2,  # [300, 600]
    dispatch_p90_s=600.0,  # rank ceil(1.8) = 2
    resolve_median_s=(1200 + 1800) / 2,
    resolve_p90_s=1800.0,
)
CAM_A_Z2 = row(
    "cam-a/z2",
    discovered=3,  # a4 a5 a6
    confirmed=2,  # a4 a6 (a5 not reviewed)
    review_precision=2 / 2,
    resolved=1,  # a6 has resolved_at from its first round
    disposal_rate=1 / 2,
    rectification_rate=0 / 1,
    review_median_s=(60 + 240) / 2,  # [60, 240]
    review_p90_s=240.0,
    dispatch_median_s=(750 + 900) / 2,  # [750, 900]
    dispatch_p90_s=900.0,
    # resolve: a6's span is 600 - 750 < 0, left out; none left -> None
)
CAM_B_Z1 = row(
    "cam-b/z1",
    discovered=4,  # e1 b1 b2 b3
    confirmed=2,  # b1 b3
    dismissed=1,  # b2
    review_precision=2 / 3,
    resolved=1,  # b3
    disposal_rate=1 / 2,
    rectification_rate=0 / 1,
    review_median_s=90.0,  # [30, 90, 300]
    review_p90_s=300.0,
    dispatch_median_s=60.0,
    dispatch_p90_s=60.0,
    resolve_median_s=3600.0,
    resolve_p90_s=3600.0,
)
CAM_C_Z9 = row("cam-c/z9", discovered=1)  # c1, never reviewed: every rate undefined
TEAM_1 = row(
    "team-1",  # a1 a2 a4 a6 r1 by dispatch; a3 a5 by zone ownership
    discovered=6,
    reported=1,
    confirmed=4,  # a1 a2 a4 a6
    dismissed=1,  # a3
    review_precision=4 / 5,
    resolved=3,  # a1 a2 a6
    disposal_rate=3 / 4,
    rectified=1,
    rectification_rate=1 / 3,
    review_median_s=120.0,  # [60, 60, 120, 180, 240]
    review_p90_s=240.0,  # rank ceil(4.5) = 5
    dispatch_median_s=(600 + 750) / 2,  # [300, 600, 750, 900]
    dispatch_p90_s=900.0,  # rank ceil(3.6) = 4
    resolve_median_s=1500.0,  # [1200, 1800]
    resolve_p90_s=1800.0,
)


def team_2() -> KpiRow:
    """cam-b/z1 belongs to team-2 alone: b3 by dispatch, e1 b1 b2 by ownership."""
    fields = {name: getattr(CAM_B_Z1, name) for name in KpiRow.__dataclass_fields__}
    return KpiRow(**(fields | {"group": "team-2"}))


ALL = row(
    "all",
    discovered=3 + 3 + 4 + 1,
    reported=1,
    confirmed=2 + 2 + 2,
    dismissed=1 + 0 + 1,
    review_precision=6 / 8,
    resolved=2 + 1 + 1,
    disposal_rate=4 / 6,
    rectified=1,
    rectification_rate=1 / 4,
    review_median_s=(90 + 120) / 2,  # [30, 60, 60, 90, 120, 180, 240, 300]
    review_p90_s=300.0,  # rank ceil(7.2) = 8
    dispatch_median_s=600.0,  # [60, 300, 600, 750, 900]
    dispatch_p90_s=900.0,  # rank ceil(4.5) = 5
    resolve_median_s=1800.0,  # [1200, 1800, 3600]
    resolve_p90_s=3600.0,  # rank ceil(2.7) = 3
)


def test_percentile_definitions() -> None:
    assert median([]) is None and p90([]) is None
    assert median([5.0]) == 5.0 and p90([5.0]) == 5.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert p90([float(v) for v in range(1, 11)]) == 9.0  # ceil(9.0) = 9th of 1..10
    assert p90([float(v) for v in range(1, 12)]) == 10.0  # ceil(9.9) = 10th of 1..11


def test_kpis_by_zone_team_and_all_match_hand_figures(api: Api) -> None:
    seed_kpi_world(api)
    with Session(api.engine) as session:
        assert compute_kpis(session, START, END, "zone") == [CAM_A_Z1, CAM_A_Z2, CAM_B_Z1, CAM_C_Z9]
        teams = compute_kpis(session, START, END, "team")
        assert teams == [TEAM_1, team_2(), row("(unassigned)", discovered=1)]
        assert compute_kpis(session, START, END, "all") == [ALL]


def test_reported_incidents_have_their_own_figures(api: Api) -> None:
    seed_kpi_world(api)
    with Session(api.engine) as session:
        [reported] = compute_kpis(session, START, END, "all", source="reported")
        [both] = compute_kpis(session, START, END, "all", source="all")
    assert reported == row(
        "all",
        discovered=11,
        reported=1,
        confirmed=1,  # r1
        review_precision=1 / 1,
        resolved=1,
        disposal_rate=1 / 1,
        rectification_rate=0 / 1,
        review_median_s=0.0,
        review_p90_s=0.0,
        dispatch_median_s=100.0,
        dispatch_p90_s=100.0,
        resolve_median_s=200.0,
        resolve_p90_s=200.0,
    )
    assert (both.confirmed, both.dismissed, both.resolved) == (6 + 1, 2, 4 + 1)
    assert both.review_precision == 7 / 9
    assert both.review_median_s == 90.0  # [0, 30, 60, 60, 90, 120, 180, 240, 300]


def test_empty_team_is_listed_with_zeros(api: Api) -> None:
    seed(api, "x", "cam-a", "z1", T0)
    with Session(api.engine) as session:
        teams = compute_kpis(session, START, END, "team")
    assert teams == [row("team-1", discovered=1), row("team-2", discovered=0)]


def test_kpi_endpoint_returns_the_same_figures(api: Api) -> None:
    seed_kpi_world(api)
    response = api.client.get(f"/api/kpis?{PERIOD}&by=zone", headers=api.auth("supervisor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == "zone" and body["source"] == "camera"
    first = body["rows"][0]
    assert first["group"] == "cam-a/z1"
    assert first["review_precision"] == pytest.approx(2 / 3)
    assert (first["discovered"], first["reported"], first["dispatch_median_s"]) == (3, 1, 450)
    assert body["rows"][3] == {
        "group": "cam-c/z9",
        **{k: getattr(CAM_C_Z9, k) for k in KpiRow.__dataclass_fields__ if k != "group"},
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (f"{PERIOD}&by=street", "zone"),
        ("start=2024-06-01T00:00:00Z", "end"),
        ("start=2024-06-01T00:00:00&end=2024-07-01T00:00:00Z", "time zone"),
        ("start=2024-07-01T00:00:00Z&end=2024-06-01T00:00:00Z", "must be after"),
        (f"{PERIOD}&source=rumour", "camera"),
        ("start=yesterday&end=2024-07-01T00:00:00Z", "datetime"),
    ],
)
def test_bad_kpi_queries_give_422(api: Api, query: str, message: str) -> None:
    response = api.client.get(f"/api/kpis?{query}", headers=api.auth("supervisor"))
    assert response.status_code == 422
    assert message in response.text


def test_patrol_may_not_see_kpis_or_ledger(api: Api) -> None:
    for path in ("/api/kpis", "/api/ledger"):
        response = api.client.get(f"{path}?{PERIOD}", headers=api.auth("patrol"))
        assert response.status_code == 403, path


# ---------- ledger ----------

BOX_A = {"x1": 10.0, "y1": 20.0, "x2": 110.0, "y2": 220.0}
NEAR_A = {"x1": 12.0, "y1": 22.0, "x2": 112.0, "y2": 222.0}  # IoU with A: 19404/20596 = 0.94
# IoU with A 10000/30000 = 0.33, with NEAR_A 10296/29704 = 0.35: only a link can join it.
DRIFTED = {"x1": 60.0, "y1": 20.0, "x2": 160.0, "y2": 220.0}
FAR = {"x1": 500.0, "y1": 500.0, "x2": 600.0, "y2": 600.0}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed_ledger_world(api: Api) -> None:
    """cam-a runs on Hanoi time (UTC+7), cam-b on UTC."""
    with Session(api.engine) as session, session.begin():
        camera = session.get(CameraRow, "cam-a")
        assert camera is not None
        camera.timezone = "Asia/Ho_Chi_Minh"
    # Before the period: the first violation at spot A, rectified on 20 May.
    seed(
        api,
        "L0",
        "cam-a",
        "z1",
        at("2024-05-20 10:00"),
        **BOX_A,
        rectified_at=at("2024-05-20 12:00"),
    )
    # Mon 3 June 18:00 Hanoi; linked to L0; rectified again that day.
    seed(
        api,
        "L1",
        "cam-a",
        "z1",
        at("2024-06-03 11:00"),
        **BOX_A,
        repeat_of="L0",
        reviewed_at=at("2024-06-03 11:05"),
        rectified_at=at("2024-06-03 14:00"),
    )
    # Tue 4 June 18:30 Hanoi, box moved a little, linked to L1; reopened once.
    seed(
        api,
        "L2",
        "cam-a",
        "z1",
        at("2024-06-04 11:30"),
        **NEAR_A,
        repeat_of="L1",
        reviewed_at=at("2024-06-04 11:35"),
        reopened_at=at("2024-06-04 15:00"),
    )
    # Wed 5 June 03:00 Hanoi, far away in the same zone: a spot of its own.
    seed(api, "L3", "cam-a", "z1", at("2024-06-04 20:00"), **FAR)
    # Sun 9 June 00:30 Hanoi: box drifted (IoU < 0.5 with all), but linked to L0 like L1.
    seed(api, "L4", "cam-a", "z1", at("2024-06-08 17:30"), **DRIFTED, repeat_of="L0")
    # Dismissed at spot A: a false positive is no violation.
    seed(
        api,
        "L5",
        "cam-a",
        "z1",
        at("2024-06-05 11:00"),
        **BOX_A,
        status="dismissed",
        reviewed_at=at("2024-06-05 11:01"),
    )
    # cam-b, same pixels as A but another camera: its own spot; L9 joins L6 by IoU alone.
    seed(
        api,
        "L6",
        "cam-b",
        "z1",
        at("2024-06-05 11:00"),
        **BOX_A,
        reviewed_at=at("2024-06-05 11:10"),
    )
    seed(api, "L9", "cam-b", "z1", at("2024-06-06 11:00"), **NEAR_A)


def counts(**nonzero: int) -> dict[str, int]:
    return {day: nonzero.get(day, 0) for day in WEEKDAYS}


def hours(**nonzero: int) -> dict[int, int]:
    return {hour: nonzero.get(f"h{hour}", 0) for hour in range(24)}


def test_ledger_groups_spots_and_counts_local_days_hours_and_repeats(api: Api) -> None:
    seed_ledger_world(api)
    with Session(api.engine) as session:
        spots = spot_ledger(session, START, END)
    assert [spot.incident_ids for spot in spots] == [["L1", "L2", "L4"], ["L6", "L9"], ["L3"]]
    main, cam_b, far = spots
    assert (main.camera, main.zone, main.box) == ("cam-a", "z1", (60.0, 20.0, 160.0, 220.0))
    assert main.violations == 3
    assert main.repeats == 3  # L1 -> L0, L2 -> L1, L4 -> L0
    # Rectified: L0 on 20 May (before the period, reached through the links) and L1 on
    # 3 June; L1 (3 June), L2 and L4 all began after 20 May.
    assert main.after_rectification == 3
    assert main.reopened == 1  # L2
    assert main.by_weekday == counts(mon=1, tue=1, sun=1)  # Hanoi days, not UTC (Sat for L4)
    assert main.by_hour == hours(h18=2, h0=1)  # 18:00, 18:30, 00:30 Hanoi
    assert (main.first_at, main.last_at) == (at("2024-06-03 11:00"), at("2024-06-08 17:30"))
    assert (cam_b.violations, cam_b.repeats, cam_b.after_rectification) == (2, 0, 0)
    assert cam_b.by_weekday == counts(wed=1, thu=1) and cam_b.by_hour == hours(h11=2)  # UTC
    assert (far.violations, far.by_weekday, far.by_hour) == (1, counts(wed=1), hours(h3=1))


def test_ledger_filters(api: Api) -> None:
    seed_ledger_world(api)
    with Session(api.engine) as session:
        at_least_two = spot_ledger(session, START, END, min_violations=2)
        reviewed = spot_ledger(session, START, END, confirmed_only=True)
        early_june = spot_ledger(session, START, at("2024-06-05 00:00"))
    assert [s.incident_ids for s in at_least_two] == [["L1", "L2", "L4"], ["L6", "L9"]]
    assert [s.incident_ids for s in reviewed] == [["L1", "L2"], ["L6"]]
    assert [s.incident_ids for s in early_june] == [["L1", "L2"], ["L3"]]


def test_ledger_endpoint(api: Api) -> None:
    seed_ledger_world(api)
    response = api.client.get(
        f"/api/ledger?{PERIOD}&min_violations=2&limit=1", headers=api.auth("monitor")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_spots"] == 2
    [spot] = body["spots"]
    assert spot["incident_ids"] == ["L1", "L2", "L4"]
    assert spot["by_hour"] == [1] + [0] * 17 + [2] + [0] * 5
    assert list(spot["by_weekday"]) == list(WEEKDAYS)
    assert spot["by_weekday"]["sun"] == 1
    bad = api.client.get(f"/api/ledger?{PERIOD}&min_violations=0", headers=api.auth("monitor"))
    assert bad.status_code == 422
