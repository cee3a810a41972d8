"""Report charts drawn with matplotlib's Agg backend into PNG bytes.

Figures are made with `matplotlib.figure.Figure` directly, not `pyplot`, so no global
figure state is shared between API requests running in threads.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.store.kpis import KpiRow
from pipeline.store.ledger import SpotEntry

DPI = 110
SIZE = (7.5, 3.2)
BAR = "#2f6690"
REPEAT = "#d1495b"

TITLE_BY_DAY = "Incidents by day"
TITLE_BY_HOUR = "Incidents by hour of day"
TITLE_HOT_SPOTS = "Hot spots (most violations)"
TITLE_TEAM_KPIS = "KPIs per team"


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    png: bytes

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, from the PNG header."""
        width, height = struct.unpack(">II", self.png[16:24])
        return int(width), int(height)


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _figure(title: str, height: float = SIZE[1]) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(SIZE[0], height), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def plain(text: str) -> str:
    """`text` as matplotlib should print it: a `$` must not start mathtext."""
    return text.replace("$", r"\$")


def by_day_chart(counts: dict[date, int]) -> Chart:
    figure, axes = _figure(TITLE_BY_DAY)
    days = sorted(counts)
    positions = list(range(len(days)))
    axes.bar(positions, [counts[d] for d in days], color=BAR)
    if len(days) <= 7:
        axes.set_xticks(positions, [d.strftime("%a %d") for d in days])
    else:
        every = positions[:: max(1, len(days) // 15)]
        axes.set_xticks(every, [str(days[p].day) for p in every])
        axes.set_xlabel("day of month")
    axes.set_ylabel("incidents")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return Chart(TITLE_BY_DAY, _png(figure))


def by_hour_chart(counts: dict[int, int]) -> Chart:
    figure, axes = _figure(TITLE_BY_HOUR)
    hours = list(range(24))
    axes.bar(hours, [counts.get(h, 0) for h in hours], color=BAR)
    axes.set_xticks(hours[::2])
    axes.set_xlabel("hour (local time)")
    axes.set_ylabel("incidents")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return Chart(TITLE_BY_HOUR, _png(figure))


def spot_label(spot: SpotEntry) -> str:
    x1, y1, x2, y2 = spot.box
    return plain(f"{spot.camera}/{spot.zone} @{round((x1 + x2) / 2)},{round((y1 + y2) / 2)}")


def hot_spots_chart(spots: Sequence[SpotEntry]) -> Chart:
    height = max(2.4, 0.9 + 0.32 * len(spots))
    figure, axes = _figure(TITLE_HOT_SPOTS, height)
    ordered = list(reversed(spots))  # barh draws bottom-up: most violations on top
    labels = [spot_label(s) for s in ordered]
    firsts = [s.violations - s.repeats for s in ordered]
    axes.barh(labels, firsts, color=BAR, label="first violations")
    axes.barh(labels, [s.repeats for s in ordered], left=firsts, color=REPEAT, label="repeats")
    axes.set_xlabel("violations")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=8)
    if spots:
        axes.legend(fontsize=8, loc="lower right")
    return Chart(TITLE_HOT_SPOTS, _png(figure))


def team_kpis_chart(rows: Sequence[KpiRow]) -> Chart:
    figure, axes = _figure(TITLE_TEAM_KPIS)
    series = (
        ("review precision", "review_precision", "#2f6690"),
        ("disposal rate", "disposal_rate", "#3a7d44"),
        ("rectification rate", "rectification_rate", "#d1495b"),
    )
    width = 0.8 / len(series)
    positions = list(range(len(rows)))
    for n, (label, attr, color) in enumerate(series):
        values = [100 * (getattr(row, attr) or 0.0) for row in rows]
        xs = [p - 0.4 + width * (n + 0.5) for p in positions]
        axes.bar(xs, values, width, label=label, color=color)
    axes.set_xticks(positions, [plain(row.group) for row in rows], fontsize=8)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return Chart(TITLE_TEAM_KPIS, _png(figure))
