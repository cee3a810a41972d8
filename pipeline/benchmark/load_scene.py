"""The load test's world: looped street videos where cars park on a fixed cycle (so every
camera alerts several times a minute), the cameras' YAML, and a database seeded with users and
past incidents whose evidence files are real JPEGs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import models
from models.scripted import Actor, Box, Scene
from pipeline.config import AppConfig
from pipeline.evidence import EvidenceWriter
from pipeline.records import IncidentRecord
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store import catalog, users
from pipeline.store.repository import IncidentStore

WIDTH, HEIGHT, FPS = 640, 360, 10.0
LOOP_S = 30.0
STAND_S = 10.0  # each car stands this long; the zone's dwell is shorter, so it alerts
DWELL_S = 4.0
TRAVEL_S = 1.5
# Where the demo model sees these drawn cars surely (it calls them trucks, which still
# count as vehicles), and from how far left (-) or right (+) each drives in.
SPOTS: tuple[tuple[Box, float], ...] = (((250, 195, 380, 260), -250), ((400, 195, 530, 260), 260))
ZONE = "curb"
DEMO_MODEL = Path(models.__file__).resolve().parent / "demo" / "streetwatch-demo.onnx"
SEED_STATUSES = ("new", "new", "confirmed", "dismissed")


def _clip(frames: list[tuple[float, Box]], lo: float, hi: float) -> list[tuple[float, Box]]:
    """`frames` cut to [lo, hi], with interpolated boxes at the cut points."""
    whole = Actor("car", frames)
    inside = [(t, b) for t, b in frames if lo < t < hi]
    ends = [(t, whole.box_at(t)) for t in (lo, hi)]
    first, last = ends
    assert first[1] is not None and last[1] is not None
    return [(first[0], first[1]), *inside, (last[0], last[1])]


def looped_parking(box: Box, approach_dx: float, arrive: float, loop_s: float) -> list[Actor]:
    """A car that drives in, stands STAND_S at `box` from `arrive`, and drives off, on a
    timeline that wraps at `loop_s`: a stay that crosses the end of the video continues at
    its start, so a looped camera sees one unbroken stay."""
    away = (box[0] + approach_dx, box[1], box[2] + approach_dx, box[3])
    frames = [
        (arrive - TRAVEL_S, away),
        (arrive, box),
        (arrive + STAND_S, box),
        (arrive + STAND_S + TRAVEL_S, away),
    ]
    actors = []
    for shift in (-loop_s, 0.0, loop_s):
        moved = [(t + shift, b) for t, b in frames]
        lo, hi = max(0.0, moved[0][0]), min(loop_s, moved[-1][0])
        if hi - lo > 1e-6:
            actors.append(Actor("car", _clip(moved, lo, hi)))
    return actors


def load_scene(variant: int, variants: int) -> Scene:
    """Two parking stays per loop, half a loop apart; variant `v` of `n` is shifted by v/n of
    a loop so cameras on different variants alert at different moments."""
    phase = LOOP_S * variant / variants
    actors: list[Actor] = []
    for k, (spot, approach_dx) in enumerate(SPOTS):
        arrive = (phase + 2.0 + k * LOOP_S / 2) % LOOP_S
        actors += looped_parking(spot, approach_dx, arrive, LOOP_S)
    for k in range(int(LOOP_S // 8)):  # through traffic in the lane below the zone
        t0 = 1.0 + 8 * k
        actors.append(Actor("car", [(t0, (-130, 285, 0, 345)), (t0 + 5, (640, 285, 770, 345))]))
    return Scene(WIDTH, HEIGHT, FPS, LOOP_S, actors, seed=31 + variant)


def write_videos(folder: Path, variants: int) -> list[Path]:
    """One H.264 file per variant (a keyframe a second, as cameras are often set)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for v in range(variants):
        path = folder / f"load-street-{v}.mp4"
        if not path.exists():
            load_scene(v, variants).render(path, gop=int(FPS))
        paths.append(path)
    return paths


