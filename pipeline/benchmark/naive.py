"""Density of the naive loop: N processes of `naive_camera`, sustained if none falls more
than 2 s further behind real time over the trial."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pipeline.benchmark.density import MAX_LAG_GROWTH_S


def naive_trial(
    python: str, video: Path, cameras: int, seconds: float
) -> dict[str, float | int | bool]:
    procs = [
        subprocess.Popen(
            [
                python,
                "-m",
                "pipeline.benchmark.naive_camera",
                str(video),
                "--seconds",
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(cameras)
    ]
    growths = []
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        growths.append(json.loads(lines[-1])["lag_growth_s"] if lines else float("inf"))
    worst = max(growths)
    return {
        "cameras": cameras,
        "seconds": seconds,
        "worst_lag_growth_s": round(worst, 2),
        "sustained": worst < MAX_LAG_GROWTH_S,
    }


def naive_density(
    python: str, video: Path, seconds: float, limit: int = 16
) -> tuple[int, list[dict]]:
    trials = []
    best = 0
    for n in range(1, limit + 1):
        result = naive_trial(python, video, n, seconds)
        trials.append(result)
        if not result["sustained"]:
            break
        best = n
    return best, trials
