"""The monthly report and weekly list render as PDF (checked with poppler's tools) and HTML,
with charts and pictures; the public variant blurs the plate bands and nothing else."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy.orm import Session

from pipeline.reports.build import Report, ReportRequest, build_report
from pipeline.reports.charts import TITLE_BY_DAY, TITLE_BY_HOUR, TITLE_HOT_SPOTS, TITLE_TEAM_KPIS
from pipeline.reports.data import IncidentItem, gather, pick_for_pictures
from pipeline.reports.period import Period, parse_month, parse_week
from pipeline.reports.pictures import decode, redacted
from pipeline.reports.redact import plate_band
from tests.reports.conftest import TZ, Month

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOVEMBER = parse_month("2026-11", TZ)


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (Debian package poppler-utils)")
    return path


def build(month: Month, period: Period, variant: str = "internal") -> Report:
    with Session(month.engine) as session:
        return build_report(
            session,
            month.evidence_dir,
            ReportRequest(period, variant),  # type: ignore[arg-type]
            formats=("pdf", "html"),
            now=NOW,
        )


def items(month: Month, variant: str) -> list[IncidentItem]:
    with Session(month.engine) as session:
        data = gather(session, month.evidence_dir, NOVEMBER, variant, NOW)  # type: ignore[arg-type]
    return pick_for_pictures(data.incidents, 40)


def rendered_pages(pdf: Path) -> list[np.ndarray]:
    subprocess.run(
        [poppler("pdftoppm"), "-png", "-r", "40", str(pdf), str(pdf.with_suffix(""))], check=True
    )
    pages = sorted(pdf.parent.glob(f"{pdf.stem}-*.png"))
    return [cv2.imread(str(page), cv2.IMREAD_GRAYSCALE) for page in pages]


def pdf_text(pdf: Path) -> str:
    out = subprocess.run([poppler("pdftotext"), str(pdf), "-"], check=True, capture_output=True)
    return out.stdout.decode("utf-8")


def embedded_images(pdf: Path) -> list[tuple[str, str]]:
    """(type, encoding) of each image `pdfimages -list` finds."""
    out = subprocess.run([poppler("pdfimages"), "-list", str(pdf)], check=True, capture_output=True)
    rows = out.stdout.decode().splitlines()[2:]  # two header lines
    return [(row.split()[2], row.split()[8]) for row in rows if row.strip()]


def extracted_pictures(pdf: Path, shape: tuple[int, int]) -> list[np.ndarray]:
    """The embedded images of the incident pictures' size, in document order."""
    folder = pdf.parent / f"{pdf.stem}-images"
    folder.mkdir()
    subprocess.run([poppler("pdfimages"), "-all", str(pdf), str(folder / "img")], check=True)
    images = [cv2.imread(str(p)) for p in sorted(folder.iterdir())]
    return [image for image in images if image is not None and image.shape[:2] == shape]


def test_month_data(month: Month) -> None:
    with Session(month.engine) as session:
        internal = gather(session, month.evidence_dir, NOVEMBER, "internal", NOW)
        public = gather(session, month.evidence_dir, NOVEMBER, "public", NOW)
    ids = [item.id for item in internal.incidents]
    # Dismissed and October incidents are left out; November in Hanoi time.
    assert ids == ["car-1", "stall-1", "car-2", "stall-2", "car-3", "odd-zone"]
    assert [item.id for item in public.incidents] == [
        "car-1",
        "stall-1",
        "car-2",
        "car-3",
        "odd-zone",
    ]
    assert internal.repeats == 2
    assert internal.by_hour[8] == 2 and sum(internal.by_hour.values()) == 6
    assert len(internal.by_day) == 30 and internal.by_day[NOVEMBER.first_day.replace(day=3)] == 1
    assert [(s.zone, s.violations, s.repeats) for s in internal.repeat_offenders] == [
        ("curb", 3, 2),
        ("walk", 2, 0),
    ]
    # The unreviewed stall-2 is not published, so the walkway has one violation only.
    assert [(s.zone, s.violations) for s in public.repeat_offenders] == [("curb", 3)]
    # The odd zone belongs to no team.
    assert [k.group for k in internal.team_kpis] == ["team-a", "team-b", "(unassigned)"]
    team_a = internal.team_kpis[0]
    assert (team_a.discovered, team_a.dismissed, team_a.resolved, team_a.rectified) == (4, 1, 2, 1)


