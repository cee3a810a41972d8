"""Blur faces and number plates on a copy of a picture, for reports made public.

Two sources of regions, because neither is enough alone:

1. OpenCV's bundled Haar cascades (`cv2.data.haarcascades`): frontal and profile faces and
   the two number-plate cascades. They run offline and need no weights download, but miss
   many faces and plates on street cameras (small, oblique, night, non-Russian plates).
2. The incident's own box, when the incident is a vehicle (its classes, or a parking /
   abandoned-vehicle rule): the lower part of the vehicle box, where plates are mounted
   front and back, is blurred whatever the cascades say ("plate band").

Over-blurring is the safe failure for publication, so every cascade hit is blurred even
when it is a false positive. `redact` never changes a pixel outside the regions; the input
array is never modified, and nothing here reads or writes files.

>>> image = np.zeros((120, 160, 3), np.uint8)
>>> out = redact(image, [Region(10, 10, 50, 40, "face")])
>>> out is image
False
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

Image = NDArray[np.uint8]
RegionKind = Literal["face", "plate", "plate_band"]

VEHICLE_CLASSES = frozenset({"car", "truck", "bus", "motorcycle", "bicycle", "vehicle", "van"})
VEHICLE_RULES = frozenset({"illegal_parking", "abandoned_vehicle"})
# Plates sit in the lower part of a vehicle seen from the front or the back.
PLATE_BAND_FRACTION = 0.45
# Cascades run on a copy no wider than this (speed); regions are scaled back.
DETECT_MAX_WIDTH = 1280
# How many blocks a region is pixelated into across its shorter side, at most.
PIXEL_BLOCKS = 6
# Cascade boxes are grown by this fraction on each side (hair, plate frame).
MARGIN = 0.15

HAAR_DIR = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
_CASCADES: dict[str, tuple[RegionKind, str]] = {
    "frontal_face": ("face", "haarcascade_frontalface_default.xml"),
    "profile_face": ("face", "haarcascade_profileface.xml"),
    "plate_rus": ("plate", "haarcascade_russian_plate_number.xml"),
    "plate_rus_16": ("plate", "haarcascade_license_plate_rus_16stages.xml"),
}


@dataclass(frozen=True, slots=True)
class Region:
    """A pixel rectangle `[x1, x2) × [y1, y2)` to blur, and why."""

    x1: int
    y1: int
    x2: int
    y2: int
    kind: RegionKind

    def clipped(self, width: int, height: int) -> Region | None:
        x1, x2 = max(0, self.x1), min(width, self.x2)
        y1, y2 = max(0, self.y1), min(height, self.y2)
        if x2 <= x1 or y2 <= y1:
            return None
        return Region(x1, y1, x2, y2, self.kind)


def redact(image: Image, regions: Iterable[Region]) -> Image:
    """A copy of `image` with every region pixelated and blurred; nothing else changes."""
    out = image.copy()
    height, width = image.shape[:2]
    for region in regions:
        box = region.clipped(width, height)
        if box is None:
            continue
        # Each region is computed from the original pixels, so overlaps stay blurred.
        out[box.y1 : box.y2, box.x1 : box.x2] = _obscure(image[box.y1 : box.y2, box.x1 : box.x2])
    return out


def _obscure(patch: Image) -> Image:
    """Pixelate to at most PIXEL_BLOCKS blocks across, then blur away the block edges."""
    h, w = patch.shape[:2]
    scale = max(1, min(h, w) // PIXEL_BLOCKS)
    small = cv2.resize(
        patch, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA
    )
    blocky = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    kernel = scale | 1  # odd
    if kernel >= 3:
        blocky = cv2.GaussianBlur(blocky, (kernel, kernel), 0, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(blocky, dtype=np.uint8)


def find_regions(
    image: Image,
    incident_box: Sequence[float] | None = None,
    classes: Iterable[str] = (),
    rule: str | None = None,
) -> list[Region]:
    """Faces and plates found by the cascades, plus the plate band of a vehicle incident."""
    regions = cascade_regions(image)
    band = plate_band(incident_box, classes, rule)
    if band is not None:
        regions.append(band)
    return regions


def plate_band(
    incident_box: Sequence[float] | None, classes: Iterable[str] = (), rule: str | None = None
) -> Region | None:
    """The lower part of the incident box when the incident is about a vehicle."""
    if incident_box is None:
        return None
    if not (VEHICLE_CLASSES & set(classes)) and rule not in VEHICLE_RULES:
        return None
    x1, y1, x2, y2 = (float(v) for v in incident_box)
    if x2 <= x1 or y2 <= y1:
        return None
    top = y2 - (y2 - y1) * PLATE_BAND_FRACTION
    return Region(
        int(np.floor(x1)), int(np.floor(top)), int(np.ceil(x2)), int(np.ceil(y2)), "plate_band"
    )


def cascade_regions(image: Image) -> list[Region]:
    """Faces and plates the bundled Haar cascades find (grown by MARGIN)."""
    gray = np.asarray(
        image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8
    )
    height, width = gray.shape[:2]
    factor = min(1.0, DETECT_MAX_WIDTH / width)
    if factor < 1.0:
        size = (round(width * factor), round(height * factor))
        gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    gray = np.asarray(cv2.equalizeHist(gray), dtype=np.uint8)
    regions: list[Region] = []
    for name, (kind, _file) in _CASCADES.items():
        cascade = _cascade(name)
        if cascade is None:
            continue
        with _lock(name):  # a CascadeClassifier is not safe to share between threads
            found = cascade.detectMultiScale(
                gray, scaleFactor=1.1, minNeighbors=4, minSize=(16, 16)
            )
        for x, y, w, h in np.asarray(found).reshape(-1, 4):
            regions.append(_grown(x / factor, y / factor, w / factor, h / factor, kind))
    return regions


def _grown(x: float, y: float, w: float, h: float, kind: RegionKind) -> Region:
    dx, dy = w * MARGIN, h * MARGIN
    return Region(
        int(np.floor(x - dx)),
        int(np.floor(y - dy)),
        int(np.ceil(x + w + dx)),
        int(np.ceil(y + h + dy)),
        kind,
    )


_LOADED: dict[str, cv2.CascadeClassifier | None] = {}
_LOCKS: dict[str, threading.Lock] = {}
_LOAD_LOCK = threading.Lock()


def _cascade(name: str) -> cv2.CascadeClassifier | None:
    with _LOAD_LOCK:
        if name not in _LOADED:
            path = HAAR_DIR / _CASCADES[name][1]
            classifier = cv2.CascadeClassifier(str(path)) if path.is_file() else None
            if classifier is None or classifier.empty():
                logger.warning("OpenCV cascade %s is missing; %s regions not searched", path, name)
                classifier = None
            _LOADED[name] = classifier
            _LOCKS[name] = threading.Lock()
        return _LOADED[name]


def _lock(name: str) -> threading.Lock:
    return _LOCKS[name]


def available_cascades() -> list[str]:
    """Names of the cascades this OpenCV build ships (for the report's notes)."""
    return [name for name in _CASCADES if _cascade(name) is not None]
