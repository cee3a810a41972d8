"""Evidence files on disk: crash-safe writes of alert images and clips, plus annotation.

Layout: `<root>/<id[:2]>/<id>/<kind>.jpg` and `.../clip.mp4`. Every file is written under a
`.tmp-*` name, fsync'ed and renamed into place, so a crash never leaves a half-written file
under a final name; `sweep_temporaries` removes what a crash left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pipeline.evidence_clip import EvidenceError, encode_clip
from pipeline.records import EvidenceFile, EvidenceKind

__all__ = [
    "EvidenceError",
    "EvidenceWriter",
    "annotate_alert",
    "fsync_dir",
    "os_error_of",
    "remove_incident_files",
    "sha256_file",
    "sweep_temporaries",
]

logger = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
# Ids become folder names, so only plain characters are allowed (no separators or dots).
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9_-]{2,64}$")
_CHUNK = 1 << 20

ZONE_BGR = (0, 215, 255)
BOX_BGR = (0, 0, 255)
OUTLINE_BGR = (0, 0, 0)
TEXT_BGR = (255, 255, 255)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's contents."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def os_error_of(exc: BaseException) -> OSError | None:
    """The operating-system error behind a failed write (disk full, read-only, I/O error),
    looking through wrappers such as EvidenceError; None when it was something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno is not None:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def fsync_dir(folder: Path) -> None:
    # Makes a rename or a new entry durable; directories cannot be opened on Windows.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_incident_id(incident_id: str) -> None:
    if not _INCIDENT_ID.match(incident_id):
        raise EvidenceError(f"incident id {incident_id!r} is not usable as a folder name")


def incident_relative_dir(incident_id: str) -> str:
    """The folder of an incident's files, relative to the evidence root."""
    _check_incident_id(incident_id)
    return f"{incident_id[:2]}/{incident_id}"


class EvidenceWriter:
    """Writes an incident's evidence files under `root`, atomically and durably."""

    def __init__(self, root: Path, jpeg_quality: int = 85) -> None:
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be 1..100, got {jpeg_quality}")
        self.root = Path(root)
        self.jpeg_quality = jpeg_quality

    def write_image(
        self,
        incident_id: str,
        kind: EvidenceKind,
        image_bgr: np.ndarray | None = None,
        jpeg: bytes | None = None,
    ) -> EvidenceFile:
        """Store one still (from a BGR image, or JPEG bytes kept as they are)."""
        kind = EvidenceKind(kind)
        if kind is EvidenceKind.clip:
            raise EvidenceError("clips are written with write_clip")
        data = self._jpeg_bytes(image_bgr, jpeg)
        relative = f"{incident_relative_dir(incident_id)}/{kind.value}.jpg"
        folder = self._ensure_folder(incident_id)
        digest = atomic_write(folder, f"{kind.value}.jpg", kind.value, data)
        return EvidenceFile(kind, relative, digest, len(data), "image/jpeg")

    def write_clip(
        self,
        incident_id: str,
        frames: Sequence[tuple[float, bytes]],
        fps: float,
        max_width: int = 1280,
    ) -> EvidenceFile:
        """Encode (stream time, JPEG) frames into `clip.mp4` (H.264, browser-playable)."""
        relative = f"{incident_relative_dir(incident_id)}/clip.mp4"
        if not frames:
            raise EvidenceError(f"incident {incident_id}: cannot write a clip without frames")
        folder = self._ensure_folder(incident_id)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}clip-", suffix=".mp4", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            started = time.perf_counter()
            count = encode_clip(tmp, frames, fps, max_width)
            digest, size = _hash_and_sync(tmp)
            os.replace(tmp, folder / "clip.mp4")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(folder)
        logger.info(
            "incident %s: clip of %d frames, %d bytes in %.2f s",
            incident_id,
            count,
            size,
            time.perf_counter() - started,
        )
        return EvidenceFile(EvidenceKind.clip, relative, digest, size, "video/mp4")

    def _jpeg_bytes(self, image_bgr: np.ndarray | None, jpeg: bytes | None) -> bytes:
        if jpeg is not None and image_bgr is None:
            if not jpeg.startswith(b"\xff\xd8"):
                raise EvidenceError("jpeg bytes do not start with a JPEG marker")
            return bytes(jpeg)
        if image_bgr is None or jpeg is not None:
            raise EvidenceError("pass exactly one of image_bgr or jpeg")
        ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise EvidenceError(f"could not JPEG-encode an image of shape {image_bgr.shape}")
        return encoded.tobytes()

    def _ensure_folder(self, incident_id: str) -> Path:
        folder = self.root / incident_relative_dir(incident_id)
        if folder.is_dir():
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        # New directory entries must reach the disk too, or the files vanish with them.
        fsync_dir(folder.parent)
        fsync_dir(folder.parent.parent)
        return folder


