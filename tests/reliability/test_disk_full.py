"""The evidence disk fills up while a camera runs, and is freed again.

Evidence lives on a small tmpfs (we are root in CI); where mounting is refused the writer is
replaced by one that raises ENOSPC, the error a full disk gives. While the disk is full each
affected incident is still stored, with the evidence it has and an `evidence.missing` audit
note, and one error line names the incident, the camera and the cause. The camera keeps
analysing, no temporary or unreferenced file is left, no row points at a missing file,
`verify` passes, and incidents after the disk is freed are whole again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from detector import DetectorConfig, create_detector
from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Scene, parked, write_bundle
from pipeline.evidence import EvidenceWriter
from pipeline.process import process_video
from pipeline.readers import open_source
from pipeline.records import EvidenceFile, EvidenceKind
from pipeline.recovery import recover, verify
from pipeline.sink import IncidentSink
from pipeline.store import audit
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import EVIDENCE_MISSING_ACTION, IncidentStore
from tests.pipeline.harness import START, app_config, zone

pytestmark = pytest.mark.slow

ALL_KINDS = {
    EvidenceKind.first_seen,
    EvidenceKind.alert_clean,
    EvidenceKind.alert_annotated,
    EvidenceKind.clip,
}
PICTURES = ALL_KINDS - {EvidenceKind.clip}
FILL_AT_S, FREE_AT_S = 10.5, 21.5  # stream seconds
CARS = 8


class FullDisk:
    """Fills and frees the evidence disk: a real tmpfs when it can be mounted, else a
    writer double that raises ENOSPC."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mounted = False
        self.full = False

    def mount(self) -> None:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(self.root)],
                capture_output=True,
                check=False,
            )
            self.mounted = done.returncode == 0

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], check=False)

    @property
    def filler(self) -> Path:
        return self.root / "filler.bin"

    def fill(self) -> None:
        self.full = True
        if not self.mounted:
            return
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            with contextlib.suppress(OSError):  # close may flush into the full disk
                os.close(fd)

    def free(self) -> None:
        self.full = False
        self.filler.unlink(missing_ok=True)


class ENOSPCWriter(EvidenceWriter):
    """The fallback: refuses every write while the disk counts as full."""

    def __init__(self, root: Path, disk: FullDisk) -> None:
        super().__init__(root)
        self.disk = disk

    def _refuse(self) -> None:
        if self.disk.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write_image(self, *args: Any, **kwargs: Any) -> EvidenceFile:
        self._refuse()
        return super().write_image(*args, **kwargs)

    def write_clip(self, *args: Any, **kwargs: Any) -> EvidenceFile:
        self._refuse()
        return super().write_clip(*args, **kwargs)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FullDisk]:
    disk = FullDisk(tmp_path / "evidence")
    disk.mount()
    try:
        yield disk
    finally:
        disk.unmount()


@dataclass
class PacedDetector(Detector):
    """The replay detector at about 20 frames a second of wall time (so the sink keeps up
    with the stream), filling the disk at FILL_AT_S and freeing it at FREE_AT_S."""

    inner: Detector
    disk: FullDisk

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inner.class_names

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        t = frames[0].t
        if FILL_AT_S <= t < FREE_AT_S and not self.disk.full:
            self.disk.fill()
        elif t >= FREE_AT_S and self.disk.full:
            self.disk.free()
        time.sleep(0.05)
        return self.inner.detect(frames)


def _scene() -> Scene:
    # Each car comes down its own column and parks at the curb; one every 4 s.
    cars = []
    for k in range(CARS):
        x = 20 + 75 * k
        cars.append(
            parked("car", (x, 120, x + 50, 160), 1 + 4 * k, 9 + 4 * k, approach=(x, 0, x + 50, 40))
        )
    return Scene(640, 180, 5.0, 40.0, cars, seed=3)


