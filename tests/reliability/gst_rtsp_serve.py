"""A minimal RTSP server for the reliability tests, run with Debian's /usr/bin/python3
(python3-gi and GStreamer's RTSP server); the project's venv cannot import `gi`.

    /usr/bin/python3 gst_rtsp_serve.py --port 8554 --path /cam --file loop.h264 --fps 10
    /usr/bin/python3 gst_rtsp_serve.py --check    # exit 0, or 1 naming what is missing

Serves an H.264 Annex B file looped for ever at `--fps`, without re-encoding, on 127.0.0.1
only. Prints `ready` once it listens; `rtsp_server.py` starts, kills and restarts it.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ELEMENTS = ("multifilesrc", "h264parse", "rtph264pay")


def launch_line(path: str, fps: int) -> str:
    # multifilesrc with loop=true sends the file again and again as one continuous byte
    # stream, so h264parse stamps frames at `fps` without a jump at each loop; the
    # server's sink then paces them in real time. config-interval=-1 repeats SPS/PPS at
    # every keyframe so a client that joins mid-stream can decode.
    caps = f"video/x-h264,stream-format=byte-stream,framerate={fps}/1"
    return (
        f'( multifilesrc location="{path}" loop=true caps="{caps}" '
        "! h264parse name=parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def stamp_pts(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
    # h264parse only interpolates DTS for a bare byte stream, and RTP timestamps come from
    # PTS: without it every packet carries the same time and FFmpeg clients probe for 5 s.
    # The test files have no B-frames, so presentation order is decoding order.
    buffer = info.get_buffer()
    buffer.pts = buffer.dts
    return Gst.PadProbeReturn.OK


def on_media(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    parse = media.get_element().get_by_name("parse")
    parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, stamp_pts)


def missing_elements() -> list[str]:
    return [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="only check the plugins")
    parser.add_argument("--port", type=int)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--file")
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args()
    Gst.init(None)
    if args.check:
        missing = missing_elements()
        if missing:
            print("GStreamer elements missing: " + ", ".join(missing), file=sys.stderr)
        return 1 if missing else 0
    if args.port is None or args.file is None:
        parser.error("--port and --file are required")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.file, args.fps))
    factory.set_shared(True)  # one pipeline for every client, as a camera has one sensor
    factory.connect("media-configure", on_media)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