def test_monthly_pdf_renders_with_charts_and_pictures(month: Month, tmp_path: Path) -> None:
    report = build(month, NOVEMBER)
    assert report.pdf is not None and report.pdf.startswith(b"%PDF-")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report.pdf)
    pages = rendered_pages(pdf)
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        ink = float((page < 200).mean())
        assert ink > 0.002, f"page {n} of {len(pages)} is blank"
    text = pdf_text(pdf)
    for expected in (
        "Monthly report 2026-11",
        "Internal version",
        TITLE_BY_DAY,
        TITLE_BY_HOUR,
        TITLE_HOT_SPOTS,
        TITLE_TEAM_KPIS,
        "Repeat offenders",
        "team-a",
        "gate-1/curb",
        "<b>&x</b>",  # printed as text, not taken as markup
    ):
        assert expected in text, expected
    images = embedded_images(pdf)
    jpegs = [kind for kind, enc in images if kind == "image" and enc == "jpeg"]
    charts = [kind for kind, enc in images if kind == "image" and enc != "jpeg"]
    assert len(jpegs) == 6, images  # one alert picture per shown incident
    assert len(charts) == 4, images
    # A page with a picture has dark and bright pixels (the noise), not only text.
    assert any(float(page.std()) > 60 for page in pages)


def test_public_pdf_blurs_plate_bands_only_and_keeps_the_evidence(
    month: Month, tmp_path: Path
) -> None:
    before = month.hashes()
    internal_pdf, public_pdf = tmp_path / "internal.pdf", tmp_path / "public.pdf"
    internal = build(month, NOVEMBER)
    public = build(month, NOVEMBER, "public")
    assert internal.pdf is not None and public.pdf is not None
    internal_pdf.write_bytes(internal.pdf)
    public_pdf.write_bytes(public.pdf)
    assert month.hashes() == before, "an evidence file changed"
    assert "Public version" in pdf_text(public_pdf)
    internal_ids = [i.id for i in items(month, "internal")]
    internal_pictures = extracted_pictures(internal_pdf, (360, 640))
    by_id_internal = dict(zip(internal_ids, internal_pictures, strict=True))
    public_items = items(month, "public")
    public_pictures = extracted_pictures(public_pdf, (360, 640))
    assert len(public_pictures) == len(public_items) == 5
    for item, shown in zip(public_items, public_pictures, strict=True):
        assert item.picture is not None
        original = decode(item.picture.path)
        assert original is not None
        _, regions = redacted(original, item.picture)
        unblurred = by_id_internal[item.id]
        # JPEG works in 16-pixel blocks: blocks clear of every region come out identical.
        keep = np.ones(original.shape[:2], dtype=bool)
        for r in regions:
            keep[max(0, r.y1 - 16) : r.y2 + 16, max(0, r.x1 - 16) : r.x2 + 16] = False
        assert keep.mean() > 0.4
        assert np.array_equal(shown[keep], unblurred[keep]), item.id
        band = plate_band(item.picture.box, item.picture.classes, item.picture.rule)
        if item.picture.rule != "illegal_parking":
            continue
        assert band is not None
        inside = (slice(band.y1 + 2, band.y2 - 2), slice(band.x1 + 2, band.x2 - 2))
        assert shown[inside].std() < 0.3 * unblurred[inside].std(), item.id


def test_html_is_self_contained_and_escaped(month: Month) -> None:
    report = build(month, NOVEMBER)
    assert report.html is not None
    html = report.html.decode("utf-8")
    assert html.count("data:image/jpeg;base64,") == 6
    assert html.count("data:image/png;base64,") == 4
    assert "&lt;b&gt;&amp;x&lt;/b&gt;" in html and "<b>&x</b>" not in html
    assert "http://" not in html and "https://" not in html
    assert "Hot spots" in html and "Repeat offenders" in html


def test_weekly_list(month: Month, tmp_path: Path) -> None:
    report = build(month, parse_week("2026-W46", TZ))
    assert [i.id for i in report.data.incidents] == ["car-2", "stall-2"]
    assert report.pdf is not None
    pdf = tmp_path / "weekly.pdf"
    pdf.write_bytes(report.pdf)
    assert rendered_pages(pdf)
    text = pdf_text(pdf)
    assert "Weekly list 2026-W46" in text and "Violations" in text and "repeat" in text
    assert TITLE_HOT_SPOTS not in text  # the weekly list keeps to the list


def test_an_empty_month_still_renders(month: Month, tmp_path: Path) -> None:
    report = build(month, parse_month("2026-01", TZ))
    assert report.data.incidents == [] and report.pictures == 0
    assert report.pdf is not None
    pdf = tmp_path / "empty.pdf"
    pdf.write_bytes(report.pdf)
    assert rendered_pages(pdf)
    assert "No spot had two or more violations." in pdf_text(pdf)
