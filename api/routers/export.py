"""Incident export for spreadsheets (CSV) and maps (GeoJSON), streamed row by row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.deps import RuntimeDep
from api.params import instant
from api.runtime import Runtime
from pipeline.store.incident_export import csv_chunks, export_rows, geojson_chunks
from pipeline.store.incident_query import IncidentFilter
from pipeline.store.workflow import STATUSES

router = APIRouter(prefix="/api/export", tags=["export"])

Render = Callable[[Iterable[dict[str, Any]]], Iterator[str]]


def export_filter(
    start: datetime | None,
    end: datetime | None,
    camera: str | None,
    zone: str | None,
    status_: str | None,
    type_: str | None,
) -> IncidentFilter:
    """The incident filter of an export request, or 422 naming the bad value."""
    start, end = instant(start, "start"), instant(end, "end")
    if start is not None and end is not None and end <= start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "end must be after start")
    if status_ is not None and status_ not in STATUSES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"status must be one of {', '.join(STATUSES)}, not {status_!r}",
        )
    return IncidentFilter(
        status=status_, camera=camera, zone=zone, type=type_, since=start, until=end
    )


def _stream(runtime: Runtime, flt: IncidentFilter, render: Render) -> Iterator[str]:
    # Its own session: the request's session may be closed before the body is sent.
    with Session(runtime.engine) as session:
        yield from render(export_rows(session, flt))


def _response(
    runtime: Runtime, flt: IncidentFilter, render: Render, media_type: str, filename: str
) -> StreamingResponse:
    return StreamingResponse(
        _stream(runtime, flt, render),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


StatusQuery = Annotated[str | None, Query(alias="status")]
TypeQuery = Annotated[str | None, Query(alias="type")]


@router.get(
    "/incidents.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one line per incident"}},
)
def export_csv(
    runtime: RuntimeDep,
    start: datetime | None = None,
    end: datetime | None = None,
    camera: str | None = None,
    zone: str | None = None,
    status_: StatusQuery = None,
    type_: TypeQuery = None,
) -> StreamingResponse:
    flt = export_filter(start, end, camera, zone, status_, type_)
    return _response(runtime, flt, csv_chunks, "text/csv; charset=utf-8", "incidents.csv")


@router.get(
    "/incidents.geojson",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/geo+json": {}},
            "description": "a FeatureCollection, one Point (the camera) per incident",
        }
    },
)
def export_geojson(
    runtime: RuntimeDep,
    start: datetime | None = None,
    end: datetime | None = None,
    camera: str | None = None,
    zone: str | None = None,
    status_: StatusQuery = None,
    type_: TypeQuery = None,
) -> StreamingResponse:
    flt = export_filter(start, end, camera, zone, status_, type_)
    return _response(runtime, flt, geojson_chunks, "application/geo+json", "incidents.geojson")
