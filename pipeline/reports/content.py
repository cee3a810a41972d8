"""The words and tables of a report, shared by the HTML and the PDF renderers.

Everything here is plain text; each renderer escapes it for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.reports.data import IncidentItem, ReportData
from pipeline.store.ledger import SpotEntry

DASH = "–"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    empty: str  # shown instead of the table when it has no rows


def title(data: ReportData) -> str:
    if data.period.kind == "monthly":
        return f"Monthly report {data.period.label}"
    return f"Weekly list {data.period.label}"


def variant_note(data: ReportData) -> str:
    if data.public:
        return (
            "Public version: only reviewed violations; faces and number plates on the "
            "pictures are blurred (automatic, may miss some)."
        )
    return "Internal version: pictures are unredacted evidence. Do not publish."


def subtitle(data: ReportData) -> str:
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M")
    return f"Period {data.period.describe()} · generated {generated}"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def summary(data: ReportData) -> list[tuple[str, str]]:
    """Headline figures as (label, value)."""
    t = data.totals
    shown = "violations (reviewed)" if data.public else "violations (not dismissed)"
    return [
        (shown, str(len(data.incidents))),
        ("of which repeats at the same spot", str(data.repeats)),
        ("found by cameras", str(t.discovered)),
        ("reported by people", str(t.reported)),
        ("confirmed / dismissed in review", f"{t.confirmed} / {t.dismissed}"),
        ("review precision", pct(t.review_precision)),
        ("resolved (disposal rate)", f"{t.resolved} ({pct(t.disposal_rate)})"),
        ("rectified (rectification rate)", f"{t.rectified} ({pct(t.rectification_rate)})"),
        ("spots with two or more violations", str(len(data.repeat_offenders))),
    ]


def kpi_table(data: ReportData) -> Table:
    headers = [
        "team",
        "found",
        "reported",
        "confirmed",
        "dismissed",
        "precision",
        "resolved",
        "disposal",
        "rectified",
        "rectification",
        "review median",
        "resolve median",
    ]
    rows = [
        [
            k.group,
            str(k.discovered),
            str(k.reported),
            str(k.confirmed),
            str(k.dismissed),
            pct(k.review_precision),
            str(k.resolved),
            pct(k.disposal_rate),
            str(k.rectified),
            pct(k.rectification_rate),
            duration(k.review_median_s),
            duration(k.resolve_median_s),
        ]
        for k in data.team_kpis
    ]
    return Table("KPIs per team", headers, rows, "No teams and no incidents in this period.")


def _busiest(counts: dict[str, int] | dict[int, int]) -> str:
    if not counts or max(counts.values()) == 0:
        return DASH
    key = max(counts, key=lambda k: counts[k])
    return f"{key:02d}h" if isinstance(key, int) else str(key)


def spot_row(spot: SpotEntry) -> list[str]:
    x1, y1, x2, y2 = (round(v) for v in spot.box)
    return [
        f"{spot.camera}/{spot.zone}",
        f"{x1},{y1}-{x2},{y2}",
        str(spot.violations),
        str(spot.repeats),
        _busiest(spot.by_weekday),
        _busiest(spot.by_hour),
        local(spot.first_at),
        local(spot.last_at),
    ]


def repeat_table(data: ReportData) -> Table:
    headers = ["camera/zone", "box (px)", "violations", "repeats", "busiest day"]
    headers += ["busiest hour", "first", "last"]
    rows = [spot_row(spot) for spot in data.repeat_offenders]
    return Table("Repeat offenders", headers, rows, "No spot had two or more violations.")


def incident_row(item: IncidentItem) -> list[str]:
    return [
        local(item.alert_at),
        item.camera,
        item.zone,
        item.type.replace("_", " "),
        item.severity,
        item.status,
        "repeat" if item.is_repeat else "",
        item.team or DASH,
        item.id[:8],
    ]


def incident_table(data: ReportData) -> Table:
    headers = ["alert", "camera", "zone", "type", "severity", "status", "repeat", "team", "id"]
    rows = [incident_row(item) for item in data.incidents]
    return Table("Violations", headers, rows, "No violations in this period.")


def caption(item: IncidentItem) -> str:
    repeat = " · repeat" if item.is_repeat else ""
    return (
        f"{local(item.alert_at)} · {item.camera}/{item.zone} · "
        f"{item.type.replace('_', ' ')} ({item.severity}) · {item.status}{repeat} · {item.id[:8]}"
    )


def pictures_note(shown: int, with_picture: int) -> str:
    if shown == with_picture:
        return f"{shown} pictures."
    return f"{shown} of {with_picture} pictures shown (repeats and the most severe first)."
