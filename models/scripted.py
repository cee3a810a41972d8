"""Scripted street scenes: objects that follow key-framed paths, rendered to a video, with the
detections a perfect-but-noisy detector would report (replay JSON-lines) and the truth events.

Used by the tests and by `streetwatch sample`, so the pipeline can be exercised without a
model. (The synthetic training scenes for the demo model are a separate generator.)
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
import yaml

Box = tuple[float, float, float, float]
Image = npt.NDArray[np.uint8]

COLORS = {
    "car": (170, 90, 40),
    "truck": (60, 120, 200),
    "bus": (40, 170, 220),
    "motorcycle": (40, 40, 160),
    "umbrella": (60, 60, 220),
    "dining table": (100, 140, 160),
    "chair": (60, 100, 60),
    "bench": (90, 90, 90),
    "person": (150, 120, 210),
}


@dataclass
class Actor:
    """An object on a key-framed path: linear between keyframes, absent outside them.

    `hidden` lists intervals where it is drawn but not detected (occlusion, detector misses);
    `drop_rate` drops that share of its detections at random.
    """

    class_name: str
    keyframes: list[tuple[float, Box]]
    hidden: list[tuple[float, float]] = field(default_factory=list)
    drop_rate: float = 0.0
    extra_boxes: list[tuple[float, float, Box]] = field(default_factory=list)  # (t0, t1, box)

    def box_at(self, t: float) -> Box | None:
        frames = self.keyframes
        if t < frames[0][0] or t > frames[-1][0]:
            return None
        for (t0, b0), (t1, b1) in itertools.pairwise(frames):
            if t0 <= t <= t1:
                w = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return tuple(a + (b - a) * w for a, b in zip(b0, b1, strict=True))  # type: ignore[return-value]
        return frames[-1][1]

    def detected_at(self, t: float, rng: random.Random) -> bool:
        if any(a <= t < b for a, b in self.hidden):
            return False
        return rng.random() >= self.drop_rate


def parked(
    class_name: str,
    box: Box,
    arrive: float,
    leave: float,
    approach: Box | None = None,
    travel_s: float = 3.0,
    **kwargs: Any,
) -> Actor:
    """A vehicle that drives in from `approach`, stands at `box` from `arrive` to `leave`, and
    drives back out."""
    start = approach or (box[0] - 200, box[1], box[2] - 200, box[3])
    frames = [(arrive - travel_s, start), (arrive, box), (leave, box), (leave + travel_s, start)]
    return Actor(class_name, frames, **kwargs)


@dataclass
class Scene:
    width: int
    height: int
    fps: float
    duration_s: float
    actors: list[Actor]
    truth: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 1

    def objects_at(self, t: float) -> list[tuple[Actor, Box]]:
        out = []
        for actor in self.actors:
            box = actor.box_at(t)
            if box is not None:
                out.append((actor, box))
        return out

    def frame_times(self) -> list[float]:
        count = round(self.duration_s * self.fps)
        return [i / self.fps for i in range(count)]

    def render(self, path: Path, gop: int | None = None) -> Path:
        """Write an H.264 MP4 of the scene (`gop`: frames between keyframes, as cameras set)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        background = self._background()
        rate = Fraction(self.fps).limit_denominator(1000)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.options = {"preset": "ultrafast", "crf": "23"}
            if gop:
                stream.options |= {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
            for t in self.frame_times():
                image = self._draw(background, t)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path

    def write_detections(self, path: Path, every_n_frames: int = 1, jitter_px: float = 1.5) -> Path:
        """Replay records in the EVALUATION.md format, with box jitter and dropouts."""
        rng = random.Random(self.seed)
        lines = []
        for index, t in enumerate(self.frame_times()):
            if index % every_n_frames:
                continue
            dets = []
            for actor, box in self.objects_at(t):
                boxes = [box] + [b for t0, t1, b in actor.extra_boxes if t0 <= t < t1]
                if not actor.detected_at(t, rng):
                    continue
                for b in boxes:
                    noisy = [round(v + rng.uniform(-jitter_px, jitter_px), 1) for v in b]
                    dets.append(
                        {
                            "xyxy": noisy,
                            "confidence": round(rng.uniform(0.55, 0.95), 3),
                            "class_name": actor.class_name,
                        }
                    )
            lines.append(
                json.dumps(
                    {
                        "frame": index,
                        "t": round(t, 4),
                        "width": self.width,
                        "height": self.height,
                        "detections": dets,
                    }
                )
            )
        path.write_text("\n".join(lines) + "\n")
        return path

    def write_truth(self, path: Path, video_name: str) -> Path:
        path.write_text(
            yaml.safe_dump({"video": video_name, "events": self.truth}, sort_keys=False)
        )
        return path

    def _background(self) -> Image:
        h, w = self.height, self.width
        img = np.full((h, w, 3), (95, 95, 95), np.uint8)
        cv2.rectangle(img, (0, 0), (w, int(h * 0.28)), (150, 160, 170), -1)  # shop fronts
        cv2.rectangle(img, (0, int(h * 0.28)), (w, int(h * 0.42)), (185, 185, 180), -1)  # sidewalk
        for x in range(0, w, max(w // 8, 1)):
            cv2.rectangle(img, (x + 4, 6), (x + w // 8 - 4, int(h * 0.26)), (120, 130, 150), 2)
        y = int(h * 0.7)
        for x in range(0, w, 60):
            cv2.line(img, (x, y), (x + 30, y), (230, 230, 230), 2)
        noise = np.random.default_rng(self.seed).integers(0, 12, (h, w, 1), dtype=np.uint8)
        return np.asarray(cv2.add(img, np.repeat(noise, 3, axis=2)), dtype=np.uint8)

    def _draw(self, background: Image, t: float) -> Image:
        img = background.copy()
        for actor, box in sorted(self.objects_at(t), key=lambda ab: ab[1][3]):
            draw_object(img, actor.class_name, box)
        return img


def draw_object(img: Image, class_name: str, box: Box) -> None:
    x1, y1, x2, y2 = (round(v) for v in box)
    color = COLORS.get(class_name, (200, 200, 200))
    cv2.rectangle(img, (x1, y1), (x2, y2), color, -1)
    cv2.rectangle(img, (x1, y1), (x2, y2), (20, 20, 20), 1)
    if class_name in ("car", "truck", "bus"):
        wy = y1 + (y2 - y1) // 4
        cv2.rectangle(
            img,
            (x1 + (x2 - x1) // 5, wy),
            (x2 - (x2 - x1) // 5, wy + (y2 - y1) // 4),
            (60, 50, 40),
            -1,
        )


def write_bundle(scene: Scene, folder: Path, name: str, every_n_frames: int = 1) -> dict[str, Path]:
    """Video, detections and truth side by side: NAME.mp4, NAME.detections.jsonl and
    NAME.truth.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    video = scene.render(folder / f"{name}.mp4")
    dets = scene.write_detections(folder / f"{name}.detections.jsonl", every_n_frames)
    truth = scene.write_truth(folder / f"{name}.truth.yaml", video.name)
    return {"video": video, "detections": dets, "truth": truth}


def sample_street(seed: int = 7) -> Scene:
    """A 90-second street: two cars park, one vendor sets up a stall, a car waits at a light,
    traffic passes. Zones in configs/sample.yaml."""
    w, h = 640, 360
    actors = [
        parked("car", (60, 200, 180, 260), arrive=8, leave=60),
        parked("car", (420, 205, 550, 262), arrive=30, leave=85, approach=(640, 205, 770, 262)),
        parked("car", (250, 270, 370, 330), arrive=40, leave=46),  # waits at a light: 6 s
        Actor("umbrella", [(20, (300, 60, 380, 110)), (80, (300, 60, 380, 110))]),
        Actor(
            "dining table", [(21, (310, 105, 370, 135)), (80, (310, 105, 370, 135))], drop_rate=0.2
        ),
        Actor("chair", [(22, (372, 110, 392, 138)), (80, (372, 110, 392, 138))], drop_rate=0.3),
        Actor("person", [(10, (0, 100, 20, 150)), (40, (640, 100, 660, 150))]),
    ]
    for k in range(8):  # through traffic
        t0 = 2 + k * 10
        actors.append(Actor("car", [(t0, (-130, 275, 0, 330)), (t0 + 6, (640, 275, 770, 330))]))
    truth = [
        {
            "zone": "curb-no-parking",
            "type": "illegal_parking",
            "arrive_s": 8.0,
            "leave_s": 60.0,
            "box": [60, 200, 180, 260],
        },
        {
            "zone": "curb-no-parking",
            "type": "illegal_parking",
            "arrive_s": 30.0,
            "leave_s": 85.0,
            "box": [420, 205, 550, 262],
        },
        {
            "zone": "sidewalk",
            "type": "street_vending",
            "arrive_s": 20.0,
            "leave_s": 80.0,
            "box": [300, 60, 392, 138],
        },
    ]
    return Scene(w, h, 15.0, 90.0, actors, truth, seed)


def scene_names() -> Sequence[str]:
    return ("sample",)
