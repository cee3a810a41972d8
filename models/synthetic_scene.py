"""Street backgrounds, perspective, lighting and camera degradations for the synthetic data.

A `Layout` fixes where the shop fronts, sidewalk, curb lane and road lanes lie in the picture
and how big objects are at each height (farther up = farther away = smaller).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

from models.synthetic_sprites import BASE_SIZE, Box, Color, Image, random_color, shade


@dataclass(frozen=True)
class Layout:
    """Band edges as pixel rows, and the perspective: scale = base * (near - (1-y/h)*depth)."""

    width: int
    height: int
    facade: int  # bottom of the shop fronts
    curb: int  # sidewalk / road edge
    road_end: int  # bottom of the road (a far sidewalk may follow)
    base: float
    depth: float

    @classmethod
    def random(cls, rng: random.Random, width: int, height: int) -> Layout:
        facade = int(height * rng.uniform(0.16, 0.32))
        curb = facade + int(height * rng.uniform(0.15, 0.24))
        road_end = min(height, curb + int(height * rng.uniform(0.45, 0.7)))
        base = width / 640 * rng.uniform(0.85, 1.35)
        return cls(width, height, facade, curb, road_end, base, rng.uniform(0.1, 0.45))

    @classmethod
    def demo(cls, width: int = 640, height: int = 360) -> Layout:
        """The fixed view of the demo scenarios."""
        return cls(
            width, height, int(height * 0.25), int(height * 0.46), height, width / 640 * 1.1, 0.3
        )

    def scale(self, y_bottom: float) -> float:
        return self.base * (1.0 - (1.0 - y_bottom / self.height) * self.depth)

    def size(self, class_name: str, y_bottom: float, jitter: float = 1.0) -> tuple[float, float]:
        w, h = BASE_SIZE[class_name]
        s = self.scale(y_bottom) * jitter
        return w * s, h * s

    def box(self, class_name: str, x_center: float, y_bottom: float, jitter: float = 1.0) -> Box:
        w, h = self.size(class_name, y_bottom, jitter)
        return (x_center - w / 2, y_bottom - h, x_center + w / 2, y_bottom)


def _shop_fronts(img: Image, lay: Layout, rng: random.Random) -> None:
    x = -rng.randint(0, 60)
    while x < lay.width:
        w = rng.randint(lay.width // 8, lay.width // 3)
        wall: Color = random_color(rng, 50)
        wall = shade(wall, rng.uniform(0.6, 1.0))
        cv2.rectangle(img, (x, 0), (x + w, lay.facade), wall, -1)
        sign_h = max(lay.facade // 5, 3)
        cv2.rectangle(img, (x + 4, 4), (x + w - 4, 4 + sign_h), random_color(rng), -1)
        for k in range(rng.randint(0, 4)):  # lettering blobs on the sign
            cx = x + 10 + k * w // 5
            cv2.rectangle(img, (cx, 7), (cx + w // 8, 2 + sign_h), (240, 240, 240), -1)
        door = (x + w // 4, 8 + sign_h, x + 3 * w // 4, lay.facade)
        cv2.rectangle(img, door[:2], door[2:], shade(wall, 0.45), -1)
        if rng.random() < 0.5:  # awning
            cv2.rectangle(img, (x, 6 + sign_h), (x + w, 14 + sign_h), random_color(rng), -1)
        x += w


def _clutter(img: Image, lay: Layout, rng: random.Random) -> None:
    """Trees, poles, manholes and stains: things a detector must learn to ignore."""
    for _ in range(rng.randint(0, 3)):
        x, y = rng.randint(0, lay.width), rng.randint(lay.facade, lay.curb)
        r = int(lay.base * rng.uniform(18, 34))
        cv2.line(img, (x, y), (x, y - 3 * r), (40, 60, 80), max(r // 6, 2))
        cv2.circle(img, (x, y - 3 * r), r, (40, rng.randint(100, 150), 50), -1)
    for _ in range(rng.randint(0, 3)):
        x = rng.randint(0, lay.width)
        cv2.line(img, (x, lay.curb), (x, lay.curb - int(lay.base * 90)), (90, 90, 90), 3)
    for _ in range(rng.randint(0, 4)):
        x, y = rng.randint(0, lay.width), rng.randint(lay.curb, lay.height)
        axes = (rng.randint(6, 30), rng.randint(3, 10))
        cv2.ellipse(img, (x, y), axes, 0, 0, 360, shade((80, 80, 80), rng.uniform(0.6, 1.3)), -1)


def draw_background(lay: Layout, rng: random.Random) -> Image:
    """Shop fronts, tiled sidewalk, curb, asphalt with lane marks, optional far sidewalk."""
    w, h = lay.width, lay.height
    img = np.zeros((h, w, 3), np.uint8)
    _shop_fronts(img, lay, rng)
    tile = shade((180, 185, 185), rng.uniform(0.75, 1.1))
    cv2.rectangle(img, (0, lay.facade), (w, lay.curb), tile, -1)
    step = max(int(24 * lay.base), 8)
    for x in range(rng.randint(0, step), w, step):
        cv2.line(img, (x, lay.facade), (x, lay.curb), shade(tile, 0.85), 1)
    asphalt = shade((95, 95, 95), rng.uniform(0.6, 1.2))
    cv2.rectangle(img, (0, lay.curb), (w, lay.road_end), asphalt, -1)
    curb_color = (0, 200, 230) if rng.random() < 0.4 else (215, 215, 215)
    cv2.rectangle(img, (0, lay.curb), (w, lay.curb + max(int(4 * lay.base), 2)), curb_color, -1)
    mid = (lay.curb + lay.road_end) // 2 + rng.randint(-10, 10)
    dash = max(int(40 * lay.base), 10)
    for x in range(rng.randint(-dash, 0), w, dash * 2):
        cv2.line(img, (x, mid), (x + dash, mid), (225, 225, 225), max(int(3 * lay.base), 1))
    if lay.road_end < h:
        cv2.rectangle(img, (0, lay.road_end), (w, h), tile, -1)
    _clutter(img, lay, rng)
    return img


@dataclass(frozen=True)
class Look:
    """Lighting and camera quality of one picture (or of a whole scenario video)."""

    light: str  # day, dusk or night
    gain: float
    tint: tuple[float, float, float]
    noise: float
    blur: int
    jpeg: int

    @classmethod
    def random(cls, rng: random.Random) -> Look:
        light = rng.choices(["day", "dusk", "night"], [0.6, 0.2, 0.2])[0]
        gain = {
            "day": rng.uniform(0.8, 1.2),
            "dusk": rng.uniform(0.55, 0.8),
            "night": rng.uniform(0.3, 0.45),
        }[light]
        tint = {"day": (0.0, 0.0, 0.0), "dusk": (-10.0, 5.0, 25.0), "night": (20.0, 0.0, -5.0)}[
            light
        ]
        blur = rng.choice([0, 0, 3, 5])
        return cls(light, gain, tint, rng.uniform(0, 9), blur, rng.randint(35, 95))

    @classmethod
    def day(cls) -> Look:
        return cls("day", 1.0, (0.0, 0.0, 0.0), 3.0, 0, 90)


def apply_light(img: Image, look: Look, lights: list[tuple[int, int, int]]) -> Image:
    """Darken and tint; at dusk and night add headlight glows on top."""
    if look.light == "day" and abs(look.gain - 1.0) < 1e-3:
        out = img
    else:
        out = np.asarray(cv2.convertScaleAbs(img, alpha=look.gain), np.uint8)
        tint = np.array(look.tint, np.float32)
        out = np.clip(out.astype(np.int16) + tint.astype(np.int16), 0, 255).astype(np.uint8)
    if look.light != "day" and lights:
        glow = np.zeros_like(out)
        for x, y, r in lights:
            cv2.circle(glow, (x, y), r * 2, (150, 200, 220), -1)
            cv2.circle(glow, (x, y), r, (255, 255, 255), -1)
        out = np.asarray(cv2.add(out, cv2.GaussianBlur(glow, (0, 0), 3)), np.uint8)
    return out


def degrade(img: Image, look: Look, rng: np.random.Generator, jpeg: bool = True) -> Image:
    """Sensor noise, focus blur and compression artefacts."""
    out = img
    if look.blur:
        out = np.asarray(cv2.GaussianBlur(out, (look.blur, look.blur), 0), np.uint8)
    if look.noise > 0.5:
        noise = rng.normal(0.0, look.noise, (*out.shape[:2], 1)).astype(np.int16)
        out = np.clip(out.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    if jpeg:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg])
        if ok:
            out = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)
    return out
