"""Video sources read with OpenCV, sampled by stream timestamp.

Files report container timestamps; live sources (RTSP/HTTP/device) the wall clock since open.
Frames that no stage needs are only `grab()`bed, never converted to BGR.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.errors import InputError

log = logging.getLogger(__name__)

LIVE_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


def is_live(spec: str | int) -> bool:
    return isinstance(spec, int) or str(spec).lower().startswith(LIVE_PREFIXES)


class RateGate:
    """Says which timestamps fall due at a fixed rate, on a grid anchored at t = 0, so the
    same file always samples the same frames.

    >>> gate = RateGate(1.0)
    >>> [gate.due(t) for t in (0.0, 0.4, 1.0, 1.2, 2.5)]
    [True, False, True, False, True]
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.period = 1.0 / rate
        self._next = -math.inf

    def due(self, t: float) -> bool:
        # A small tolerance absorbs timestamps such as 0.9999 from 25 fps containers.
        if t + 1e-3 < self._next:
            return False
        self._next = (math.floor((t + 1e-3) / self.period) + 1) * self.period
        return True


@dataclass(slots=True)
class GrabbedFrame:
    """A frame that was grabbed (decoded) but not yet converted; `retrieve()` converts it."""

    index: int
    t: float
    _capture: cv2.VideoCapture

    def retrieve(self) -> npt.NDArray[np.uint8] | None:
        ok, image = self._capture.retrieve()
        if not ok or image is None or not image.size:
            return None
        return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # 0 where unknown (live)
    live: bool

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.frame_count and self.fps else 0.0


class VideoSource:
    """An opened OpenCV capture that yields `GrabbedFrame`s with stream timestamps.

    >>> with VideoSource("street.mp4") as src:  # doctest: +SKIP
    ...     for grabbed in src.frames():
    ...         image = grabbed.retrieve()
    """

    def __init__(
        self, spec: str | int, open_timeout_s: float = 10.0, clock_origin: float | None = None
    ) -> None:
        self.spec = spec
        # Live stream time counts from `clock_origin` (time.monotonic()), so it runs on
        # across reconnects instead of restarting at zero.
        self.clock_origin = clock_origin
        self.live = is_live(spec)
        self.corrupt_frames = 0
        self.truncated = False
        self._capture = self._open(spec, open_timeout_s)
        self.info = self._read_info()

    def _open(self, spec: str | int, timeout_s: float) -> cv2.VideoCapture:
        if not self.live:
            path = Path(str(spec))
            if not path.is_file():
                raise InputError(f"video not found: {path}")
            try:
                with path.open("rb") as handle:
                    handle.read(1)
            except OSError as exc:
                raise InputError(f"cannot read video {path}: {exc.strerror}") from None
            capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        else:
            # A stream that stays connected but sends nothing must not block the reader for
            # ever: the read timeout ends it, and the camera reconnects with back-off.
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(timeout_s * 1000),
            ]
            capture = cv2.VideoCapture(
                spec, cv2.CAP_ANY if isinstance(spec, int) else cv2.CAP_FFMPEG, params
            )
        if not capture.isOpened():
            capture.release()
            raise InputError(f"no decodable video in {spec}")
        return capture

    def _read_info(self) -> SourceInfo:
        cap = self._capture
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps < 1000 else 25.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.live else 0
        return SourceInfo(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps,
            frame_count=max(count, 0),
            live=self.live,
        )

    def frames(self) -> Iterator[GrabbedFrame]:
        """Grab every frame in order; stops at the end of a file or when a live source drops."""
        started = self.clock_origin if self.clock_origin is not None else time.monotonic()
        index = -1
        last_t = -math.inf
        while True:
            if not self._capture.grab():
                self._note_end(index)
                return
            index += 1
            t = time.monotonic() - started if self.live else self._file_time(index, last_t)
            last_t = t
            yield GrabbedFrame(index=index, t=t, _capture=self._capture)

    def _file_time(self, index: int, last_t: float) -> float:
        # Container timestamps drive the rules; some AVI files report nothing useful, so fall
        # back to index / fps when the reported time does not move forward.
        msec = self._capture.get(cv2.CAP_PROP_POS_MSEC)
        t = msec / 1000.0
        if not math.isfinite(t) or t <= last_t or (index > 0 and t == 0.0):
            t = max(index / self.info.fps, last_t + 1e-6)
        return t

    def _note_end(self, last_index: int) -> None:
        if last_index < 0:
            if not self.live:
                raise InputError(f"no decodable video in {self.spec}")
            return
        expected = self.info.frame_count
        if not self.live and expected and last_index + 1 < expected * 0.98:
            self.truncated = True
            log.warning(
                "%s: video ends after frame %d of %d (truncated or damaged); processed up to there",
                self.spec,
                last_index + 1,
                expected,
            )

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
