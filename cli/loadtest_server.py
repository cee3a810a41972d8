"""The server side of `streetwatch loadtest`: what `streetwatch serve` runs (storage, catalog,
runtime, sink, API under uvicorn), with each camera's video file played as a live camera:
looped and paced at real time (a file read the ordinary way is analysed as fast as it
decodes, then ends).

Run by the load test as `python -m cli.loadtest_server --config C --data-dir D --port P`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from api.app import create_app, freeze_startup_heap
from cli.serve_cmd import add_cameras, build_runtime, run_with_workers
from pipeline.benchmark.paced import PacedLoop
from pipeline.config import CameraConfig
from pipeline.readers import SourceOpener

log = logging.getLogger(__name__)


def paced_file(camera: CameraConfig) -> SourceOpener:
    """Opens `camera`'s file as a live camera would stream it: looped, at real time."""
    return lambda spec, origin: PacedLoop(str(spec), camera.detect_fps, origin)


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m cli.loadtest_server")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--api-workers", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runtime_args = argparse.Namespace(
        config=args.config, data_dir=args.data_dir, model=None, no_cameras=True
    )
    settings, runtime = build_runtime(runtime_args)
    assert runtime.config is not None  # build_runtime always exports the catalog
    add_cameras(runtime, runtime.config, runtime.config.detector, opener=paced_file)
    if args.api_workers > 1:
        return run_with_workers(
            settings, runtime, args.config, "127.0.0.1", args.port, args.api_workers
        )
    app = create_app(settings, runtime)
    freeze_startup_heap()
    # As `serve` runs it, access log included (the load test sends it to a file).
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
