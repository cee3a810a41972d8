"""One call from a period to report bytes: gather, draw charts, load pictures, render.

>>> request = ReportRequest(parse_month("2026-11", ZoneInfo("UTC")), variant="public")
>>> report = build_report(session, evidence_dir, request, formats=("pdf",))  # doctest: +SKIP
>>> report.pdf[:5]  # doctest: +SKIP
b'%PDF-'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pipeline.reports import charts as chart_mod
from pipeline.reports import content
from pipeline.reports.data import ReportData, Variant, gather, pick_for_pictures
from pipeline.reports.period import Period
from pipeline.reports.pictures import Picture, load_picture
from pipeline.reports.render_html import render_html
from pipeline.reports.render_pdf import render_pdf
from pipeline.store.tables import utc_now

logger = logging.getLogger(__name__)

MAX_PICTURES = 40
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What to make: the period, internal or public, and how many pictures at most."""

    period: Period
    variant: Variant = "internal"
    max_pictures: int = MAX_PICTURES


@dataclass(slots=True)
class Report:
    """The rendered report; `pdf` / `html` are None when that format was not asked for."""

    data: ReportData
    pictures: int
    regions_blurred: int
    pdf: bytes | None = None
    html: bytes | None = None
    charts: list[str] = field(default_factory=list)

    def audit_detail(self, formats: Collection[str]) -> dict[str, Any]:
        """What the audit log records about this report (no personal data)."""
        return {
            "kind": self.data.period.kind,
            "period": self.data.period.label,
            "timezone": self.data.period.tz.key,
            "variant": self.data.variant,
            "formats": sorted(formats),
            "incidents": len(self.data.incidents),
            "pictures": self.pictures,
        }


def make_charts(data: ReportData) -> list[chart_mod.Chart]:
    """The charts of the report: all four monthly, incidents by day weekly."""
    made = [chart_mod.by_day_chart(data.by_day)]
    if data.period.kind == "monthly":
        made += [
            chart_mod.by_hour_chart(data.by_hour),
            chart_mod.hot_spots_chart(data.hot_spots),
            chart_mod.team_kpis_chart(data.team_kpis),
        ]
    return made


def build_report(
    session: Session,
    evidence_dir: Path,
    request: ReportRequest,
    formats: Collection[str] = ("pdf",),
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Report:
    """Gather and render the report in the asked formats ("pdf", "html")."""
    say = progress or (lambda message: logger.info("%s", message))
    unknown = set(formats) - {"pdf", "html"}
    if unknown or not formats:
        raise ValueError(f"formats must be pdf and/or html, not {sorted(formats)}")
    say(f"gathering {request.period.kind} data for {request.period.label}")
    data = gather(session, evidence_dir, request.period, request.variant, now or utc_now())
    charts = make_charts(data)
    items = pick_for_pictures(data.incidents, request.max_pictures)
    verb = "redacting" if data.public else "loading"
    say(f"{verb} {len(items)} pictures of {len(data.incidents)} incidents")
    pictures: dict[str, Picture] = {}
    for item in items:
        if item.picture is None:
            continue  # pick_for_pictures keeps only incidents with one
        loaded = load_picture(item.picture, public=data.public)
        if loaded is not None:
            pictures[item.id] = loaded
    shown = [item for item in items if item.id in pictures]
    with_picture = sum(1 for item in data.incidents if item.picture is not None)
    note = content.pictures_note(len(shown), with_picture)
    report = Report(
        data,
        len(shown),
        sum(p.regions_blurred for p in pictures.values()),
        charts=[c.title for c in charts],
    )
    if "pdf" in formats:
        say("rendering PDF")
        report.pdf = render_pdf(data, charts, shown, pictures, note)
    if "html" in formats:
        say("rendering HTML")
        report.html = render_html(data, charts, shown, pictures, note).encode("utf-8")
    return report
