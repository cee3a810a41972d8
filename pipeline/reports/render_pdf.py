"""The PDF report, laid out with ReportLab's platypus.

Text uses DejaVu Sans (the TrueType font matplotlib ships), so Vietnamese and other Latin
diacritics in camera and zone names print; ReportLab's built-in Helvetica cannot. Every
string goes through `xml.sax.saxutils.escape` because `Paragraph` parses a small markup.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from pipeline.reports import content
from pipeline.reports.charts import Chart
from pipeline.reports.data import IncidentItem, ReportData
from pipeline.reports.pictures import Picture

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
MARGIN = 15 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
PICTURE_HEIGHT = 105 * mm  # two pictures with captions per page
_FONT_LOCK = threading.Lock()


def _register_fonts() -> tuple[str, str]:
    """DejaVu Sans from matplotlib's data, registered once; Helvetica if it is missing."""
    with _FONT_LOCK:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return FONT, FONT_BOLD
        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if not (regular.is_file() and bold.is_file()):
            return "Helvetica", "Helvetica-Bold"
        pdfmetrics.registerFont(TTFont(FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
        return FONT, FONT_BOLD


class _Styles:
    def __init__(self) -> None:
        font, bold = _register_fonts()
        base = getSampleStyleSheet()
        self.title = ParagraphStyle("t", base["Title"], fontName=bold, alignment=0)
        self.h2 = ParagraphStyle("h2", base["Heading2"], fontName=bold, spaceBefore=8)
        self.body = ParagraphStyle("b", base["BodyText"], fontName=font, fontSize=9)
        self.cell = ParagraphStyle("c", self.body, fontSize=7, leading=8.5)
        self.head = ParagraphStyle("h", self.cell, fontName=bold)
        self.note = ParagraphStyle(
            "n", self.body, backColor=colors.HexColor("#fde2e1"), borderPadding=4
        )
        self.public_note = ParagraphStyle("p", self.note, backColor=colors.HexColor("#e1f0fd"))
        self.font = font


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _grid(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    columns = len(rows[0])
    # Equal shares of the page unless told: wide tables must never overflow the frame.
    widths = widths or [FRAME_WIDTH / columns] * columns
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _table(table: content.Table, s: _Styles) -> list[Flowable]:
    out: list[Flowable] = [_p(table.title, s.h2)]
    if not table.rows:
        return [*out, _p(table.empty, s.body)]
    rows = [[_p(h, s.head) for h in table.headers]]
    rows += [[_p(cell, s.cell) for cell in row] for row in table.rows]
    return [*out, _grid(rows)]


def _summary(data: ReportData, s: _Styles) -> list[Flowable]:
    rows = [[_p("figure", s.head), _p("value", s.head)]]
    rows += [[_p(label, s.cell), _p(value, s.cell)] for label, value in content.summary(data)]
    return [_p("Summary", s.h2), _grid(rows, [70 * mm, 40 * mm])]


def _image(data: bytes, width: int, height: int, max_height: float) -> Image:
    scale = min(FRAME_WIDTH / width, max_height / height)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale)


def _charts(charts: Sequence[Chart], s: _Styles) -> list[Flowable]:
    out: list[Flowable] = []
    for chart in charts:
        width, height = chart.size
        # The heading is real text (searchable, and what tests look for), not just pixels.
        out.append(
            KeepTogether([_p(chart.title, s.h2), _image(chart.png, width, height, 120 * mm)])
        )
    return out


def _pictures(
    items: Sequence[IncidentItem], pictures: dict[str, Picture], note: str, s: _Styles
) -> list[Flowable]:
    out: list[Flowable] = [PageBreak(), _p("Pictures", s.h2), _p(note, s.body), Spacer(1, 4 * mm)]
    for item in items:
        picture = pictures.get(item.id)
        if picture is None:
            continue
        image = _image(picture.jpeg, picture.width, picture.height, PICTURE_HEIGHT)
        out.append(KeepTogether([image, _p(content.caption(item), s.body), Spacer(1, 5 * mm)]))
    return out


def render_pdf(
    data: ReportData,
    charts: Sequence[Chart],
    items: Sequence[IncidentItem],
    pictures: dict[str, Picture],
    note: str,
) -> bytes:
    """The whole report as PDF bytes."""
    s = _Styles()
    story: list[Flowable] = [
        _p(content.title(data), s.title),
        _p(content.subtitle(data), s.body),
        Spacer(1, 3 * mm),
        _p(content.variant_note(data), s.public_note if data.public else s.note),
        *_summary(data, s),
        *_charts(charts, s),
    ]
    if data.period.kind == "monthly":
        story += _table(content.kpi_table(data), s)
    else:
        story += _table(content.incident_table(data), s)
    story += _table(content.repeat_table(data), s)
    story += _pictures(items, pictures, note, s)
    footer = f"{content.title(data)} · {'public' if data.public else 'internal'}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(s.font, 7)
        canvas.drawString(MARGIN, 8 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=content.title(data),
        author="streetwatch",
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
