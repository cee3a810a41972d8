"""A self-contained HTML report: styles inline, charts and pictures as data URIs.

Every piece of text goes through `html.escape`; nothing from the database is trusted.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from pipeline.reports import content
from pipeline.reports.charts import Chart
from pipeline.reports.content import Table
from pipeline.reports.data import IncidentItem, ReportData
from pipeline.reports.pictures import Picture

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{margin-bottom:.2em}.sub{color:#555}.note{padding:.5em .8em;border-radius:4px}
.internal{background:#fde2e1}.public{background:#e1f0fd}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}th{background:#f3f3f3}
img{max-width:100%;height:auto}figure{margin:1em 0 2em}figcaption{color:#444;font-size:.9em}
"""


def _uri(media: str, data: bytes) -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


def _table(table: Table) -> str:
    parts = [f"<h2>{escape(table.title)}</h2>"]
    if not table.rows:
        parts.append(f"<p>{escape(table.empty)}</p>")
        return "\n".join(parts)
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(parts)


def _summary(data: ReportData) -> str:
    rows = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in content.summary(data)
    )
    return f"<h2>Summary</h2><table>{rows}</table>"


def _charts(charts: Sequence[Chart]) -> str:
    return "\n".join(
        f'<figure><img alt="{escape(c.title)}" src="{_uri("image/png", c.png)}"></figure>'
        for c in charts
    )


def _pictures(items: Sequence[IncidentItem], pictures: dict[str, Picture], note: str) -> str:
    parts = [f"<h2>Pictures</h2><p>{escape(note)}</p>"]
    for item in items:
        picture = pictures.get(item.id)
        if picture is None:
            continue
        src = _uri("image/jpeg", picture.jpeg)
        parts.append(
            f'<figure><img alt="incident {escape(item.id)}" src="{src}" '
            f'width="{picture.width}" height="{picture.height}">'
            f"<figcaption>{escape(content.caption(item))}</figcaption></figure>"
        )
    return "\n".join(parts)


def render_html(
    data: ReportData,
    charts: Sequence[Chart],
    items: Sequence[IncidentItem],
    pictures: dict[str, Picture],
    note: str,
) -> str:
    """The whole report as one HTML document."""
    css = "public" if data.public else "internal"
    sections = [
        f"<h1>{escape(content.title(data))}</h1>",
        f'<p class="sub">{escape(content.subtitle(data))}</p>',
        f'<p class="note {css}">{escape(content.variant_note(data))}</p>',
        _summary(data),
        _charts(charts),
    ]
    if data.period.kind == "monthly":
        sections.append(_table(content.kpi_table(data)))
    else:
        sections.append(_table(content.incident_table(data)))
    sections.append(_table(content.repeat_table(data)))
    sections.append(_pictures(items, pictures, note))
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(content.title(data))}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
