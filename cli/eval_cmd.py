"""`streetwatch eval VIDEO --config C --truth T`: event-level precision, recall, alert delay
and false alarms of the whole pipeline against a truth file."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from cli.process_cmd import FileJob, add_file_args, analyse_file
from pipeline.config import CameraConfig
from pipeline.evaluation import Alert, EvalReport, evaluate, format_report, load_truth
from pipeline.records import IncidentRecord


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="process a video and score its incidents against truth events")
    add_file_args(p)
    p.add_argument("--truth", required=True, type=Path, help="truth events (YAML or JSON)")
    p.add_argument(
        "--data-dir", type=Path, help="keep the database and evidence here (default: temporary)"
    )
    p.add_argument("--report", type=Path, help="write the metrics as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    job = FileJob.from_args(args)
    truth = load_truth(args.truth)
    report = evaluate_file(
        job,
        truth_path=args.truth,
        data_dir=args.data_dir,
        show_progress=not args.no_progress,
        truth=truth,
    )
    print(format_report(report))
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0


def evaluate_file(
    job: FileJob,
    truth_path: Path,
    data_dir: Path | None,
    show_progress: bool,
    truth: list | None = None,
) -> EvalReport:
    events = truth if truth is not None else load_truth(truth_path)
    with tempfile.TemporaryDirectory(prefix="streetwatch-eval-") as scratch:
        done = analyse_file(job, data_dir or Path(scratch), show_progress)
    hours = done.result.stream_seconds / 3600.0
    return evaluate(alerts_of(done.records), events, dwell_by_zone(job.camera), hours)


def alerts_of(records: list[IncidentRecord]) -> list[Alert]:
    return [Alert(r.id, r.zone, r.type, r.alert_s, r.box) for r in records]


def dwell_by_zone(camera: CameraConfig) -> dict[str, float]:
    return {z.name: z.dwell for z in camera.zones}
