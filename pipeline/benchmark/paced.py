"""A file played as a live camera: looped, paced at real time, with live timestamps, so many
of them stand in for real RTSP cameras in a density benchmark."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from pipeline.packet_source import DecodedFrame, PacketSource, SourceItem, SourcePacket


class PacedLoop(PacketSource):
    """Yields the file's packets at the pace they were recorded, over and over, with stream
    time counted from `clock_origin`. `behind_s` is how late the newest packet came out: a
    reader that cannot keep up falls further behind."""

    def __init__(
        self, path: str, detect_fps: float, clock_origin: float, max_loops: int = 10_000
    ) -> None:
        super().__init__(path, detect_fps, "auto")
        # Played as a live camera: if it ever stops, the camera reconnects as to a stream.
        self.info = replace(self.info, live=True)
        self.path = path
        self.origin = clock_origin
        self.max_loops = max_loops
        self.behind_s = 0.0

    def items(self) -> Iterator[SourceItem]:
        offset = time.monotonic() - self.origin
        for _ in range(self.max_loops):
            last = 0.0
            for item in super().items():
                t = offset + item.packet.t
                last = item.packet.t
                self._pace(t)
                frames = [DecodedFrame(offset + f.t, f.frame) for f in item.frames]
                yield SourceItem(self._shifted(item.packet, t, offset), frames)
            offset += last + 1.0 / self.info.fps
            self._reopen()

    def _shifted(self, packet: SourcePacket, t: float, offset: float) -> SourcePacket:
        # Timestamps run on across loops, as they would on a camera that never stops.
        ticks = round(offset / self.codec.time_base)
        pts = None if packet.pts is None else packet.pts + ticks
        dts = None if packet.dts is None else packet.dts + ticks
        return replace(packet, t=t, pts=pts, dts=dts)

    def _pace(self, t: float) -> None:
        wait = self.origin + t - time.monotonic()
        if wait > 0:
            time.sleep(wait)
            self.behind_s = 0.0
        else:
            self.behind_s = -wait

    def _reopen(self) -> None:
        mode = self.mode
        self._container.close()
        self._container = self._open(self.path, 10.0)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "SLICE"
        if mode == "keyframes":
            self._stream.codec_context.skip_frame = "NONKEY"
