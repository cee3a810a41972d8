"""`streetwatch report monthly|weekly`: the PDF (and HTML) report of a month or an ISO week.

streetwatch report monthly --month 2026-11 --out report.pdf [--public] [--html r.html]
streetwatch report weekly --week 2026-W47 --out weekly.pdf [--public]
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from cli.common import add_storage_args, open_storage
from pipeline.errors import InputError
from pipeline.reports.build import MAX_PICTURES, ReportRequest, build_report
from pipeline.reports.data import default_timezone
from pipeline.reports.period import Period, parse_month, parse_week
from pipeline.store import audit


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="monthly report or weekly list as PDF / HTML")
    kinds = p.add_subparsers(dest="report_kind", required=True, metavar="KIND")
    monthly = kinds.add_parser("monthly", help="the month's report with charts and pictures")
    monthly.add_argument("--month", required=True, help="the month, YYYY-MM (e.g. 2026-11)")
    weekly = kinds.add_parser("weekly", help="the week's violations and repeats")
    weekly.add_argument("--week", required=True, help="the ISO week, YYYY-Www (e.g. 2026-W47)")
    for parser in (monthly, weekly):
        parser.add_argument("--out", type=Path, help="write the PDF here")
        parser.add_argument("--html", type=Path, help="write a self-contained HTML file here")
        parser.add_argument(
            "--public",
            action="store_true",
            help="the variant for publication: reviewed violations only, faces and plates blurred",
        )
        parser.add_argument(
            "--timezone", help="IANA zone for days and hours (default: the cameras' zone, or UTC)"
        )
        parser.add_argument(
            "--max-pictures",
            type=int,
            default=MAX_PICTURES,
            help=f"incident pictures at most (default {MAX_PICTURES})",
        )
        add_storage_args(parser)
        parser.set_defaults(func=run)


def _check_writable(path: Path) -> None:
    """Fail before the slow work when the file cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name, e.g. {path / 'report.pdf'}")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {path}: permission denied")


def _timezone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r} (use e.g. Asia/Ho_Chi_Minh)") from None


def _period(args: argparse.Namespace, tz: ZoneInfo) -> Period:
    if args.report_kind == "monthly":
        return parse_month(args.month, tz)
    return parse_week(args.week, tz)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "cli"


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.out is None and args.html is None:
        raise InputError("say where to write the report: --out report.pdf and/or --html r.html")
    if args.max_pictures < 0:
        raise InputError("--max-pictures must be 0 or more")
    tz = _timezone(args.timezone)
    _period(args, tz or ZoneInfo("UTC"))  # a bad --month/--week fails before opening storage
    targets = {fmt: path for fmt, path in (("pdf", args.out), ("html", args.html)) if path}
    for path in targets.values():
        _check_writable(path)
    storage = open_storage(args.data_dir, writer=False)
    with Session(storage.engine) as session:
        period = _period(args, tz or default_timezone(session))
        request = ReportRequest(period, "public" if args.public else "internal", args.max_pictures)
        report = build_report(
            session,
            storage.evidence_dir,
            request,
            formats=tuple(targets),
            progress=lambda message: print(f"{message} ...", file=sys.stderr),
        )
        for fmt, path in targets.items():
            rendered = report.pdf if fmt == "pdf" else report.html
            _write(path, rendered or b"")
        audit.append(session, _actor(), "report.generate", None, report.audit_detail(targets))
        session.commit()
    for path in targets.values():
        print(f"wrote {path}")
    print(
        f"{request.variant} {period.kind} report {period.label}: "
        f"{len(report.data.incidents)} incidents, {report.pictures} pictures"
        + (f", {report.regions_blurred} regions blurred" if args.public else "")
    )
    return 0
