"""A sampled frame's JPEG, encoded only if someone asks for it.

Encoding a 720p frame costs about 3 ms, more than tracking and rules together, and most
sampled frames are never shown: a picture is needed when an object first enters a zone (its
first-seen picture), when an alert is raised, when a spot is seen clear again, and for the
zone editor's snapshot. Encoding on demand leaves that cost to those moments.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import numpy.typing as npt


def encode_jpeg(image: npt.NDArray[np.uint8], quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


class FramePicture:
    """`jpeg()` encodes the frame the first time and then returns the same bytes; the raw
    frame is let go once encoded, so a kept picture costs its JPEG's size, not the frame's.
    Safe to call from several threads.

    >>> picture = FramePicture(np.zeros((8, 8, 3), np.uint8), quality=90)
    >>> picture.jpeg()[:2] == b"\\xff\\xd8" and picture.jpeg() is picture.jpeg()
    True
    """

    def __init__(
        self, image: npt.NDArray[np.uint8] | None, quality: int, jpeg: bytes | None = None
    ) -> None:
        if image is None and jpeg is None:
            raise ValueError("a picture needs the frame or its JPEG")
        self._image = image if jpeg is None else None  # a JPEG at hand: the frame is not kept
        self._quality = quality
        self._jpeg = jpeg
        self._lock = threading.Lock()

    @property
    def is_encoded(self) -> bool:
        return self._jpeg is not None

    def jpeg(self) -> bytes:
        with self._lock:
            if self._jpeg is None:
                assert self._image is not None  # only let go once encoded
                self._jpeg = encode_jpeg(self._image, self._quality)
                self._image = None
            return self._jpeg
