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

# Failed grabs in a row stepped over in a file before taking it as ending there.
MAX_DAMAGED_IN_A_ROW = 50

LIVE_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")

# The largest frame read: DCI 8K, about 106 MB per decoded BGR frame. Frame queues and
# evidence pre-roll hold many frames, so a bigger picture (or a header that claims one) would
# exhaust memory instead of failing clearly.
MAX_FRAME_WIDTH, MAX_FRAME_HEIGHT = 8192, 4320
MAX_FRAME_PIXELS = MAX_FRAME_WIDTH * MAX_FRAME_HEIGHT

# FFmpeg opens a still picture as a one-frame "video" with no timestamps; the first bytes
# tell them apart before it does.
_STILL_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


def is_live(spec: str | int) -> bool:
    return isinstance(spec, int) or str(spec).lower().startswith(LIVE_PREFIXES)


def check_video_file(path: Path) -> None:
    """Raise `InputError` saying what is wrong when `path` cannot be a video file: missing,
    a folder, unreadable, empty, or a still image."""
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video file")
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise InputError(f"cannot read video {path}: {exc.strerror}") from None
    if not head:
        raise InputError(f"no decodable video in {path}: the file is empty (0 bytes)")
    for signature, kind in _STILL_IMAGE_SIGNATURES:
        if head.startswith(signature):
            raise InputError(f"{path} is a {kind} still image, not a video")


def check_frame_size(width: int, height: int, spec: str | int) -> None:
    """Raise `InputError` for a picture above `MAX_FRAME_PIXELS`."""
    pixels = width * height
    if pixels > MAX_FRAME_PIXELS:
        raise InputError(
            f"video {spec} is {width}x{height} ({pixels / 1e6:.0f} megapixels); streetwatch "
            f"reads at most {MAX_FRAME_WIDTH}x{MAX_FRAME_HEIGHT} ({MAX_FRAME_PIXELS / 1e6:.1f} "
            "megapixels): scale it down first (ffmpeg -i IN -vf scale=3840:-2 OUT)"
        )


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
        try:
            check_frame_size(self.info.width, self.info.height, spec)
        except InputError:
            self.close()
            raise

    def _open(self, spec: str | int, timeout_s: float) -> cv2.VideoCapture:
        if not self.live:
            path = Path(str(spec))
            check_video_file(path)
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
            why = "" if self.live else ": not a video, damaged, or a codec FFmpeg cannot decode"
            raise InputError(f"no decodable video in {spec}{why}")
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
        """Grab every frame in order; stops at the end of a file or when a live source drops.
        A file's frames that fail to decode are skipped and counted in `corrupt_frames`."""
        started = self.clock_origin if self.clock_origin is not None else time.monotonic()
        index = -1
        last_t = -math.inf
        failed_in_a_row = 0
        while True:
            if not self._capture.grab():
                if self._may_skip(index, failed_in_a_row):
                    # A damaged frame mid-file: the next grab goes on with the next packet.
                    index += 1
                    failed_in_a_row += 1
                    continue
                # A run of failures that reaches the end is where the file stops, not damage.
                self.corrupt_frames -= failed_in_a_row
                self._note_end(index - failed_in_a_row)
                return
            if failed_in_a_row:
                log.warning("%s: skipped %d damaged frame(s)", self.spec, failed_in_a_row)
            failed_in_a_row = 0
            index += 1
            t = time.monotonic() - started if self.live else self._file_time(index, last_t)
            last_t = t
            yield GrabbedFrame(index=index, t=t, _capture=self._capture)

    def _may_skip(self, index: int, failed_in_a_row: int) -> bool:
        """Whether a failed grab at `index + 1` is a damaged frame to step over: only in a
        file whose frame count says more are coming, and not past MAX_DAMAGED_IN_A_ROW."""
        expected = self.info.frame_count
        if self.live or not expected or index + 1 >= expected:
            return False
        if failed_in_a_row >= MAX_DAMAGED_IN_A_ROW:
            return False
        self.corrupt_frames += 1
        return True

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
