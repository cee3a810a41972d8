"""Camera tampering and faults: a camera that is covered, turned away or out of focus is
found by comparing each sampled picture with its reference picture; its rules pause while
the fault lasts, so it raises no false alarms.

All checks run on a small grey thumbnail, about 1.5 ms a picture for a 720p frame: more than
tracking and rules together, so a healthy camera is checked on every other sample only, and
every sample once anything looks wrong (`due`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

THUMB = (160, 90)
Gray = npt.NDArray[np.float32]


class Fault(StrEnum):
    covered = "covered"  # nearly uniform picture: lens covered, camera dead, black frames
    blurred = "blurred"  # detail gone compared with the reference: out of focus, fogged lens
    moved = "moved"  # the scene no longer lines up with the reference: turned or knocked


@dataclass(frozen=True, slots=True)
class HealthSettings:
    min_std: float = 6.0  # grey-level spread below this is a covered lens
    min_sharpness_ratio: float = 0.25  # Laplacian variance relative to the reference
    min_similarity: float = 0.35  # edge correlation with the reference at the best shift
    max_shift: float = 0.08  # best-match shift, fraction of the width
    confirm: int = 3  # consecutive samples before a fault is declared or cleared
    adapt: float = 0.02  # how fast the reference follows light changes while healthy
    healthy_every: int = 2  # samples per check while all is well (a fault then shows a
    # sample later at most, and is confirmed over consecutive samples as before)


class CameraHealth:
    """`check(image) -> Fault | None`, with the fault confirmed over several samples.

    >>> health = CameraHealth()
    >>> health.check(np.zeros((90, 160, 3), np.uint8)) is None  # first picture: the reference
    True
    """

    def __init__(self, settings: HealthSettings | None = None) -> None:
        self.settings = settings or HealthSettings()
        self.reference: Gray | None = None
        self._reference_sharpness = 0.0
        self.fault: Fault | None = None
        self._candidate: Fault | None = None
        self._streak = 0
        self._skipped = 0

    def due(self) -> bool:
        """Whether this sample needs checking; call `check` when it does."""
        if self.reference is None or self.fault is not None or self._candidate is not None:
            return True
        self._skipped += 1
        if self._skipped >= self.settings.healthy_every:
            self._skipped = 0
            return True
        return False

    def check(self, image: npt.NDArray[np.uint8]) -> Fault | None:
        thumb = _thumbnail(image)
        if self.reference is None:
            self._set_reference(thumb)
            return None
        seen = self._judge(thumb)
        self._confirm(seen)
        if self.fault is None and seen is None:
            a = self.settings.adapt
            self.reference = (1 - a) * self.reference + a * thumb
            self._reference_sharpness = (1 - a) * self._reference_sharpness + a * _sharpness(thumb)
        return self.fault

    def _set_reference(self, thumb: Gray) -> None:
        self.reference = thumb
        self._reference_sharpness = _sharpness(thumb)

    def _judge(self, thumb: Gray) -> Fault | None:
        s = self.settings
        if float(thumb.std()) < s.min_std:
            return Fault.covered
        if _sharpness(thumb) < s.min_sharpness_ratio * self._reference_sharpness:
            return Fault.blurred
        assert self.reference is not None
        similarity, shift = _alignment(self.reference, thumb)
        if similarity < s.min_similarity or shift > s.max_shift:
            return Fault.moved
        return None

    def _confirm(self, seen: Fault | None) -> None:
        if seen == self.fault:
            self._candidate, self._streak = None, 0
            return
        if seen == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = seen, 1
        if self._streak >= self.settings.confirm:
            self.fault, self._candidate, self._streak = seen, None, 0


def _thumbnail(image: npt.NDArray[np.uint8]) -> Gray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return np.asarray(cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA), dtype=np.float32)


def _sharpness(thumb: Gray) -> float:
    # Relative to the picture's own contrast, so dusk (darker, flatter) is not "blurred".
    return float(cv2.Laplacian(thumb, cv2.CV_32F).var()) / (float(thumb.var()) + 1e-6)


def _alignment(reference: Gray, thumb: Gray) -> tuple[float, float]:
    """Edge-map correlation at the best shift, and that shift as a fraction of the width."""
    ref_edges, cur_edges = _edges(reference), _edges(thumb)
    (dx, dy), _ = cv2.phaseCorrelate(ref_edges, cur_edges)
    matrix = np.array([[1, 0, -dx], [0, 1, -dy]], dtype=np.float32)
    aligned = cv2.warpAffine(cur_edges, matrix, THUMB)
    similarity = float(cv2.matchTemplate(aligned, ref_edges, cv2.TM_CCOEFF_NORMED)[0, 0])
    return similarity, float(np.hypot(dx, dy)) / THUMB[0]


def _edges(thumb: Gray) -> Gray:
    gx = cv2.Sobel(thumb, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(thumb, cv2.CV_32F, 0, 1)
    return np.asarray(cv2.GaussianBlur(cv2.magnitude(gx, gy), (5, 5), 0), dtype=np.float32)
