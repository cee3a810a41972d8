"""PostgreSQL stopped hard (`pg_ctl stop -m immediate`) and restarted, twice, while a live
camera keeps opening incidents: the incidents wait in the on-disk queue and are written when
the server is back; every incident the analysis opened ends up in the database exactly once,
with all its evidence (SHA-256 checked), its latest presence, and the queue empty.

The test runs its own cluster (initdb + pg_ctl as the `postgres` OS user) on a free port, so
it never touches the server other tests use.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.base import Detector
from detector.types import Detections, Frame
from pipeline.evidence import EvidenceWriter, sha256_file
from pipeline.incidents import PresenceChanged
from pipeline.live import LiveCamera
from pipeline.pending_queue import pending_dir_for, queued_incident_ids
from pipeline.records import EvidenceKind, IncidentRecord
from pipeline.recovery import recover, verify
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.sources import SourceInfo
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import EvidenceRow
from tests.pipeline.harness import app_config, zone

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ALL_KINDS = {
    EvidenceKind.first_seen,
    EvidenceKind.alert_clean,
    EvidenceKind.alert_annotated,
    EvidenceKind.clip,
}
# Car k parks at SPOTS[k] from 0.3 + 0.5 k s for STAY_S seconds: an incident about every
# half second for 16 s, each followed by its clip and a presence change when the car leaves.
SPOTS = [(40 + 70 * c, 60 + 70 * r, 90 + 70 * c, 100 + 70 * r) for r in range(4) for c in range(8)]
STAY_S = 4.0
RUN_S = 21.0
OUTAGES = [(3.0, 8.0), (11.0, 15.0)]  # (stop, start) in seconds after the camera starts


def _arrive(k: int) -> float:
    return 0.3 + 0.5 * k


def _pg_bin() -> Path | None:
    for version in ("15", "16", "17", "14"):
        folder = Path(f"/usr/lib/postgresql/{version}/bin")
        if (folder / "pg_ctl").is_file() and (folder / "initdb").is_file():
            return folder
    return None


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root, to run initdb and pg_ctl as the postgres user"
    if _pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql"
    if shutil.which("runuser") is None:
        return "runuser not found"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres OS user"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgCluster:
    """A throw-away PostgreSQL cluster in its own folder, run as the postgres user."""

    def __init__(self, bindir: Path, folder: Path, port: int) -> None:
        self.bindir, self.folder, self.port = bindir, folder, port
        self.data = folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", str(self.bindir / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-t", "30", "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    bindir = _pg_bin()
    assert bindir is not None
    # Not under pytest's tmp_path: its parents are private to root, the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="sw-pg-"))
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    pg = PgCluster(bindir, folder, _free_port())
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(pg.data),
             "-m", "immediate", "stop"],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


class GridDetector(Detector):
    """Sees car k at SPOTS[k] while it is parked."""

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            here = [
                [float(v) for v in s]
                for k, s in enumerate(SPOTS)
                if _arrive(k) <= frame.t < _arrive(k) + STAY_S
            ]
            out.append(Detections.from_lists(here, [0.9] * len(here), [0] * len(here), ("car",)))
        return out


# Blocky texture: detailed enough not to count as a covered lens, cheap to JPEG-encode.
STREET = cv2.resize(
    np.random.default_rng(3).integers(0, 255, (36, 64, 3), dtype=np.uint8),
    (640, 360),
    interpolation=cv2.INTER_NEAREST,
)


class _Grabbed:
    def __init__(self, index: int, t: float) -> None:
        self.index, self.t = index, t

    def retrieve(self) -> np.ndarray:
        return STREET.copy()


class PacedSource:
    """A live-like source: 10 frames a second in real time for RUN_S seconds."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.info = SourceInfo(width=640, height=360, fps=10.0, frame_count=0, live=True)

    def frames(self) -> Iterator[_Grabbed]:
        index = 0
        while time.monotonic() - self.origin < RUN_S:
            time.sleep(0.1)
            yield _Grabbed(index, time.monotonic() - self.origin)
            index += 1

    def __enter__(self) -> PacedSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _paced(_spec: Any, origin: float) -> Any:  # Any: a stand-in for a live VideoSource
    return PacedSource(origin)


