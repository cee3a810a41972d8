"""Turn a clip's compressed packets back into frames at the clip rate, off the analysis
path (the sink's thread), only for the few moments that became incidents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import av
import cv2
from av.video.codeccontext import VideoCodecContext

from pipeline.packet_source import CodecInfo, SourcePacket
from pipeline.sources import RateGate

ClipItems = Sequence[tuple[float, SourcePacket]]


def frames_from_packets(
    codec: CodecInfo, items: ClipItems, fps: float, from_t: float, jpeg_quality: int = 85
) -> list[tuple[float, bytes]]:
    """(stream time, JPEG) at `fps` from `from_t` on, decoded with a fresh decoder from the
    first keyframe (which may come earlier)."""
    first_key = next((i for i, (_, p) in enumerate(items) if p.is_key), None)
    if first_key is None:
        return []
    decoder = cast(VideoCodecContext, av.CodecContext.create(codec.name, "r"))
    if codec.extradata:
        decoder.extradata = codec.extradata
    gate = RateGate(fps)
    start_t = items[first_key][0]
    # Decoded frames carry the stream's own timestamps (an RTSP camera's start anywhere);
    # map them back to our stream time through the packets they came from.
    times = {p.pts: t for t, p in items if p.pts is not None}
    out: list[tuple[float, bytes]] = []
    t = start_t
    for _, packet in items[first_key:]:
        pkt = av.Packet(packet.data)
        pkt.pts, pkt.dts = packet.pts, packet.dts
        pkt.time_base = codec.time_base
        try:
            frames = decoder.decode(pkt)
        except av.FFmpegError:
            continue  # a damaged packet costs one picture, not the clip
        for frame in frames:
            t = times.get(frame.pts, t) if frame.pts is not None else t
            if t >= from_t - 1e-3 and gate.due(t - start_t):
                ok, buf = cv2.imencode(
                    ".jpg",
                    frame.to_ndarray(format="bgr24"),
                    [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality],
                )
                if ok:
                    out.append((t, buf.tobytes()))
    return out
