"""Incident lists: filters, cursor pagination, patrol visibility, repeat counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.records import EvidenceKind
from tests.api.conftest import T0, Api


def seed_thirty(api: Api) -> None:
    """30 incidents an hour apart; every third on cam-b, odd ones vending on cam-a/z2."""
    for n in range(30):
        if n % 3 == 0:
            camera, zone, kind = "cam-b", "z1", "illegal_parking"
        elif n % 2:
            camera, zone, kind = "cam-a", "z2", "street_vending"
        else:
            camera, zone, kind = "cam-a", "z1", "illegal_parking"
        api.add_incident(
            incident_id=f"inc-{n:04d}",
            camera=camera,
            zone=zone,
            type=kind,
            alert_at=T0 + timedelta(hours=n),
            status="confirmed" if n % 5 == 0 else "new",
        )


def all_pages(api: Api, query: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        url = f"/api/incidents?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        body = api.client.get(url, headers=api.auth("operator")).json()
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


def test_cursor_pagination_walks_everything_newest_first(api: Api) -> None:
    seed_thirty(api)
    ids = all_pages(api, "", limit=7)
    assert ids == [f"inc-{n:04d}" for n in reversed(range(30))]


def test_same_alert_time_pages_by_id(api: Api) -> None:
    for n in range(5):
        api.add_incident(incident_id=f"same-{n}", alert_at=T0)
    assert all_pages(api, "", limit=2) == [f"same-{n}" for n in reversed(range(5))]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&camera=cam-b", [n for n in range(30) if n % 3 == 0]),
        ("&camera=cam-a&zone=z2", [n for n in range(30) if n % 3 and n % 2]),
        ("&type=street_vending", [n for n in range(30) if n % 3 and n % 2]),
        ("&status=confirmed", [n for n in range(30) if n % 5 == 0]),
        ("&since=2024-06-01T10:00:00Z&until=2024-06-01T13:00:00Z", [2, 3, 4]),
        ("&camera=cam-b&status=confirmed", [0, 15]),
    ],
)
def test_filters(api: Api, query: str, expected: list[int]) -> None:
    seed_thirty(api)
    ids = all_pages(api, query, limit=4)
    assert ids == [f"inc-{n:04d}" for n in sorted(expected, reverse=True)]


def test_limit_and_cursor_are_validated(api: Api) -> None:
    headers = api.auth("operator")
    assert api.client.get("/api/incidents?limit=201", headers=headers).status_code == 422
    assert api.client.get("/api/incidents?cursor=garbage", headers=headers).status_code == 400
    naive = "/api/incidents?since=2024-06-01T10:00:00"
    assert api.client.get(naive, headers=headers).status_code == 422


def test_incident_shape(api: Api) -> None:
    first = api.add_incident(incident_id="first-1")
    api.add_incident(incident_id="again-2", repeat_of=first.id, alert_at=T0 + timedelta(days=1))
    api.add_incident(incident_id="again-3", repeat_of="again-2", alert_at=T0 + timedelta(days=2))
    api.write_evidence("first-1", EvidenceKind.clip, b"x")
    items = api.client.get("/api/incidents", headers=api.auth("monitor")).json()["items"]
    by_id = {item["id"]: item for item in items}
    assert [by_id[i]["repeat_count"] for i in ("first-1", "again-2", "again-3")] == [0, 1, 2]
    # The earlier incidents of the chain off the page still count.
    newest = api.client.get("/api/incidents?limit=1", headers=api.auth("monitor")).json()
    assert [(i["id"], i["repeat_count"]) for i in newest["items"]] == [("again-3", 2)]
    item = by_id["first-1"]
    assert item["box"] == [10.0, 20.0, 110.0, 220.0]
    assert item["evidence"] == [
        {
            "kind": "clip",
            "url": "/api/evidence/first-1/clip",
            "sha256": "00" * 32,
            "media_type": "video/mp4",
        }
    ]
    assert item["alert_at"].startswith("2024-06-01T08:00:00")
    detail = api.client.get("/api/incidents/first-1", headers=api.auth("monitor")).json()
    assert detail["audit"] == [] and detail["id"] == "first-1"
    missing = api.client.get("/api/incidents/nope", headers=api.auth("monitor"))
    assert missing.status_code == 404


def test_patrol_sees_only_its_teams_dispatched_incidents(api: Api) -> None:
    api.add_incident(incident_id="mine-new")  # cam-a/z1, not dispatched yet
    api.add_incident(incident_id="mine-sent", status="confirmed")
    api.add_incident(incident_id="other-team", camera="cam-b", status="confirmed")
    boss = api.auth("supervisor")
    for incident_id, team in (("mine-sent", "team-1"), ("other-team", "team-2")):
        sent = api.client.post(
            f"/api/incidents/{incident_id}/dispatch", json={"team": team}, headers=boss
        )
        assert sent.status_code == 200, sent.text
    patrol = api.auth("patrol")
    items = api.client.get("/api/incidents", headers=patrol).json()["items"]
    assert [i["id"] for i in items] == ["mine-sent"]
    assert api.client.get("/api/incidents/mine-new", headers=patrol).status_code == 404
    assert api.client.get("/api/incidents/other-team", headers=patrol).status_code == 404
    # A team filter in the query cannot widen what a patrol user sees.
    wider = api.client.get("/api/incidents?team=team-2", headers=patrol).json()["items"]
    assert wider == []
    other = api.client.get("/api/incidents", headers=api.auth("patrol2")).json()["items"]
    assert [i["id"] for i in other] == ["other-team"]


def test_stats(api: Api) -> None:
    seed_thirty(api)
    body = api.client.get("/api/stats", headers=api.auth("monitor")).json()
    assert sum(body["by_type"].values()) == 30
    assert body["by_zone"]["cam-b/z1"] == 10
    assert body["by_day"] == {"2024-06-01": 16, "2024-06-02": 14}
    assert body["review_seconds"] == {"median": None, "p90": None}
    ranged = api.client.get(
        "/api/stats?since=2024-06-02T00:00:00Z", headers=api.auth("monitor")
    ).json()
    assert sum(ranged["by_type"].values()) == 14
