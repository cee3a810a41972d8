"""Monthly report and weekly list downloads, internal or public (redacted) variant.

Reports are built on request (matplotlib and ReportLab in the request's worker thread, so
the handlers are plain `def`); every generation is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from api.deps import CurrentUser, DbSession, RuntimeDep
from pipeline.errors import InputError
from pipeline.reports.build import ReportRequest, build_report
from pipeline.reports.data import default_timezone
from pipeline.reports.period import Period, parse_month, parse_week
from pipeline.store import audit

router = APIRouter(prefix="/api/reports", tags=["reports"])

VariantQuery = Annotated[
    Literal["internal", "public"],
    Query(description="public: reviewed violations only, faces and plates blurred"),
]
TimezoneQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="IANA zone for days and hours (default: the cameras' zone)",
    ),
]
MonthQuery = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]
WeekQuery = Annotated[str, Query(pattern=r"^\d{4}-[Ww]\d{2}$", examples=["2026-W47"])]
# The HTML embeds everything; nothing else may load or run.
HTML_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _period(db: DbSession, kind: str, value: str, tz_name: str | None) -> Period:
    try:
        tz = ZoneInfo(tz_name) if tz_name else default_timezone(db)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file can have
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown time zone {tz_name!r}"
        ) from None
    try:
        return parse_month(value, tz) if kind == "monthly" else parse_week(value, tz)
    except InputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


def _respond(
    db: DbSession,
    runtime: RuntimeDep,
    user: CurrentUser,
    period: Period,
    variant: Literal["internal", "public"],
    fmt: Literal["pdf", "html"],
) -> Response:
    report = build_report(db, runtime.evidence_dir, ReportRequest(period, variant), (fmt,))
    audit.append(db, user.username, "report.generate", None, report.audit_detail([fmt]))
    db.commit()
    name = f"streetwatch-{period.kind}-{period.label}-{variant}.{fmt}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
    }
    if fmt == "html":
        headers["Content-Security-Policy"] = HTML_CSP
        return Response(report.html, media_type="text/html; charset=utf-8", headers=headers)
    return Response(report.pdf, media_type="application/pdf", headers=headers)


@router.get(
    "/monthly.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def monthly_pdf(
    db: DbSession,
    runtime: RuntimeDep,
    user: CurrentUser,
    month: MonthQuery,
    variant: VariantQuery = "internal",
    tz: TimezoneQuery = None,
) -> Response:
    return _respond(db, runtime, user, _period(db, "monthly", month, tz), variant, "pdf")


@router.get(
    "/monthly.html", response_class=Response, responses={200: {"content": {"text/html": {}}}}
)
def monthly_html(
    db: DbSession,
    runtime: RuntimeDep,
    user: CurrentUser,
    month: MonthQuery,
    variant: VariantQuery = "internal",
    tz: TimezoneQuery = None,
) -> Response:
    return _respond(db, runtime, user, _period(db, "monthly", month, tz), variant, "html")


@router.get(
    "/weekly.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def weekly_pdf(
    db: DbSession,
    runtime: RuntimeDep,
    user: CurrentUser,
    week: WeekQuery,
    variant: VariantQuery = "internal",
    tz: TimezoneQuery = None,
) -> Response:
    return _respond(db, runtime, user, _period(db, "weekly", week, tz), variant, "pdf")


@router.get(
    "/weekly.html", response_class=Response, responses={200: {"content": {"text/html": {}}}}
)
def weekly_html(
    db: DbSession,
    runtime: RuntimeDep,
    user: CurrentUser,
    week: WeekQuery,
    variant: VariantQuery = "internal",
    tz: TimezoneQuery = None,
) -> Response:
    return _respond(db, runtime, user, _period(db, "weekly", week, tz), variant, "html")