def camera_config(videos: list[Path], cameras: int) -> dict[str, Any]:
    """The YAML (as a dict) for `cameras` cameras spread over the videos, each running the
    demo model on its pictures: a camera that did not look at them would flatter the
    figures, and at 320 px one detection a second eight cameras leave the API most of a
    core."""
    curb = {
        "name": ZONE,
        "rule": "illegal_parking",
        "dwell_s": DWELL_S,
        "max_gap_s": 2,
        "merge_window_s": 1,  # the same spot is taken again every loop: a new incident
        # The model's boxes reach lower than the drawn cars: the zone allows for it, and
        # stays above the through lane.
        "polygon": [[0, 0.5], [1, 0.5], [1, 0.82], [0, 0.82]],
    }
    return {
        "cameras": [
            {
                "name": f"load-{i:02d}",
                "source": str(videos[i % len(videos)]),
                "reader": "pyav",
                "detect_fps": 1.0,
                "zones": [curb],
            }
            for i in range(cameras)
        ],
        "detector": {
            "type": "onnx",
            "model": str(DEMO_MODEL),
            "imgsz": 320,
            "confidence": 0.3,
            "threads": 1,  # single-threaded sessions, one per core, shared by the cameras
        },
        "evidence": {"pre_s": 3, "post_s": 3},
    }


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the clients may ask for: users (all with `password`) and incident ids."""

    usernames: list[str]
    password: str
    incident_ids: list[str]
    cameras: list[str]


def seed(
    engine: Engine, evidence_dir: Path, app: AppConfig, incidents: int, user_count: int
) -> Seeded:
    """Users (operators, real argon2 hashes) and `incidents` past incidents with evidence
    written by the real sink, spread over the cameras and the last week."""
    catalog.import_config(engine, app)
    password = f"load-{random.randrange(10**12):012d}"
    hashed = PasswordHasher().hash(password)
    names = [f"load-user-{i:03d}" for i in range(user_count)]
    with Session(engine) as session, session.begin():
        for name in names:
            users.create_user(session, name, hashed, "operator")
    cameras = [c.name for c in app.cameras]
    ids = _seed_incidents(engine, evidence_dir, cameras, incidents)
    return Seeded(names, password, ids, cameras)


def _seed_incidents(
    engine: Engine, evidence_dir: Path, cameras: list[str], count: int
) -> list[str]:
    pictures = _pictures()
    sink = IncidentSink(EvidenceWriter(evidence_dir), IncidentStore(engine))
    rng = random.Random(7)
    now = datetime.now(UTC)
    ids = []
    for n in range(count):
        alert_at = now - timedelta(days=7) + timedelta(seconds=rng.uniform(0, 7 * 86400 - 600))
        record = IncidentRecord(
            id=f"seed-{n:05d}",
            camera=cameras[n % len(cameras)],
            zone=ZONE,
            type="illegal_parking",
            severity="medium",
            first_seen_s=0.0,
            alert_s=DWELL_S,
            last_seen_s=STAND_S,
            first_seen_at=alert_at - timedelta(seconds=DWELL_S),
            alert_at=alert_at,
            last_seen_at=alert_at + timedelta(seconds=STAND_S - DWELL_S),
            box=SPOTS[n % len(SPOTS)][0],
            confidence=0.8,
            object_classes=["car"],
            status=SEED_STATUSES[n % len(SEED_STATUSES)],
        )
        sink.opened(record, pictures)
        ids.append(record.id)
    sink.close()
    return ids


def _pictures() -> AlertPictures:
    scene = load_scene(0, 1)
    image = scene._draw(scene._background(), 8.0)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    polygon = np.array([[0, 180], [WIDTH, 180], [WIDTH, 295], [0, 295]], np.int32)
    return AlertPictures(jpeg.tobytes(), jpeg.tobytes(), image, polygon, ["seeded incident"])
