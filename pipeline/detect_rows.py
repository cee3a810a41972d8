"""Detection on the band of rows the zones need, not the whole picture.

Zones usually cover the road and pavement in the lower part of a street camera's picture;
sky and facades above them never hold an object whose anchor is in a zone. Cropping to the
zones' rows (with room above for the objects standing in them) shrinks the network input of a
dynamic-size model (`detector.rect`) and its inference time with it. The crop keeps the full
width, so for landscape pictures the network sees objects at exactly the scale it would in the
whole picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detector.base import Detector
from detector.types import Detections, Frame

# Room above the zones' rows, as a fraction of their height: an object whose anchor sits on a
# zone's top edge stands up into it (a car half as tall as the zone band is a near one).
ROOM_ABOVE = 0.5
# Room below: a cut-off object is found less reliably, and the box of an object standing on
# the zone's bottom edge can reach past it; `center` anchors let half an object hang under it.
ROOM_BELOW = 0.25
ROOM_BELOW_CENTER = 0.5
# Not worth a crop (and its edge effects) for less than this share of the rows.
MIN_SAVING = 0.1


@dataclass(frozen=True, slots=True)
class RowBand:
    """Rows `top` (inclusive) to `bottom` (exclusive) of the picture.

    >>> RowBand(100, 300).shift(Detections.from_lists([[0, 10, 5, 20]], [0.9], [0], ("car",))).xyxy
    array([[  0., 110.,   5., 120.]], dtype=float32)
    """

    top: int
    bottom: int

    def crop(self, frame: Frame) -> Frame:
        return Frame(frame.image[self.top : self.bottom], frame.t, frame.index)

    def shift(self, detections: Detections) -> Detections:
        """Boxes found in the band, in whole-picture pixels."""
        if self.top == 0 or len(detections.xyxy) == 0:
            return detections
        offset = np.array([0, self.top, 0, self.top], np.float32)
        return Detections(
            xyxy=detections.xyxy + offset,
            confidence=detections.confidence,
            class_id=detections.class_id,
            class_names=detections.class_names,
        )


def zone_rows(
    polygons: Sequence[npt.NDArray[np.floating]],
    size: tuple[int, int],
    center_anchor: bool = False,
) -> RowBand | None:
    """The band of rows to detect in for zones given as pixel polygons on a (width, height)
    picture, or None when it would not save enough (or the picture is portrait, where a
    crop would change the scale the network sees)."""
    width, height = size
    if not polygons or height > width:
        return None
    ys = np.concatenate([np.asarray(p, np.float64)[:, 1] for p in polygons])
    low, high = float(ys.min()), float(ys.max())
    span = max(high - low, 1.0)
    below = (ROOM_BELOW_CENTER if center_anchor else ROOM_BELOW) * span
    top = max(0, int(np.floor(low - ROOM_ABOVE * span)))
    bottom = min(height, int(np.ceil(high + below)) + 1)
    if bottom - top > (1.0 - MIN_SAVING) * height:
        return None
    return RowBand(top, bottom)


def detect_in_rows(detector: Detector, frame: Frame, band: RowBand | None) -> Detections:
    """Detections for one frame, found in `band` when one is given (and the detector reads
    the picture at all)."""
    if band is None or not detector.reads_pixels:
        [detections] = detector.detect([frame])
        return detections
    [detections] = detector.detect([band.crop(frame)])
    return band.shift(detections)