def _missing_notes(store: IncidentStore, incident_id: str) -> list[dict[str, Any]]:
    with Session(store.engine) as session:
        return [
            e.detail
            for e in audit.entries_for_incident(session, incident_id)
            if e.action == EVIDENCE_MISSING_ACTION
        ]


def test_a_full_evidence_disk_keeps_the_camera_running_and_corrupts_nothing(
    disk: FullDisk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    files = write_bundle(_scene(), tmp_path / "scene", "full")
    app = app_config(
        [zone(dwell_s=3, polygon=[[0, 0.55], [1, 0.55], [1, 1], [0, 1]])],
        files["detections"],
        detect_fps=5.0,
    )
    app.evidence.pre_s = app.evidence.post_s = 2.0
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    store = IncidentStore(engine)
    writer = EvidenceWriter(disk.root) if disk.mounted else ENOSPCWriter(disk.root, disk)
    sink = IncidentSink(writer, store)
    replay = create_detector(DetectorConfig(type="replay", model=files["detections"]))
    detector = PacedDetector(replay, disk)
    with open_source(app.cameras[0], str(files["video"])) as source:
        try:
            result = process_video(source, app, app.cameras[0], detector, sink, START, store)
        finally:
            sink.close()
    assert not disk.full

    # The camera analysed every frame and alerted on every car, full disk or not.
    assert result.frames_detected == 200
    assert result.incidents == CARS
    records = store.list_incidents("cam-1")
    assert len(records) == CARS and sink.stats.failures == 0

    hit = [r for r in records if FILL_AT_S + 0.5 < r.alert_s < FREE_AT_S - 0.5]
    after = [r for r in records if r.alert_s > FREE_AT_S + 0.5]
    assert len(hit) >= 2 and len(after) >= 2, [r.alert_s for r in records]
    for rec in records:
        have = {e.kind for e in rec.evidence}
        noted = {EvidenceKind(k) for n in _missing_notes(store, rec.id) for k in n["kinds"]}
        # Every kind is either stored or noted as missing, never both, never neither.
        assert have | noted == ALL_KINDS and not have & noted, (rec.id, have, noted)
    for rec in hit:
        assert not {e.kind for e in rec.evidence} & PICTURES
        [note, *_] = _missing_notes(store, rec.id)
        assert set(note["kinds"]) >= {k.value for k in PICTURES}
        assert note["reason"] == "No space left on device"
    for rec in after:
        assert {e.kind for e in rec.evidence} == ALL_KINDS
    assert sink.stats.evidence_missing >= len(hit)

    # Clear one-line errors naming camera, incident and cause (one for the pictures, one
    # for the clip if that failed too); no traceback for this expected condition.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in errors if r.exc_info], "a full disk must not log tracebacks"
    for rec in hit:
        lines = [r.getMessage() for r in errors if rec.id in r.getMessage()]
        assert any("alert_clean" in line for line in lines)
        for line in lines:
            assert "camera cam-1" in line and "No space left on device" in line
            assert "\n" not in line

    # Nothing corrupt, nothing stray: every file on disk is a stored, verified piece of evidence.
    evidence = disk.root
    assert verify(engine, evidence).problems == []
    assert recover(engine, evidence).orphans == []
    on_disk = {
        p.relative_to(evidence).as_posix()
        for p in evidence.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    assert not list(evidence.rglob(".tmp-*"))
    assert on_disk == {e.path for r in store.list_incidents() for e in r.evidence}
    engine.dispose()


def test_the_fallback_writer_refuses_like_a_full_disk(tmp_path: Path) -> None:
    # Keeps the double honest where the tmpfs path runs instead.
    disk = FullDisk(tmp_path / "evidence")
    writer = ENOSPCWriter(disk.root, disk)
    disk.full = True
    with pytest.raises(OSError) as raised:
        writer.write_image(
            "abcd", EvidenceKind.alert_clean, image_bgr=np.zeros((8, 8, 3), np.uint8)
        )
    assert raised.value.errno == errno.ENOSPC and not disk.root.exists()
