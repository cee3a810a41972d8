"""`streetwatch report`: clear errors for bad input, and the files it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.main import main
from pipeline.store.tables import AuditRow
from tests.reports.conftest import Month


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["monthly", "--month", "2026-13"], "bad month '2026-13': use YYYY-MM, e.g. 2026-11"),
        (["monthly", "--month", "November"], "use YYYY-MM"),
        (["weekly", "--week", "2026-47"], "use the ISO week YYYY-Www"),
        (["monthly", "--month", "2026-11", "--timezone", "Mars/Base"], "unknown time zone"),
    ],
)
def test_bad_period_is_a_clear_error(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", *argv, "--out", str(tmp_path / "r.pdf"), "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r.pdf").exists()


def test_unwritable_output_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "r.pdf"
    assert main(["report", "monthly", "--month", "2026-11", "--out", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", "monthly", "--month", "2026-11", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["report", "weekly", "--week", "2026-W47"]) == 2
    assert "--out" in capsys.readouterr().err


def test_public_monthly_report_files_and_audit(
    month: Month, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf, html = tmp_path / "report.pdf", tmp_path / "report.html"
    argv = ["report", "monthly", "--month", "2026-11", "--out", str(pdf), "--html", str(html)]
    assert main([*argv, "--public", "--data-dir", str(month.data_dir)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "<!doctype html>" in html.read_text(encoding="utf-8")
    captured = capsys.readouterr()
    assert "public monthly report 2026-11: 5 incidents, 5 pictures" in captured.out
    assert "redacting 5 pictures" in captured.err  # progress goes to stderr
    with Session(month.engine) as session:
        entry = session.scalars(select(AuditRow).where(AuditRow.action == "report.generate")).one()
    assert entry.actor.startswith("cli")
    assert entry.detail["variant"] == "public" and entry.detail["period"] == "2026-11"
    assert entry.detail["formats"] == ["html", "pdf"]