class RecordingSink(IncidentSink):
    """Remembers what the analysis handed over, and when."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened_at: dict[str, float] = {}
        self.last_presence: dict[str, PresenceChanged] = {}

    def opened(self, record: IncidentRecord, pictures: AlertPictures) -> None:
        self.opened_at[record.id] = time.monotonic()
        super().opened(record, pictures)

    def presence(self, change: PresenceChanged) -> None:
        self.last_presence[change.incident_id] = change
        super().presence(change)


def _outages(pg: PgCluster, started: float, log: list[tuple[float, float]]) -> None:
    for stop_at, start_at in OUTAGES:
        time.sleep(max(0.0, started + stop_at - time.monotonic()))
        down = time.monotonic()
        pg.stop("immediate")
        time.sleep(max(0.0, started + start_at - time.monotonic()))
        pg.start()
        log.append((down, time.monotonic()))


def test_incidents_opened_while_postgres_restarts_are_all_stored_once(
    cluster: PgCluster, tmp_path: Path
) -> None:
    engine = make_engine(cluster.url)
    migrate(engine)
    store = IncidentStore(engine)
    evidence = tmp_path / "evidence"
    app = app_config([zone(dwell_s=1, max_gap_s=1)], detect_fps=5.0)
    app.evidence.pre_s = app.evidence.post_s = 1.0
    sink = RecordingSink(EvidenceWriter(evidence), store, retry_max_s=1.0, close_drain_s=30.0)
    camera = LiveCamera(app, app.cameras[0], GridDetector(), sink, store, open_source=_paced)
    outages: list[tuple[float, float]] = []
    started = time.monotonic()
    camera.start()
    restarts = threading.Thread(target=_outages, args=(cluster, started, outages))
    restarts.start()
    restarts.join()
    deadline = started + RUN_S + 3.0
    while time.monotonic() < deadline and camera.status.frames_read < 10 * RUN_S - 5:
        time.sleep(0.2)
    camera.stop()
    sink.close()

    # The outages happened, incidents were opened during them, and their writes waited.
    assert len(outages) == 2
    during = [
        i for i, at in sink.opened_at.items() if any(down <= at <= up for down, up in outages)
    ]
    assert len(during) >= 8, f"only {len(during)} incidents opened while the server was down"
    pending = sink.stats.pending
    assert pending.queued >= len(during)
    assert (pending.replayed, pending.dropped, pending.depth) == (pending.queued, 0, 0)
    assert sink.stats.failures == 0
    # The camera kept analysing through both outages.
    assert camera.status.frames_detected >= 5 * RUN_S * 0.8

    opened = set(sink.opened_at)
    assert len(opened) == len(SPOTS)
    with Session(engine) as session:
        per_incident = dict(
            session.execute(
                select(EvidenceRow.incident_id, func.count()).group_by(EvidenceRow.incident_id)
            ).all()
        )
    stored = store.list_incidents("cam-1")
    assert sorted(r.id for r in stored) == sorted(opened)  # every one, exactly once
    for rec in stored:
        assert {e.kind for e in rec.evidence} == ALL_KINDS, rec.id
        assert per_incident[rec.id] == len(ALL_KINDS)
        for file in rec.evidence:
            assert sha256_file(evidence / file.path) == file.sha256
        last = sink.last_presence.get(rec.id)
        if last is not None:  # presence updates were applied in order, the last one wins
            assert (rec.presence, rec.last_seen_s) == (last.presence, last.last_seen_s)
    assert sum(r.presence == "ended" for r in stored) >= len(SPOTS) // 2

    assert verify(engine, evidence).problems == []
    assert queued_incident_ids(pending_dir_for(evidence)) == set()
    assert recover(engine, evidence).orphans == []
    engine.dispose()
