"""The picture shown for each incident in a report: read, redacted (public), shrunk, JPEG.

Evidence files are only read; the public variant blurs a decoded copy in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.reports.redact import Image, Region, find_regions, redact

logger = logging.getLogger(__name__)

# Preferred picture kinds, best first: the annotated alert frame shows box, zone and time.
PICTURE_KINDS = ("alert_annotated", "alert_clean", "first_seen", "report_photo")
MAX_WIDTH = 960
JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class PictureSource:
    """Where an incident's picture is and what the redaction needs to know about it."""

    incident_id: str
    path: Path
    box: tuple[float, float, float, float] | None  # pixel box in the picture, if it applies
    classes: tuple[str, ...]
    rule: str


@dataclass(frozen=True, slots=True)
class Picture:
    incident_id: str
    jpeg: bytes
    width: int
    height: int
    regions_blurred: int


def resolve_inside(root: Path, relative: str) -> Path | None:
    """`root/relative` as an existing file, or None if it is missing or escapes `root`."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def decode(path: Path) -> Image | None:
    """The picture file as a BGR array (the file is only read), or None if unreadable."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError:  # removed (retention) since the database said it was there
        return None
    decoded = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    return None if decoded is None else np.asarray(decoded, dtype=np.uint8)


def redacted(image: Image, source: PictureSource) -> tuple[Image, list[Region]]:
    """A blurred copy of `image` for publication, and the regions that were blurred."""
    regions = find_regions(image, source.box, source.classes, source.rule)
    return redact(image, regions), regions


def load_picture(source: PictureSource, public: bool) -> Picture | None:
    """The picture ready to embed, or None when the file is missing or not an image."""
    image = decode(source.path)
    if image is None:
        logger.warning("incident %s: %s is not a readable picture", source.incident_id, source.path)
        return None
    regions: list[Region] = []
    if public:
        image, regions = redacted(image, source)
    image = _shrink(image)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        return None
    height, width = image.shape[:2]
    return Picture(source.incident_id, encoded.tobytes(), width, height, len(regions))


def _shrink(image: Image) -> Image:
    height, width = image.shape[:2]
    if width <= MAX_WIDTH:
        return image
    size = (MAX_WIDTH, max(1, round(height * MAX_WIDTH / width)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
