"""Corrupt frames in a stream are skipped and counted; the rest of the video is analysed and
the violation in it is still found."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from models.scripted import Scene, parked
from tests.pipeline.harness import run_scene, zone

BAD_FRAMES = {30, 31, 55, 90, 140}  # frame numbers whose packets are replaced by garbage


def corrupt_copy(video: Path, out: Path, bad: set[int]) -> Path:
    """Re-encode `video` as MJPEG in Matroska, replacing the packets of frames `bad` with
    bytes no decoder accepts (as a damaged network packet would)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("mjpeg", rate=round(fps))
        stream.pix_fmt = "yuvj420p"
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if index == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                if index in bad:
                    damaged = av.Packet(b"\xff\xd8\xff\xc0\x00\x03" + b"\x00" * 64)
                    damaged.pts, damaged.dts = packet.pts, packet.dts
                    damaged.time_base, damaged.stream = packet.time_base, stream
                    packet = damaged
                container.mux(packet)
            index += 1
        for packet in stream.encode():
            container.mux(packet)
    capture.release()
    return out


@pytest.mark.parametrize("reader", ["pyav", "opencv"])
def test_corrupt_frames_are_skipped_counted_and_the_violation_still_found(
    tmp_path: Path, reader: str
) -> None:
    scene = Scene(320, 180, 10.0, 20.0, [parked("car", (40, 100, 110, 140), 2, 19)], seed=4)
    outcome = run_scene(scene, [zone(dwell_s=5)], tmp_path / "clean", reader=reader)
    assert len(outcome.records) == 1 and outcome.result.corrupt_frames == 0

    # The same scene, its video re-muxed with five damaged frames; detections stay recorded
    # by time, so only the picture path (decode, evidence) meets the damage.
    damaged = corrupt_copy(
        tmp_path / "clean" / "scene" / "scene.mp4", tmp_path / "damaged.mkv", BAD_FRAMES
    )
    result = run_scene(
        scene,
        [zone(dwell_s=5)],
        tmp_path / "damaged",
        reader=reader,
        video_override=damaged,
        decode="all" if reader == "pyav" else "auto",
    )
    assert result.result.corrupt_frames == len(BAD_FRAMES), result.result
    assert result.result.frames_read >= 195
    assert len(result.records) == 1 and result.failures == 0
