"""The benchmark's camera: a 720p, 25 fps H.264 street with a keyframe every second (a
common camera setting), plus recorded detections for the rule stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.scripted import Actor, Scene, parked
from pipeline.config import AppConfig

WIDTH, HEIGHT, FPS = 1280, 720, 25.0


def bench_scene(seconds: float = 30.0) -> Scene:
    actors = [
        parked("car", (100, 420, 380, 560), arrive=3, leave=seconds - 2),
        parked(
            "car",
            (700, 430, 980, 570),
            arrive=8,
            leave=seconds - 5,
            approach=(1280, 430, 1560, 570),
        ),
    ]
    for k in range(int(seconds // 4)):
        t0 = 1 + 4 * k
        actors.append(Actor("car", [(t0, (-300, 560, 0, 700)), (t0 + 5, (1280, 560, 1580, 700))]))
    return Scene(WIDTH, HEIGHT, FPS, seconds, actors, seed=21)


def write_bench_video(folder: Path, seconds: float = 30.0) -> tuple[Path, Path]:
    """(video, recorded detections); reused when already there."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"bench-720p-{int(seconds)}s.mp4"
    detections = folder / f"bench-720p-{int(seconds)}s.detections.jsonl"
    if not video.exists() or not detections.exists():
        scene = bench_scene(seconds)
        scene.render(video, gop=int(FPS))
        scene.write_detections(detections)
    return video, detections


CURB = [(0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)]  # the no-parking zone over the road


def bench_cameras(count: int, video: Path, crop_to_zones: bool = False, **zone: Any) -> AppConfig:
    """`count` cameras on the benchmark video, each with a no-parking zone over the road."""
    curb = {
        "name": "curb",
        "rule": "illegal_parking",
        "dwell_s": 60,
        "polygon": CURB,
        **zone,
    }
    cameras = [
        {
            "name": f"cam-{i:02d}",
            "source": str(video),
            "reader": "pyav",
            "crop_to_zones": crop_to_zones,
            "zones": [curb],
        }
        for i in range(count)
    ]
    return AppConfig.model_validate({"cameras": cameras})