def atomic_write(folder: Path, name: str, tag: str, data: bytes) -> str:
    """Write `data` to `folder/name` via a fsync'ed temporary; returns its SHA-256."""
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{tag}-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, folder / name)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return hashlib.sha256(data).hexdigest()


def _hash_and_sync(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file written by someone else (the muxer), then fsync it."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "r+b") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(handle.fileno())
    return digest.hexdigest(), size


def sweep_temporaries(root: Path, min_age_s: float = 0.0) -> list[Path]:
    """Delete `.tmp-*` files left by interrupted writes; returns the paths removed.

    `min_age_s` spares files that a live writer may still be filling.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    cutoff = time.time() - min_age_s
    removed: list[Path] = []
    for path in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            too_young = min_age_s > 0 and path.stat().st_mtime > cutoff
            if path.is_file() and not too_young:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # finished and renamed meanwhile
    if removed:
        logger.warning("removed %d leftover temporary evidence files", len(removed))
    return removed


def remove_incident_files(root: Path, incident_id: str) -> list[Path]:
    """Delete an incident's evidence folder (after a failed DB commit); returns files removed."""
    folder = Path(root) / incident_relative_dir(incident_id)
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file()]
    shutil.rmtree(folder)
    fsync_dir(folder.parent)
    logger.info("removed %d evidence files of incident %s", len(files), incident_id)
    return files


def annotate_alert(
    image_bgr: np.ndarray,
    box_xyxy: Sequence[float],
    zone_polygon_px: np.ndarray,
    label_lines: Sequence[str],
) -> np.ndarray:
    """A copy of the alert frame with the zone, the object's box and a caption panel.

    Line widths and text size follow the image size so the result reads the same on a
    640 px and a 4K frame.
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise EvidenceError(f"expected a BGR image, got shape {image_bgr.shape}")
    out = np.ascontiguousarray(image_bgr).copy()
    scale = max(out.shape[0], out.shape[1]) / 1280
    _draw_zone(out, zone_polygon_px, scale)
    _draw_box(out, box_xyxy, scale)
    _draw_caption(out, label_lines, scale)
    return out


def _draw_zone(out: np.ndarray, polygon: np.ndarray, scale: float) -> None:
    points = np.asarray(polygon, dtype=np.int32).reshape(-1, 1, 2)
    if len(points) < 2:
        return
    overlay = out.copy()
    cv2.fillPoly(overlay, [points], ZONE_BGR)
    cv2.addWeighted(overlay, 0.25, out, 0.75, 0, dst=out)
    cv2.polylines(out, [points], True, ZONE_BGR, max(1, round(2 * scale)), cv2.LINE_AA)


def _draw_box(out: np.ndarray, box_xyxy: Sequence[float], scale: float) -> None:
    height, width = out.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in box_xyxy)
    x1, x2 = sorted((min(max(x1, 0), width - 1), min(max(x2, 0), width - 1)))
    y1, y2 = sorted((min(max(y1, 0), height - 1), min(max(y2, 0), height - 1)))
    thickness = max(2, round(4 * scale))
    # A dark rim under the coloured stroke keeps the box visible on red or bright scenes.
    rim = thickness + max(2, round(2 * scale))
    cv2.rectangle(out, (x1, y1), (x2, y2), OUTLINE_BGR, rim, cv2.LINE_AA)
    cv2.rectangle(out, (x1, y1), (x2, y2), BOX_BGR, thickness, cv2.LINE_AA)


def _draw_caption(out: np.ndarray, lines: Sequence[str], scale: float) -> None:
    lines = [line for line in lines if line]
    if not lines:
        return
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.4, 0.7 * scale)
    thickness = max(1, round(1.6 * scale))
    pad = max(4, round(10 * scale))
    sizes = [cv2.getTextSize(line, font, font_scale, thickness) for line in lines]
    line_h = max(h + base for (_, h), base in sizes) + pad // 2
    panel_w = min(out.shape[1], max(w for (w, _), _ in sizes) + 2 * pad)
    panel_h = min(out.shape[0], line_h * len(lines) + pad)
    region = out[:panel_h, :panel_w]
    # Darken rather than paint over so the scene behind the caption stays faintly visible.
    region[:] = (region * 0.3).astype(np.uint8)
    for index, line in enumerate(lines):
        baseline_y = pad + index * line_h + sizes[index][0][1]
        cv2.putText(
            out, line, (pad, baseline_y), font, font_scale, TEXT_BGR, thickness, cv2.LINE_AA
        )
