"""Checks on request input shared by many routes, answering 400 / 422 with the reason."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.requests import HTTPConnection

from pipeline.store.incident_query import check_instant

logger = logging.getLogger(__name__)

# A numeric row id in a path: the ids are 32-bit INTEGER columns, and PostgreSQL fails
# (SQLite too, past 64 bits) on a larger number instead of finding no row.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def instant(value: datetime | None, name: str) -> datetime | None:
    """`value` if it has a time zone and lies in the range filters accept; 422 otherwise
    (an instant at the edge of Python's datetime range cannot even be turned into UTC)."""
    if value is None:
        return None
    try:
        check_instant(name, value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return value


async def reject_nul(conn: HTTPConnection) -> None:
    """400 for a NUL character anywhere in the path or the query (`%00`), run for every
    route: PostgreSQL refuses NUL in text, so it would fail the query instead of matching
    nothing, and no name, id or filter value streetwatch knows contains one. (`async`: it
    only reads the URL, and a sync dependency costs every request a thread-pool trip.)"""
    texts = [conn.url.path, *(text for pair in conn.query_params.multi_items() for text in pair)]
    if any("\x00" in text for text in texts):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "NUL characters are not allowed in the URL"
        )


async def data_error(request: Request, exc: Exception) -> JSONResponse:
    """422 for a value the database refused as data (PostgreSQL: NUL in text, a number out
    of its column's range, text longer than its column), instead of a 500. Routes and
    schemas check what they know first; this catches what reaches the database anyway."""
    assert isinstance(exc, DataError)
    logger.warning(
        "%s %s: database refused a value: %s", request.method, request.url.path, exc.orig
    )
    return JSONResponse(
        {"detail": "a value in the request cannot be stored or searched for"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
