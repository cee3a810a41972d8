"""`streetwatch process VIDEO`: analyse a file at full speed, store incidents and evidence."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from cli.common import add_storage_args, detector_config, open_storage
from cli.output import incident_json, print_summary
from detector.base import Detector, create_detector
from pipeline.config import AppConfig, CameraConfig
from pipeline.config_load import load_config
from pipeline.errors import InputError
from pipeline.process import ProcessResult, process_video
from pipeline.sink import IncidentSink
from pipeline.sources import VideoSource
from pipeline.store.repository import IncidentStore


def register(sub: Any) -> None:
    p = sub.add_parser("process", help="analyse a video file as fast as possible")
    p.add_argument("video", type=Path, help="video file")
    p.add_argument("--config", required=True, type=Path, help="camera/zone YAML")
    p.add_argument(
        "--camera", help="camera name in the config whose zones apply (default: the only one)"
    )
    p.add_argument("--model", type=Path, help="ONNX model (or .pt, or recorded .jsonl detections)")
    p.add_argument(
        "--start", help="wall-clock moment of stream time 0, ISO 8601 (default: file mtime)"
    )
    p.add_argument("--json", type=Path, dest="json_out", help="write the incidents as JSON here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_storage_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Everything that can be wrong with the input is checked before anything is written.
    app = load_config(args.config)
    camera = _pick_camera(app, args.camera)
    det_config = detector_config(app.detector, args.model)
    origin = _wall_origin(args.start, args.video, camera.timezone)
    with VideoSource(str(args.video)) as source:
        detector = create_detector(det_config)
        storage = open_storage(args)
        sink = IncidentSink(storage.writer, storage.store)
        try:
            result = _run_with_progress(
                source, app, camera, detector, sink, origin, storage.store, args
            )
        finally:
            sink.close()
            detector.close()
    result.times.add("evidence", sink.stats.seconds, max(sink.stats.incidents_written, 1))
    records = [
        r for r in storage.store.list_incidents(camera.name) if r.id in sink.stats.stored_ids
    ]
    print_summary(result, records, sink.stats, storage.describe())
    if args.json_out:
        args.json_out.write_text(json.dumps([incident_json(r) for r in records], indent=2) + "\n")
        print(f"wrote {len(records)} incidents to {args.json_out}")
    return 1 if sink.stats.failures else 0


def _run_with_progress(
    source: VideoSource,
    app: AppConfig,
    camera: CameraConfig,
    detector: Detector,
    sink: IncidentSink,
    origin: datetime,
    store: IncidentStore,
    args: argparse.Namespace,
) -> ProcessResult:
    total = round(source.info.duration_s, 1) or None
    bar = tqdm(
        total=total,
        unit="s",
        desc=f"{camera.name}",
        disable=args.no_progress or None,
        bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}<{remaining}, {postfix}]",
        file=sys.stderr,
    )

    def progress(t: float, incidents: int) -> None:
        bar.update(max(t - bar.n, 0))
        rate = bar.format_dict.get("rate") or 0.0  # stream seconds per wall second
        fps = rate * source.info.fps
        bar.set_postfix_str(f"{fps:.0f} frames/s, {rate:.1f}x real time, incidents {incidents}")

    try:
        return process_video(source, app, camera, detector, sink, origin, store, progress)
    finally:
        bar.close()


def _pick_camera(app: AppConfig, name: str | None) -> CameraConfig:
    if name is None:
        if len(app.cameras) != 1:
            names = ", ".join(c.name for c in app.cameras)
            raise InputError(f"the config has several cameras; choose one with --camera ({names})")
        return app.cameras[0]
    try:
        return app.camera(name)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def _wall_origin(start: str | None, video: Path, timezone: str) -> datetime:
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
