"""`streetwatch process VIDEO`: analyse a file at full speed, store incidents and evidence."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from cli.common import Storage, add_storage_args, detector_config, open_storage
from cli.output import incident_json, print_summary
from detector.base import create_detector
from detector.config import DetectorConfig
from pipeline.config import AppConfig, CameraConfig
from pipeline.config_load import load_config
from pipeline.errors import InputError
from pipeline.process import ProcessResult, process_video
from pipeline.readers import Source, open_source
from pipeline.records import IncidentRecord
from pipeline.sink import AlertListener, IncidentSink, SinkStats


def register(sub: Any) -> None:
    p = sub.add_parser("process", help="analyse a video file as fast as possible")
    add_file_args(p)
    p.add_argument("--json", type=Path, dest="json_out", help="write the incidents as JSON here")
    add_storage_args(p)
    p.set_defaults(func=run)


def add_file_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", type=Path, help="video file")
    p.add_argument("--config", required=True, type=Path, help="camera/zone YAML")
    p.add_argument(
        "--camera", help="camera in the config whose zones apply (default: the only one)"
    )
    p.add_argument("--model", type=Path, help="ONNX model (or .pt, or recorded .jsonl detections)")
    p.add_argument(
        "--start", help="wall-clock moment of stream time 0, ISO 8601 (default: file mtime)"
    )
    p.add_argument(
        "--reader", choices=["opencv", "pyav"], help="source reader (default: the camera's config)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@dataclass
class FileRun:
    result: ProcessResult
    records: list[IncidentRecord]
    stats: SinkStats
    storage: Storage


@dataclass(frozen=True)
class FileJob:
    """A checked request to analyse one file: everything validated, nothing written yet."""

    video: Path
    app: AppConfig
    camera: CameraConfig
    detector: DetectorConfig
    origin: datetime

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FileJob:
        app = load_config(args.config)
        camera = pick_camera(app, args.camera)
        if getattr(args, "reader", None):
            camera = camera.model_copy(update={"reader": args.reader})
        det_config = detector_config(app.detector, args.model)
        origin = wall_origin(args.start, args.video, camera.timezone)
        return cls(args.video, app, camera, det_config, origin)


def run(args: argparse.Namespace) -> int:
    job = FileJob.from_args(args)
    done = analyse_file(job, args.data_dir, show_progress=not args.no_progress)
    print_summary(done.result, done.records, done.stats, done.storage.describe())
    if args.json_out:
        args.json_out.write_text(
            json.dumps([incident_json(r) for r in done.records], indent=2) + "\n"
        )
        print(f"wrote {len(done.records)} incidents to {args.json_out}")
    return 1 if done.stats.failures else 0


def analyse_file(
    job: FileJob,
    data_dir: Path | None,
    show_progress: bool,
    listeners: Sequence[AlertListener] = (),
) -> FileRun:
    """Open the video and the model (the last checks of the input), then storage, and run."""
    with open_source(job.camera, str(job.video)) as source:
        detector = create_detector(job.detector)
        storage = open_storage(data_dir)
        try:
            result = _run_and_read(source, job, detector, storage, listeners, show_progress)
        finally:
            detector.close()
            # Connections are made again on demand; until then nothing holds the database.
            storage.engine.dispose()
    return result


def _run_and_read(
    source: Source,
    job: FileJob,
    detector: Any,
    storage: Storage,
    listeners: Sequence[AlertListener],
    show_progress: bool,
) -> FileRun:
    sink = IncidentSink(storage.writer, storage.store, listeners)
    try:
        result = _run_with_progress(source, job, detector, sink, storage, show_progress)
    finally:
        sink.close()  # every incident written before they are read back
    result.times.add("evidence", sink.stats.seconds, max(sink.stats.incidents_written, 1))
    stored = sink.stats.stored_ids
    records = [r for r in storage.store.list_incidents(job.camera.name) if r.id in stored]
    return FileRun(result, records, sink.stats, storage)


def _run_with_progress(
    source: Source,
    job: FileJob,
    detector: Any,
    sink: IncidentSink,
    storage: Storage,
    show_progress: bool,
) -> ProcessResult:
    bar = tqdm(
        total=round(source.info.duration_s, 1) or None,
        unit="s",
        desc=job.camera.name,
        disable=not show_progress or None,
        bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}<{remaining}, {postfix}]",
        file=sys.stderr,
    )

    def progress(t: float, incidents: int) -> None:
        bar.update(max(t - bar.n, 0))
        rate = bar.format_dict.get("rate") or 0.0  # stream seconds per wall second
        fps = rate * source.info.fps
        bar.set_postfix_str(f"{fps:.0f} frames/s, {rate:.1f}x real time, incidents {incidents}")

    try:
        return process_video(
            source, job.app, job.camera, detector, sink, job.origin, storage.store, progress
        )
    finally:
        bar.close()


def pick_camera(app: AppConfig, name: str | None) -> CameraConfig:
    if name is None:
        if len(app.cameras) != 1:
            names = ", ".join(c.name for c in app.cameras)
            raise InputError(f"the config has several cameras; choose one with --camera ({names})")
        return app.cameras[0]
    try:
        return app.camera(name)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def wall_origin(start: str | None, video: Path, timezone: str) -> datetime:
    tz = ZoneInfo(timezone)
    if start is None:
        try:
            return datetime.fromtimestamp(video.stat().st_mtime, tz)
        except OSError:
            raise InputError(f"video not found: {video}") from None
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise InputError(
            f"--start {start!r} is not an ISO 8601 date-time (2026-11-22T08:00:00+07:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
