"""Evidence writer tests: atomic image/clip files, temp-file sweeping, annotation."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipeline.evidence import (
    EvidenceError,
    EvidenceWriter,
    annotate_alert,
    remove_incident_files,
    sha256_file,
    sweep_temporaries,
)
from pipeline.evidence_clip import output_size
from pipeline.records import EvidenceKind

INCIDENT = "3f2a9c1e-7b44-4d1a-9d7e-0c5b8a6f1e22"


def scene(step: int, width: int = 640, height: int = 360) -> np.ndarray:
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    x = 20 + step * 10
    cv2.rectangle(image, (x, 100), (x + 120, 220), (0, 180, 255), -1)
    return image


def jpeg_of(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return encoded.tobytes()


def temporaries(root: Path) -> list[Path]:
    return list(root.rglob(".tmp-*"))


def test_write_image_from_array_and_jpeg(tmp_path: Path) -> None:
    writer = EvidenceWriter(tmp_path)
    stored = writer.write_image(INCIDENT, EvidenceKind.alert_clean, image_bgr=scene(0))
    path = tmp_path / stored.path
    assert stored.path == f"3f/{INCIDENT}/alert_clean.jpg"
    assert path.is_file()
    assert stored.sha256 == sha256_file(path)
    assert stored.size_bytes == path.stat().st_size
    assert stored.media_type == "image/jpeg"
    decoded = cv2.imread(str(path))
    assert decoded is not None and decoded.shape == (360, 640, 3)

    raw = jpeg_of(scene(3))
    first = writer.write_image(INCIDENT, EvidenceKind.first_seen, jpeg=raw)
    assert (tmp_path / first.path).read_bytes() == raw
    assert first.sha256 == hashlib.sha256(raw).hexdigest()
    assert temporaries(tmp_path) == []


def test_write_image_rejects_bad_input(tmp_path: Path) -> None:
    writer = EvidenceWriter(tmp_path)
    with pytest.raises(EvidenceError):
        writer.write_image(INCIDENT, EvidenceKind.first_seen)
    with pytest.raises(EvidenceError):
        writer.write_image(INCIDENT, EvidenceKind.first_seen, jpeg=b"not a jpeg")
    with pytest.raises(EvidenceError):
        writer.write_image("../escape", EvidenceKind.first_seen, image_bgr=scene(0))
    with pytest.raises(EvidenceError):
        writer.write_image(INCIDENT, EvidenceKind.clip, image_bgr=scene(0))
    assert temporaries(tmp_path) == []


def test_write_clip_is_h264_with_stream_timing(tmp_path: Path) -> None:
    frames = [(100.0 + i / 10, jpeg_of(scene(i, 642, 362))) for i in range(40)]
    started = time.perf_counter()
    stored = EvidenceWriter(tmp_path).write_clip(INCIDENT, frames, fps=10.0)
    elapsed = time.perf_counter() - started
    path = tmp_path / stored.path
    assert stored.path == f"3f/{INCIDENT}/clip.mp4"
    assert (stored.kind, stored.media_type) == (EvidenceKind.clip, "video/mp4")
    assert stored.sha256 == sha256_file(path)
    assert stored.size_bytes == path.stat().st_size
    assert temporaries(tmp_path) == []
    assert elapsed < 5.0

    head = path.read_bytes()[:64]
    assert head.index(b"moov") < 64  # faststart: index before the media data
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.width, video.height) == (642, 362)
        decoded = list(container.decode(video))
        duration_s = (container.duration or 0) / 1_000_000
    assert abs(len(decoded) - 40) <= 1
    assert duration_s == pytest.approx(4.0, abs=0.2)
    assert decoded[-1].time == pytest.approx(3.9, abs=0.01)


def test_write_clip_downscales_to_even_size(tmp_path: Path) -> None:
    frames = [(i * 0.2, jpeg_of(scene(i, 1001, 601))) for i in range(5)]
    stored = EvidenceWriter(tmp_path).write_clip(INCIDENT, frames, fps=5.0, max_width=500)
    with av.open(str(tmp_path / stored.path)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (500, 300)
        assert len(list(container.decode(video))) == 5


def test_write_clip_without_frames_fails_cleanly(tmp_path: Path) -> None:
    writer = EvidenceWriter(tmp_path)
    with pytest.raises(EvidenceError, match="without frames"):
        writer.write_clip(INCIDENT, [], fps=10.0)
    with pytest.raises(EvidenceError, match="could be decoded"):
        writer.write_clip(INCIDENT, [(0.0, b"junk"), (0.1, b"more junk")], fps=10.0)
    assert temporaries(tmp_path) == []
    assert not (tmp_path / f"3f/{INCIDENT}/clip.mp4").exists()


def test_output_size_is_even_and_keeps_aspect() -> None:
    assert output_size(1920, 1080, 1280) == (1280, 720)
    assert output_size(1280, 720, 1280) == (1280, 720)
    assert output_size(641, 361, 1280) == (640, 360)
    with pytest.raises(EvidenceError):
        output_size(0, 10, 1280)


def test_sweep_temporaries_and_remove_incident_files(tmp_path: Path) -> None:
    writer = EvidenceWriter(tmp_path)
    kept = writer.write_image(INCIDENT, EvidenceKind.first_seen, image_bgr=scene(0))
    folder = tmp_path / "3f" / INCIDENT
    leftovers = [folder / ".tmp-clip-abc.mp4", folder / ".tmp-alert_clean-xyz"]
    for leftover in leftovers:
        leftover.write_bytes(b"partial")

    assert sorted(sweep_temporaries(tmp_path)) == sorted(leftovers)
    assert temporaries(tmp_path) == []
    assert (tmp_path / kept.path).is_file()
    assert sweep_temporaries(tmp_path / "missing") == []

    removed = remove_incident_files(tmp_path, INCIDENT)
    assert removed == [tmp_path / kept.path]
    assert not folder.exists()
    assert remove_incident_files(tmp_path, INCIDENT) == []


def test_annotate_alert_draws_on_a_copy() -> None:
    image = scene(0, 1280, 720)
    original = image.copy()
    box = (400.0, 300.0, 600.0, 500.0)
    zone = np.array([[350, 250], [700, 250], [700, 600], [350, 600]], dtype=np.int32)
    lines = ["cam-1 / bus-stop", "first seen 08:25:00", "alert 08:30:00"]

    out = annotate_alert(image, box, zone, lines)

    assert np.array_equal(image, original)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out[300, 400:600], image[300, 400:600])  # top edge of the box
    assert not np.array_equal(out[300:500, 400], image[300:500, 400])  # left edge
    assert not np.array_equal(out[260, 360], image[260, 360])  # zone fill tint
    assert out[5:40, 5:200].mean() < image[5:40, 5:200].mean()  # dark caption panel
    assert out[0:80, 0:400].max() >= 200  # white text inside it
    assert np.array_equal(out[700, 1200], image[700, 1200])  # far from everything
