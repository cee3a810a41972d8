"""Video sources read with PyAV at the packet level, for density.

OpenCV's `grab()` still decodes every frame. Reading packets lets a camera decode only its
keyframes when the stream's keyframe interval is short enough for one detection per second
(most city cameras send a keyframe every 1-2 s), and keep its pre-roll as compressed packets.
Evidence clips are decoded from those packets only when an incident happens.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

from pipeline.errors import InputError
from pipeline.sources import SourceInfo, check_frame_size, check_video_file, is_live

log = logging.getLogger(__name__)

DecodeMode = Literal["auto", "keyframes", "all"]


@dataclass(frozen=True, slots=True)
class CodecInfo:
    """What a decoder needs to turn this stream's packets back into pictures later."""

    name: str
    extradata: bytes | None
    width: int
    height: int
    time_base: Fraction


@dataclass(frozen=True, slots=True)
class SourcePacket:
    t: float
    data: bytes
    pts: int | None
    dts: int | None
    is_key: bool


@dataclass(slots=True)
class DecodedFrame:
    t: float
    frame: av.VideoFrame

    def to_bgr(self) -> npt.NDArray[np.uint8]:
        return np.asarray(self.frame.to_ndarray(format="bgr24"), dtype=np.uint8)


@dataclass(slots=True)
class SourceItem:
    packet: SourcePacket
    frames: list[DecodedFrame] = field(default_factory=list)


class PacketSource:
    """Yields every video packet with the frames decoded from it (all frames, or keyframes
    only once the keyframe interval is known to be short enough).

    >>> with PacketSource("street.mp4", detect_fps=1.0) as src:  # doctest: +SKIP
    ...     for item in src.items():
    ...         pictures = [f.to_bgr() for f in item.frames]
    """

    def __init__(
        self,
        spec: str | int,
        detect_fps: float = 1.0,
        decode: DecodeMode = "auto",
        clock_origin: float | None = None,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.spec = spec
        self.live = is_live(spec)
        self.detect_fps = detect_fps
        self.mode: DecodeMode = decode
        self.clock_origin = clock_origin
        self.corrupt_frames = 0
        self.truncated = False
        self._container = self._open(spec, open_timeout_s)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "SLICE"  # frame threads would delay frames behind packets
        self.codec = self._codec_info()
        self.info = self._read_info()
        try:
            check_frame_size(self.info.width, self.info.height, spec)
        except InputError:
            self.close()
            raise
        self._keyframes: list[float] = []

    def _open(self, spec: str | int, timeout_s: float) -> av.container.InputContainer:
        if not self.live:
            check_video_file(Path(str(spec)))
        options = {"rtsp_transport": "tcp"} if str(spec).startswith("rtsp") else {}
        try:
            container = av.open(str(spec), options=options, timeout=(timeout_s, timeout_s))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"no decodable video in {spec}: {exc}") from None
        if not container.streams.video:
            container.close()
            raise InputError(f"no decodable video in {spec}: it has no video stream")
        if container.streams.video[0].codec_context is None:
            container.close()
            raise InputError(f"no decodable video in {spec}: FFmpeg has no decoder for its codec")
        return container

    def _codec_info(self) -> CodecInfo:
        ctx = self._stream.codec_context
        return CodecInfo(
            name=ctx.name,
            extradata=bytes(ctx.extradata) if ctx.extradata else None,
            width=ctx.width,
            height=ctx.height,
            time_base=self._stream.time_base or Fraction(1, 90000),
        )

    def _read_info(self) -> SourceInfo:
        rate = self._stream.average_rate or self._stream.guessed_rate
        fps = float(rate) if rate else 25.0
        frames = self._stream.frames or 0
        if not frames and self._stream.duration and self._stream.time_base:
            frames = round(float(self._stream.duration * self._stream.time_base) * fps)
        return SourceInfo(
            self.codec.width, self.codec.height, fps, 0 if self.live else frames, self.live
        )

    def items(self) -> Iterator[SourceItem]:
        started = self.clock_origin if self.clock_origin is not None else time.monotonic()
        last_t = -math.inf
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:
                    continue
                t = self._packet_time(packet, started, last_t)
                last_t = t
                item = SourceItem(
                    SourcePacket(t, bytes(packet), packet.pts, packet.dts, packet.is_keyframe)
                )
                item.frames = self._decode(packet, started)
                yield item
        except av.FFmpegError as exc:
            if not self.live:
                self.truncated = True
                log.warning("%s: stopped reading at %.1f s: %s", self.spec, last_t, exc)

    def _packet_time(self, packet: av.Packet, started: float, last_t: float) -> float:
        if self.live:
            return time.monotonic() - started
        if packet.pts is None or packet.time_base is None:
            return last_t + 1.0 / self.info.fps
        return float(packet.pts * packet.time_base)

    def _decode(self, packet: av.Packet, started: float) -> list[DecodedFrame]:
        if packet.is_keyframe:
            self._note_keyframe(
                float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
            )
        if self.mode == "keyframes" and not packet.is_keyframe:
            return []
        try:
            frames = self._stream.codec_context.decode(packet)
        except av.FFmpegError:
            self.corrupt_frames += 1
            return []
        out = []
        for frame in frames:
            t = time.monotonic() - started if self.live or frame.time is None else float(frame.time)
            out.append(DecodedFrame(t, frame))
        return out

    def _note_keyframe(self, t: float) -> None:
        if self.mode != "auto":
            return
        self._keyframes.append(t)
        if len(self._keyframes) < 3:
            return
        interval = self._keyframes[-1] - self._keyframes[-2]
        # Keyframes alone serve when they come at least as often as the detections need
        # (with a little slack for cameras that send one every 1.2 s at 1 detection/s).
        self.mode = "keyframes" if interval <= 1.5 / self.detect_fps else "all"
        if self.mode == "keyframes":
            self._stream.codec_context.skip_frame = "NONKEY"
        log.info("%s: keyframe every %.2f s, decoding %s", self.spec, interval, self.mode)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> PacketSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
