"""H.264/MP4 encoding of evidence clips from the JPEG frames kept in the ring buffer.

Kept apart from `pipeline.evidence` so the file handling there stays small; this module
only turns (stream time, JPEG) pairs into an MP4 file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Millisecond timestamps keep the real frame spacing of variable-rate camera streams.
TIME_BASE = Fraction(1, 1000)
CRF = 26
PRESET = "veryfast"
KEYFRAME_INTERVAL_S = 2.0
# JPEG can be decoded at 1/2, 1/4 or 1/8 scale for a fraction of the full cost.
_REDUCED_READ_FLAGS = {
    8: cv2.IMREAD_REDUCED_COLOR_8,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    1: cv2.IMREAD_COLOR,
}


class EvidenceError(Exception):
    """Evidence could not be produced (no frames, undecodable input, encoder failure)."""


def output_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Even dimensions no wider than `max_width`, keeping the aspect ratio."""
    if width <= 0 or height <= 0:
        raise EvidenceError(f"bad frame size {width}x{height}")
    scale = min(1.0, max_width / width)
    out_w = max(2, int(width * scale) // 2 * 2)
    out_h = max(2, round(height * scale) // 2 * 2)
    return out_w, out_h


def next_pts(t: float, start_t: float, last_pts: int) -> int:
    """Millisecond pts of a frame at stream time `t`, kept strictly increasing."""
    return max(last_pts + 1, round((t - start_t) * 1000))


def _decode(jpeg: bytes, flag: int) -> np.ndarray | None:
    return cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), flag)


def _first_decodable(
    frames: Sequence[tuple[float, bytes]],
) -> tuple[int, np.ndarray]:
    for index, (t, jpeg) in enumerate(frames):
        image = _decode(jpeg, cv2.IMREAD_COLOR)
        if image is not None:
            return index, image
        logger.warning("clip frame at %.3f s is not a decodable JPEG; skipped", t)
    raise EvidenceError(f"none of the {len(frames)} clip frames could be decoded")


def _read_flag(src_width: int, out_width: int) -> int:
    for factor, flag in _REDUCED_READ_FLAGS.items():
        if src_width // factor >= out_width:
            return flag
    return cv2.IMREAD_COLOR


def _images(
    frames: Sequence[tuple[float, bytes]], max_width: int
) -> tuple[tuple[int, int], Iterator[tuple[float, np.ndarray]]]:
    """The clip size and a lazy stream of decoded frames (never all in memory at once)."""
    start, first = _first_decodable(frames)
    size = output_size(first.shape[1], first.shape[0], max_width)
    flag = _read_flag(first.shape[1], size[0])

    def generate() -> Iterator[tuple[float, np.ndarray]]:
        yield frames[start][0], first
        for t, jpeg in frames[start + 1 :]:
            image = _decode(jpeg, flag)
            if image is None:
                logger.warning("clip frame at %.3f s is not a decodable JPEG; skipped", t)
                continue
            yield t, image

    return size, generate()


def _add_video_stream(
    container: av.container.OutputContainer, width: int, height: int, fps: float
) -> av.VideoStream:
    stream = container.add_stream(
        "libx264",
        rate=Fraction(fps).limit_denominator(1000),
        options={"crf": str(CRF), "preset": PRESET},
    )
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.time_base = TIME_BASE
    stream.codec_context.time_base = TIME_BASE
    stream.codec_context.gop_size = max(1, round(fps * KEYFRAME_INTERVAL_S))
    # 0 lets x264 pick its thread count from the cores; it encodes while we decode JPEGs.
    stream.codec_context.thread_count = 0
    return stream


def _to_video_frame(image: np.ndarray, size: tuple[int, int], pts: int) -> av.VideoFrame:
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # OpenCV's BGR->I420 matches swscale's BT.601 limited range and is about 10x faster.
    i420 = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(i420, "yuv420p")
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


def encode_clip(
    path: Path, frames: Sequence[tuple[float, bytes]], fps: float, max_width: int = 1280
) -> int:
    """Encode `frames` (stream time, JPEG bytes) into an MP4 at `path`; returns frames written.

    The file is written in place (the muxer re-reads it for `+faststart`), so callers
    should pass a temporary name and rename it when done.
    """
    if not frames:
        raise EvidenceError("cannot write a clip without frames")
    if fps <= 0:
        raise EvidenceError(f"clip fps must be positive, got {fps}")
    size, images = _images(frames, max_width)
    count = 0
    last_pts = -1
    start_t: float | None = None
    try:
        with av.open(
            os.fspath(path), mode="w", format="mp4", options={"movflags": "+faststart"}
        ) as container:
            stream = _add_video_stream(container, size[0], size[1], fps)
            for t, image in images:
                start_t = t if start_t is None else start_t
                last_pts = next_pts(t, start_t, last_pts)
                container.mux(stream.encode(_to_video_frame(image, size, last_pts)))
                count += 1
            container.mux(stream.encode(None))
    except av.FFmpegError as exc:
        raise EvidenceError(f"clip encoding failed: {exc}") from exc
    logger.debug("encoded %d frames at %dx%d into %s", count, size[0], size[1], path.name)
    return count
