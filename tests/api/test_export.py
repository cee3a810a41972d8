"""CSV and GeoJSON export of incidents: columns, filters, camera points, roles."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from pipeline.store.incident_export import CSV_COLUMNS
from pipeline.store.tables import CameraRow, IncidentRow
from tests.api.conftest import T0, Api

HANOI = (21.0285, 105.8542)  # latitude, longitude


def seed(api: Api) -> None:
    """cam-a has coordinates, cam-b has none; three incidents an hour apart."""
    with Session(api.engine) as session, session.begin():
        camera = session.get(CameraRow, "cam-a")
        assert camera is not None
        camera.latitude, camera.longitude = HANOI
    api.add_incident(incident_id="e1", camera="cam-a", zone="z1", alert_at=T0)
    api.add_incident(incident_id="e2", camera="cam-b", zone="z1", alert_at=T0 + timedelta(hours=1))
    api.add_incident(incident_id="e3", camera="cam-a", zone="z2", alert_at=T0 + timedelta(hours=2))
    with Session(api.engine) as session, session.begin():
        e2 = session.get(IncidentRow, "e2")
        e3 = session.get(IncidentRow, "e3")
        assert e2 is not None and e3 is not None
        e2.status, e2.reviewed_at = "confirmed", T0 + timedelta(hours=1, minutes=2)
        e3.source, e3.place = "reported", '=HYPERLINK("http://x")'  # a spreadsheet formula


def get_csv(api: Api, query: str = "", user: str = "supervisor") -> list[list[str]]:
    response = api.client.get(f"/api/export/incidents.csv{query}", headers=api.auth(user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def test_csv_has_header_and_one_row_per_incident_oldest_first(api: Api) -> None:
    seed(api)
    header, *rows = get_csv(api)
    assert tuple(header) == CSV_COLUMNS
    records = [dict(zip(header, r, strict=True)) for r in rows]
    assert [r["id"] for r in records] == ["e1", "e2", "e3"]
    e1, e2, e3 = records
    assert (e1["camera"], e1["zone"], e1["status"], e1["source"]) == (
        "cam-a",
        "z1",
        "new",
        "camera",
    )
    assert e1["alert_at"] == "2024-06-01T08:00:00+00:00"
    assert (e1["x1"], e1["y1"], e1["x2"], e1["y2"]) == ("10.0", "20.0", "110.0", "220.0")
    assert (float(e1["latitude"]), float(e1["longitude"])) == HANOI
    assert (e2["latitude"], e2["longitude"], e2["reviewed_at"]) == (
        "",
        "",
        "2024-06-01T09:02:00+00:00",
    )
    assert e2["resolved_at"] == "" and e2["team"] == ""
    assert e3["source"] == "reported"
    assert e3["place"] == '\'=HYPERLINK("http://x")'  # neutralised, not run by a spreadsheet


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("?camera=cam-a", ["e1", "e3"]),
        ("?camera=cam-a&zone=z2", ["e3"]),
        ("?status=confirmed", ["e2"]),
        ("?start=2024-06-01T09:00:00Z", ["e2", "e3"]),
        ("?start=2024-06-01T08:00:00Z&end=2024-06-01T09:00:00Z", ["e1"]),
        ("?camera=nowhere", []),
    ],
)
def test_csv_filters(api: Api, query: str, ids: list[str]) -> None:
    seed(api)
    _header, *rows = get_csv(api, query)
    assert [r[0] for r in rows] == ids


def test_geojson_is_a_feature_collection_with_lon_lat_points(api: Api) -> None:
    seed(api)
    response = api.client.get("/api/export/incidents.geojson", headers=api.auth("monitor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = json.loads(response.text)
    assert body["type"] == "FeatureCollection"
    features = {f["id"]: f for f in body["features"]}
    assert list(features) == ["e1", "e2", "e3"]
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) == {"type", "id", "geometry", "properties"}
    e1, e2 = features["e1"], features["e2"]
    lat, lon = HANOI
    assert e1["geometry"] == {"type": "Point", "coordinates": [lon, lat]}  # lon first
    assert e2["geometry"] is None  # cam-b has no coordinates
    assert e1["properties"]["camera"] == "cam-a"
    assert e1["properties"]["alert_at"] == "2024-06-01T08:00:00+00:00"
    assert e2["properties"]["status"] == "confirmed"


def test_geojson_of_nothing_is_an_empty_collection(api: Api) -> None:
    response = api.client.get("/api/export/incidents.geojson", headers=api.auth("admin"))
    assert json.loads(response.text) == {"type": "FeatureCollection", "features": []}


def test_csv_streams_many_rows(api: Api) -> None:
    for n in range(250):  # more than one chunk of 200 lines
        api.add_incident(incident_id=f"m{n:04d}", alert_at=T0 + timedelta(minutes=n))
    _header, *rows = get_csv(api)
    assert [r[0] for r in rows] == [f"m{n:04d}" for n in range(250)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?status=gone", "status must be one of"),
        ("?start=2024-06-01T08:00:00", "time zone"),
        ("?start=2024-06-02T00:00:00Z&end=2024-06-01T00:00:00Z", "end must be after start"),
        ("?end=soon", "datetime"),
    ],
)
def test_bad_export_queries_give_422(api: Api, query: str, message: str) -> None:
    for fmt in ("csv", "geojson"):
        response = api.client.get(
            f"/api/export/incidents.{fmt}{query}", headers=api.auth("supervisor")
        )
        assert response.status_code == 422, fmt
        assert message in response.text


def test_patrol_may_not_export(api: Api) -> None:
    for fmt in ("csv", "geojson"):
        response = api.client.get(f"/api/export/incidents.{fmt}", headers=api.auth("patrol"))
        assert response.status_code == 403
        assert api.client.get(f"/api/export/incidents.{fmt}").status_code == 401
