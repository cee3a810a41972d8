"""OpenCV drawings of street objects for the synthetic demo data: one function per sprite, all
drawn inside a pixel box in box-relative coordinates, so the same drawing serves the training
images and the scenario videos.

Every primitive paints both the picture and an object-id map; the id map gives each object's
visible extent after occlusion, which is what a label must describe.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
IdMap = npt.NDArray[np.uint16]
Color = tuple[int, int, int]
Box = tuple[float, float, float, float]

# The model's class list, in class-id order. Changing it invalidates the trained model.
CLASSES: tuple[str, ...] = (
    "car",
    "motorcycle",
    "truck",
    "person",
    "umbrella",
    "table",
    "chair",
    "cart",
    "goods",
)
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}

# Typical width/height at 640 px picture width and scale 1; sampled around these.
BASE_SIZE: dict[str, tuple[float, float]] = {
    "car": (120, 54),
    "motorcycle": (56, 38),
    "truck": (200, 90),
    "person": (24, 64),
    "umbrella": (96, 76),
    "table": (62, 30),
    "chair": (22, 24),
    "cart": (70, 50),
    "goods": (36, 22),
}

BRIGHT: tuple[Color, ...] = (
    (40, 40, 200),
    (40, 160, 230),
    (60, 180, 60),
    (200, 120, 40),
    (170, 60, 170),
    (30, 200, 220),
    (230, 230, 230),
    (50, 50, 50),
    (140, 140, 150),
    (20, 90, 160),
)


def random_color(rng: random.Random, jitter: int = 30) -> Color:
    base = rng.choice(BRIGHT)
    return tuple(int(np.clip(c + rng.randint(-jitter, jitter), 0, 255)) for c in base)  # type: ignore[return-value]


def shade(color: Color, factor: float) -> Color:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in color)  # type: ignore[return-value]


@dataclass
class Style:
    """The look of one object, fixed for its lifetime: colours, facing, variant."""

    main: Color
    second: Color
    flip: bool = False
    variant: int = 0
    lights_on: bool = False
    extra: list[Color] = field(default_factory=list)

    @classmethod
    def random(cls, rng: random.Random) -> Style:
        extra = [random_color(rng, 40) for _ in range(4)]
        return cls(
            random_color(rng),
            random_color(rng),
            rng.random() < 0.5,
            rng.randint(0, 2),
            False,
            extra,
        )


class Canvas:
    """Draws shapes given in box-relative (u, v) coordinates onto the image and the id map."""

    def __init__(self, img: Image, ids: IdMap | None, box: Box, oid: int, flip: bool) -> None:
        self.img, self.ids, self.oid, self.flip = img, ids, oid, flip
        self.x1, self.y1 = box[0], box[1]
        self.w, self.h = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
        self.lights: list[tuple[int, int, int]] = []

    def pt(self, u: float, v: float) -> tuple[int, int]:
        if self.flip:
            u = 1.0 - u
        return round(self.x1 + u * self.w), round(self.y1 + v * self.h)

    def _both(self, fn: Callable[[Any, tuple[int, ...]], object], color: Color) -> None:
        fn(self.img, color)
        if self.ids is not None:
            fn(self.ids, (self.oid,))

    def rect(self, u1: float, v1: float, u2: float, v2: float, color: Color) -> None:
        a, b = self.pt(u1, v1), self.pt(u2, v2)
        p1 = (min(a[0], b[0]), a[1])
        p2 = (max(a[0], b[0]) - 1, b[1] - 1)
        self._both(lambda im, c: cv2.rectangle(im, p1, p2, c, -1), color)

    def poly(self, pts: list[tuple[float, float]], color: Color) -> None:
        arr = np.array([self.pt(u, v) for u, v in pts], np.int32)
        self._both(lambda im, c: cv2.fillPoly(im, [arr], c), color)

    def circle(self, u: float, v: float, r: float, color: Color) -> None:
        """r is relative to the box height."""
        center, radius = self.pt(u, v), max(round(r * self.h), 1)
        self._both(lambda im, c: cv2.circle(im, center, radius, c, -1), color)

    def ellipse(
        self, u: float, v: float, ru: float, rv: float, color: Color, half: bool = False
    ) -> None:
        center = self.pt(u, v)
        axes = (max(int(ru * self.w), 1), max(int(rv * self.h), 1))
        end = 180 if half else 360
        start = 180 if half else 0
        self._both(lambda im, c: cv2.ellipse(im, center, axes, 0, start, start + end, c, -1), color)

    def line(self, u1: float, v1: float, u2: float, v2: float, color: Color, t: float) -> None:
        """t is the thickness relative to the box width (at least 1 px)."""
        a, b, th = self.pt(u1, v1), self.pt(u2, v2), max(round(t * self.w), 1)
        self._both(lambda im, c: cv2.line(im, a, b, c, th), color)

    def light(self, u: float, v: float, r: float) -> None:
        x, y = self.pt(u, v)
        self.lights.append((x, y, max(int(r * self.h), 2)))


def _wheel(cv: Canvas, u: float, v: float, r: float) -> None:
    cv.circle(u, v, r, (25, 25, 25))
    cv.circle(u, v, r * 0.45, (150, 150, 150))


def draw_car(cv: Canvas, s: Style) -> None:
    glass = (90, 70, 60) if s.variant != 1 else (120, 100, 80)
    roof = 0.0 if s.variant != 2 else 0.08
    cv.poly([(0.22, roof), (0.72, roof), (0.86, 0.42), (0.1, 0.42)], shade(s.main, 0.85))
    cv.poly([(0.27, roof + 0.08), (0.47, roof + 0.08), (0.47, 0.4), (0.16, 0.4)], glass)
    cv.poly([(0.51, roof + 0.08), (0.69, roof + 0.08), (0.8, 0.4), (0.51, 0.4)], glass)
    cv.rect(0.0, 0.38, 1.0, 0.8, s.main)
    cv.rect(0.0, 0.62, 1.0, 0.68, shade(s.main, 0.6))
    cv.rect(0.94, 0.45, 1.0, 0.56, (170, 230, 250))  # headlight
    cv.rect(0.0, 0.45, 0.04, 0.56, (30, 30, 200))  # tail light
    _wheel(cv, 0.22, 0.8, 0.2)
    _wheel(cv, 0.78, 0.8, 0.2)
    cv.light(0.99, 0.5, 0.14)


def draw_motorcycle(cv: Canvas, s: Style) -> None:
    _wheel(cv, 0.18, 0.7, 0.3)
    _wheel(cv, 0.82, 0.7, 0.3)
    cv.line(0.18, 0.7, 0.5, 0.45, (60, 60, 60), 0.06)
    cv.line(0.82, 0.7, 0.72, 0.05, (90, 90, 90), 0.05)
    cv.poly([(0.3, 0.35), (0.75, 0.3), (0.68, 0.62), (0.38, 0.62)], s.main)
    cv.rect(0.28, 0.26, 0.56, 0.36, (30, 30, 30))  # seat
    cv.line(0.62, 0.05, 0.8, 0.0, (40, 40, 40), 0.05)  # handlebar
    cv.circle(0.8, 0.2, 0.08, (170, 230, 250))
    cv.light(0.82, 0.2, 0.15)


def draw_truck(cv: Canvas, s: Style) -> None:
    if s.variant == 2:  # bus
        cv.rect(0.0, 0.05, 1.0, 0.84, s.main)
        for k in range(7):
            u = 0.04 + k * 0.135
            cv.rect(u, 0.14, u + 0.11, 0.45, (80, 65, 55))
        cv.rect(0.0, 0.55, 1.0, 0.6, s.second)
        cv.rect(0.96, 0.6, 1.0, 0.72, (170, 230, 250))
    else:
        cv.rect(0.0, 0.0, 0.72, 0.82, s.second if s.variant else (210, 210, 210))
        cv.line(0.0, 0.3, 0.72, 0.3, shade(s.second, 0.7), 0.008)
        cv.poly([(0.74, 0.22), (0.92, 0.22), (1.0, 0.5), (1.0, 0.84), (0.74, 0.84)], s.main)
        cv.poly([(0.77, 0.27), (0.9, 0.27), (0.96, 0.5), (0.77, 0.5)], (80, 65, 55))
        cv.rect(0.96, 0.6, 1.0, 0.7, (170, 230, 250))
    for u in (0.12, 0.27, 0.85) if s.variant != 2 else (0.15, 0.82):
        _wheel(cv, u, 0.85, 0.15)
    cv.light(0.99, 0.66, 0.1)


def draw_person(cv: Canvas, s: Style) -> None:
    skin = s.extra[0] if s.variant == 0 else (120, 160, 200)
    pants = shade(s.second, 0.6)
    walk = 0.1 if s.variant == 1 else 0.02
    cv.line(0.45, 0.55, 0.5 - walk * 2, 0.98, pants, 0.26)
    cv.line(0.55, 0.55, 0.5 + walk * 2, 0.98, pants, 0.26)
    cv.poly([(0.15, 0.2), (0.85, 0.2), (0.78, 0.6), (0.22, 0.6)], s.main)
    cv.line(0.18, 0.22, 0.05, 0.55, s.main, 0.18)
    cv.line(0.82, 0.22, 0.95, 0.55, s.main, 0.18)
    cv.circle(0.5, 0.1, 0.1, (skin[2], skin[1], skin[0]))
    if s.variant == 2:  # conical hat
        cv.poly([(0.0, 0.1), (1.0, 0.1), (0.5, 0.0)], (150, 200, 220))
    else:
        cv.ellipse(0.5, 0.06, 0.25, 0.045, (30, 30, 40), half=True)


def draw_umbrella(cv: Canvas, s: Style) -> None:
    cv.line(0.5, 0.3, 0.5, 1.0, (70, 70, 70), 0.03)
    cv.ellipse(0.5, 0.38, 0.5, 0.36, s.main, half=True)
    if s.variant:  # striped canopy
        for k in (1, 3):
            a, b = k / 5.0, (k + 1) / 5.0
            cv.poly([(0.5, 0.03), (a, 0.38), (b, 0.38)], s.second)
    cv.rect(0.0, 0.36, 1.0, 0.42, shade(s.main, 0.7))


def draw_table(cv: Canvas, s: Style) -> None:
    top = s.second if s.variant else (200, 200, 200)
    cv.line(0.08, 0.2, 0.06, 1.0, (60, 60, 60), 0.05)
    cv.line(0.92, 0.2, 0.94, 1.0, (60, 60, 60), 0.05)
    if s.variant == 2:  # cloth cover
        cv.rect(0.02, 0.2, 0.98, 0.7, shade(s.main, 0.9))
    cv.poly([(0.1, 0.0), (0.9, 0.0), (1.0, 0.22), (0.0, 0.22)], top)
    cv.line(0.35, 0.2, 0.33, 0.92, (70, 70, 70), 0.04)
    cv.line(0.65, 0.2, 0.67, 0.92, (70, 70, 70), 0.04)


def draw_chair(cv: Canvas, s: Style) -> None:
    color = s.extra[1]
    if s.variant == 1:  # plastic chair with a back
        cv.rect(0.1, 0.0, 0.9, 0.45, color)
        cv.rect(0.0, 0.42, 1.0, 0.56, shade(color, 0.8))
    else:  # low stool
        cv.ellipse(0.5, 0.32, 0.5, 0.14, color)
        cv.rect(0.05, 0.32, 0.95, 0.46, shade(color, 0.8))
    cv.line(0.1, 0.5, 0.05, 1.0, shade(color, 0.6), 0.14)
    cv.line(0.9, 0.5, 0.95, 1.0, shade(color, 0.6), 0.14)
    cv.line(0.5, 0.5, 0.5, 0.95, shade(color, 0.7), 0.12)


def draw_cart(cv: Canvas, s: Style) -> None:
    cv.line(0.0, 0.35, 0.15, 0.55, (50, 50, 50), 0.03)  # handle
    cv.rect(0.12, 0.5, 0.95, 0.82, s.main)
    if s.variant != 1:  # glass case on top
        cv.rect(0.18, 0.08, 0.9, 0.5, (180, 190, 170))
        cv.rect(0.22, 0.14, 0.86, 0.46, (150, 170, 160))
        cv.rect(0.14, 0.0, 0.94, 0.1, s.second)
    else:
        cv.rect(0.12, 0.3, 0.95, 0.52, s.second)
    _wheel(cv, 0.3, 0.86, 0.14)
    _wheel(cv, 0.8, 0.86, 0.14)


def draw_goods(cv: Canvas, s: Style) -> None:
    if s.variant == 0:  # crates
        for u1, v1, u2, v2 in ((0, 0.45, 0.5, 1), (0.5, 0.45, 1, 1), (0.2, 0.0, 0.72, 0.46)):
            cv.rect(u1, v1, u2, v2, s.extra[2])
            cv.line(u1, (v1 + v2) / 2, u2, (v1 + v2) / 2, shade(s.extra[2], 0.6), 0.04)
    elif s.variant == 1:  # sacks
        cv.ellipse(0.28, 0.62, 0.28, 0.38, (150, 185, 200))
        cv.ellipse(0.72, 0.62, 0.28, 0.38, (130, 165, 185))
        cv.ellipse(0.5, 0.35, 0.26, 0.33, (145, 175, 195))
    else:  # basket of fruit
        cv.rect(0.0, 0.5, 1.0, 1.0, (40, 90, 130))
        for k in range(5):
            cv.circle(0.12 + k * 0.19, 0.42, 0.17, s.extra[k % 4])
        cv.circle(0.35, 0.18, 0.17, s.extra[3])
        cv.circle(0.62, 0.18, 0.17, s.extra[2])


SPRITES: dict[str, Callable[[Canvas, Style], None]] = {
    "car": draw_car,
    "motorcycle": draw_motorcycle,
    "truck": draw_truck,
    "person": draw_person,
    "umbrella": draw_umbrella,
    "table": draw_table,
    "chair": draw_chair,
    "cart": draw_cart,
    "goods": draw_goods,
}


def draw_sprite(
    img: Image, ids: IdMap | None, class_name: str, box: Box, style: Style, oid: int = 0
) -> list[tuple[int, int, int]]:
    """Draw one object filling `box`; returns its light sources (x, y, radius) for night."""
    cv = Canvas(img, ids, box, oid, style.flip)
    SPRITES[class_name](cv, style)
    return cv.lights if style.lights_on else []
