"""Open a camera's source with the reader its config asks for."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import CameraConfig
from pipeline.packet_source import PacketSource
from pipeline.sources import VideoSource

Source = VideoSource | PacketSource
# Opens a camera's source (`spec`) with stream time counted from a monotonic `origin`.
SourceOpener = Callable[[str | int, float], Source]


def open_source(camera: CameraConfig, spec: str | int, clock_origin: float | None = None) -> Source:
    """`spec` overrides the camera's own source (a file given on the command line)."""
    if camera.reader == "pyav" and not isinstance(spec, int):
        return PacketSource(spec, camera.detect_fps, camera.decode, clock_origin)
    return VideoSource(spec, clock_origin=clock_origin)
