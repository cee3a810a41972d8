"""Camera density: how many paced 720p cameras one process sustains at one detection per
second, with no growing lag."""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from detector.base import Detector
from pipeline.benchmark.paced import PacedLoop
from pipeline.benchmark.scene import bench_cameras
from pipeline.evidence import EvidenceWriter
from pipeline.live import LiveCamera
from pipeline.sink import IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore

log = logging.getLogger(__name__)

WARMUP_S = 8.0
MAX_LAG_GROWTH_S = 2.0


@dataclass(frozen=True, slots=True)
class Trial:
    cameras: int
    seconds: float
    reader_lag_growth_s: float  # worst camera
    analysis_lag_s: float  # worst camera, at the end
    detections_per_s: float  # slowest camera
    cpu_cores: float
    rss_mb: float

    @property
    def sustained(self) -> bool:
        return (
            self.reader_lag_growth_s < MAX_LAG_GROWTH_S
            and self.analysis_lag_s < MAX_LAG_GROWTH_S
            and self.detections_per_s >= 0.9
        )

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "cameras": self.cameras,
            "seconds": self.seconds,
            "sustained": self.sustained,
            "reader_lag_growth_s": round(self.reader_lag_growth_s, 2),
            "analysis_lag_s": round(self.analysis_lag_s, 2),
            "min_detections_per_s": round(self.detections_per_s, 3),
            "cpu_cores": round(self.cpu_cores, 2),
            "cpu_percent_per_camera": round(100 * self.cpu_cores / self.cameras, 1),
            "rss_mb_per_camera": round(self.rss_mb / self.cameras, 1),
        }


def run_trial(
    cameras: int, seconds: float, video: Path, detector: Detector, crop_to_zones: bool = False
) -> Trial:
    app = bench_cameras(cameras, video, crop_to_zones)
    with tempfile.TemporaryDirectory(prefix="streetwatch-density-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/density.db")
        migrate(engine)
        sink = IncidentSink(EvidenceWriter(Path(tmp) / "evidence"), IncidentStore(engine))
        loops: list[PacedLoop] = []

        def opener(spec: str | int, origin: float) -> PacedLoop:
            loop = PacedLoop(str(video), 1.0, origin)
            loops.append(loop)
            return loop

        live = [LiveCamera(app, cam, detector, sink, None, opener) for cam in app.cameras]
        trial = _measure(live, loops, seconds)
        for cam in live:
            cam.stop()
        sink.close()
        engine.dispose()
    return trial


def _measure(live: list[LiveCamera], loops: list[PacedLoop], seconds: float) -> Trial:
    rss_before = _rss_mb()
    for cam in live:
        cam.start()
    time.sleep(WARMUP_S)
    behind_start = [loop.behind_s for loop in loops]
    detected_start = [cam.status.frames_detected for cam in live]
    cpu_start, wall_start = _cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - wall_start
    cpu = (_cpu_seconds() - cpu_start) / wall
    growth = max(
        (loop.behind_s - b for loop, b in zip(loops, behind_start, strict=False)), default=0.0
    )
    rates = [
        (cam.status.frames_detected - d) / wall for cam, d in zip(live, detected_start, strict=True)
    ]
    return Trial(
        cameras=len(live),
        seconds=seconds,
        reader_lag_growth_s=max(growth, 0.0),
        analysis_lag_s=max(cam.status.lag_s for cam in live),
        detections_per_s=min(rates),
        cpu_cores=cpu,
        rss_mb=_rss_mb() - rss_before,
    )


class _Attempts:
    """Calling it runs a trial, keeps it (in order), reports it, and says if it held."""

    def __init__(self, trial: Callable[[int], Trial], report: Callable[[Trial], None] | None):
        self.trial, self.report = trial, report
        self.trials: list[Trial] = []

    def __call__(self, cameras: int) -> bool:
        result = self.trial(cameras)
        self.trials.append(result)
        if self.report:
            self.report(result)
        return result.sustained


def find_density(
    trial: Callable[[int], Trial],
    start: int = 4,
    limit: int = 64,
    report: Callable[[Trial], None] | None = None,
) -> tuple[int, list[Trial]]:
    """Double the camera count while sustained, then bisect; returns (best count, trials)."""
    attempt = _Attempts(trial, report)
    trials = attempt.trials
    good, bad = 0, limit + 1
    n = start
    while n <= limit and attempt(n):
        good, n = n, n * 2
    bad = min(n, bad)
    while bad - good > 1 and good < limit:
        mid = (good + bad) // 2
        if mid == 0:
            break
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return good, trials


def confirm_density(
    trial: Callable[[int], Trial],
    best: int,
    tries: int = 6,
    report: Callable[[Trial], None] | None = None,
) -> tuple[int, list[Trial]]:
    """The largest count a long trial sustains, at or below `best` (found by short trials).

    Steps down by a tenth (at least one camera) until a count holds, then bisects between it
    and the lowest count that failed, so the answer is exact to one camera when the tries
    allow. Returns (confirmed count or 0, trials run).
    """
    attempt = _Attempts(trial, report)
    trials = attempt.trials
    good, bad, n = 0, best + 1, best
    while n >= 1 and len(trials) < tries:
        if attempt(n):
            good = n
            break
        bad, n = n, n - max(1, round(n / 10))
    while good and bad - good > 1 and len(trials) < tries:
        mid = (good + bad) // 2
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return good, trials


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
