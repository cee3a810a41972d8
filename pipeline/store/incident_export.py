"""Incidents as CSV rows or GeoJSON features, produced piece by piece for streaming.

Each incident is placed at its camera's point (`cameras.latitude` / `longitude`); a camera
without coordinates gives an empty latitude/longitude in CSV and `"geometry": null` in
GeoJSON (allowed by RFC 7946 for unlocated features). GeoJSON positions are
[longitude, latitude], in that order.

Example:
    >>> with Session(engine) as session:
    ...     text = "".join(csv_chunks(export_rows(session, IncidentFilter(camera="cam-a"))))
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.incident_query import IncidentFilter, apply_filter
from pipeline.store.tables import CameraRow, IncidentRow

BATCH = 500
CSV_COLUMNS = (
    "id",
    "camera",
    "zone",
    "type",
    "severity",
    "status",
    "source",
    "team",
    "alert_at",
    "first_seen_at",
    "last_seen_at",
    "reviewed_at",
    "dispatched_at",
    "acknowledged_at",
    "resolved_at",
    "rectified_at",
    "reopened_at",
    "repeat_of",
    "x1",
    "y1",
    "x2",
    "y2",
    "confidence",
    "place",
    "latitude",
    "longitude",
)
_INCIDENT_COLUMNS = [c for c in CSV_COLUMNS if c not in ("latitude", "longitude")]
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_rows(session: Session, flt: IncidentFilter) -> Iterator[dict[str, Any]]:
    """The filtered incidents, oldest alert first, as dicts of `CSV_COLUMNS` values."""
    points = {
        name: (lat, lon)
        for name, lat, lon in session.execute(
            select(CameraRow.name, CameraRow.latitude, CameraRow.longitude)
        )
    }
    columns = [getattr(IncidentRow, name) for name in _INCIDENT_COLUMNS]
    query = apply_filter(select(*columns), flt).order_by(IncidentRow.alert_at, IncidentRow.id)
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        item = dict(zip(_INCIDENT_COLUMNS, row, strict=True))
        item["latitude"], item["longitude"] = points.get(item["camera"], (None, None))
        yield item


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(rows: Iterable[dict[str, Any]], batch: int = 200) -> Iterator[str]:
    """The header line, then the rows, `batch` lines per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    pending = 0
    for row in rows:
        writer.writerow([_csv_cell(row[name]) for name in CSV_COLUMNS])
        pending += 1
        if pending >= batch:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def geojson_feature(row: dict[str, Any]) -> dict[str, Any]:
    """One incident as a GeoJSON Feature (geometry null when its camera has no point)."""
    lat, lon = row["latitude"], row["longitude"]
    geometry = None if lat is None or lon is None else {"type": "Point", "coordinates": [lon, lat]}
    properties = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
        if name not in ("id", "latitude", "longitude")
    }
    return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": properties}


def geojson_chunks(rows: Iterable[dict[str, Any]], batch: int = 200) -> Iterator[str]:
    """A FeatureCollection, written out a few features at a time."""
    yield '{"type":"FeatureCollection","features":['
    parts: list[str] = []
    first = True
    for row in rows:
        text = json.dumps(geojson_feature(row), ensure_ascii=False, separators=(",", ":"))
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= batch:
            yield "".join(parts)
            parts = []
    yield "".join(parts) + "]}"
