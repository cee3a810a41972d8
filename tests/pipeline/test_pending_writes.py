"""Writes that wait for the database: the on-disk queue, its JSON form, replay in order after
an outage and after a restart, idempotent replays, and the queue's bounds.

The database outage is simulated here (a store that raises the OperationalError a dead
connection raises); tests/reliability/test_pg_restart.py restarts a real PostgreSQL."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from pipeline.evidence import EvidenceWriter, sha256_file
from pipeline.incidents import PresenceChanged
from pipeline.pending_queue import (
    PendingQueue,
    PendingQueueFull,
    adopt_orphans,
    queued_incident_ids,
)
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord, Presence
from pipeline.recovery import recover, verify
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from pipeline.store.writes import (
    AttachEvidence,
    MissingEvidence,
    StoreIncident,
    StoreWrite,
    UpdatePresence,
    write_from_json,
    write_to_json,
)

T0 = datetime(2026, 11, 23, 3, 0, 0, 125000, tzinfo=UTC)
PICTURES = {EvidenceKind.first_seen, EvidenceKind.alert_clean, EvidenceKind.alert_annotated}


def _dead_connection() -> OperationalError:
    return OperationalError("INSERT INTO incidents ...", {}, Exception("connection refused"))


class FlakyStore(IncidentStore):
    """An incident store whose database can be switched off, or can lose the
    acknowledgement of a commit that did happen."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.down = False
        self.lose_acks = 0  # this many next commits succeed but report a dead connection
        self.inserts = 0

    def _gate(self) -> None:
        if self.down:
            raise _dead_connection()

    def _ack(self) -> None:
        if self.lose_acks:
            self.lose_acks -= 1
            raise _dead_connection()

    def ensure_incident(
        self, record: IncidentRecord, missing: MissingEvidence | None = None
    ) -> bool:
        self._gate()
        inserted = super().ensure_incident(record, missing)
        self.inserts += inserted
        self._ack()
        return inserted

    def ensure_evidence(self, *args: Any, **kwargs: Any) -> list[EvidenceFile]:
        self._gate()
        added = super().ensure_evidence(*args, **kwargs)
        self._ack()
        return added

    def update_presence(self, *args: Any, **kwargs: Any) -> None:
        self._gate()
        super().update_presence(*args, **kwargs)
        self._ack()


@pytest.fixture
def store(tmp_path: Path) -> FlakyStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    return FlakyStore(engine)


def record(n: int = 0) -> IncidentRecord:
    at = T0 + timedelta(seconds=10 * n)
    return IncidentRecord(
        id=str(uuid.uuid4()),
        camera="cam-1",
        zone="curb",
        type="illegal_parking",
        severity="high",
        first_seen_s=1.0 + n,
        alert_s=4.0 + n,
        last_seen_s=4.0 + n,
        first_seen_at=at - timedelta(seconds=3),
        alert_at=at,
        last_seen_at=at,
        box=(10.0 + n, 20.0, 60.0 + n, 50.0),
        confidence=0.9,
        object_classes=["car"],
    )


def pictures() -> AlertPictures:
    image = np.full((90, 160, 3), 80, np.uint8)
    cv2.rectangle(image, (20, 30), (70, 60), (0, 0, 200), -1)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return AlertPictures(
        jpeg.tobytes(),
        jpeg.tobytes(),
        image,
        np.array([[0, 0], [159, 0], [159, 89], [0, 89]], np.int32),
        ["cam-1 / curb"],
    )


def clip_frames() -> list[tuple[float, bytes]]:
    _, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 120, np.uint8))
    return [(i / 5, jpeg.tobytes()) for i in range(5)]


def make_sink(store: IncidentStore, root: Path, **kwargs: Any) -> IncidentSink:
    kwargs.setdefault("retry_max_s", 0.2)
    kwargs.setdefault("close_drain_s", 2.0)
    return IncidentSink(EvidenceWriter(root), store, **kwargs)


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_write_survives_its_json_form() -> None:
    rec = record(3)
    rec.evidence = [
        EvidenceFile(EvidenceKind.first_seen, "ab/x/first_seen.jpg", "c" * 64, 9, "image/jpeg")
    ]
    rec.repeat_of = "earlier-id"
    missing = MissingEvidence((EvidenceKind.alert_annotated, EvidenceKind.clip), "disk full")
    writes: list[StoreWrite] = [
        StoreIncident(rec),
        StoreIncident(rec, missing),
        AttachEvidence(rec.id, tuple(rec.evidence)),
        AttachEvidence(rec.id, (), missing),
        UpdatePresence(
            rec.id, 12.25, T0 + timedelta(seconds=1.5), Presence.ended, (1.0, 2.0, 3.0, 4.5)
        ),
        UpdatePresence(rec.id, 12.25, T0, Presence.active, None),
    ]
    for write in writes:
        assert write_from_json(write_to_json(write)) == write


def test_queue_keeps_order_across_owners_and_respects_its_bounds(tmp_path: Path) -> None:
    root = tmp_path / "pending"
    queue = PendingQueue(root, max_entries=3)
    assert not root.exists()  # nothing on disk until something has to wait
    for n in range(3):
        queue.push("incident", f"id-{n}", {"n": n})
    with pytest.raises(PendingQueueFull, match="3 entries"):
        queue.push("incident", "id-3", {"n": 3})
    assert queued_incident_ids(root) == {"id-0", "id-1", "id-2"}
    # A second process sharing the folder writes to a queue of its own ...
    other = PendingQueue(root)
    other.push("incident", "id-9", {"n": 9})
    # ... and neither queue counts as an orphan while its owner lives.
    assert adopt_orphans(root) == []
    queue.close()  # the owner goes away with writes still waiting
    assert queue.folder is None
    [adopted] = adopt_orphans(root, max_entries=5)
    assert adopt_orphans(root) == []  # taken now
    head = adopted.head()
    assert head is not None and adopted.read(head) == {"n": 0}
    adopted.pop(head)
    adopted.push("presence", "id-0", {"n": 4})
    order = []
    while (entry := adopted.head()) is not None:
        order.append(adopted.read(entry)["n"])
        adopted.pop(entry)
    assert order == [1, 2, 4]
    adopted.close()
    other.close()
    assert queued_incident_ids(root) == {"id-9"}
    assert len(list(root.iterdir())) == 1  # the emptied folder is gone
    small = PendingQueue(tmp_path / "small", max_bytes=20)
    with pytest.raises(PendingQueueFull, match="bytes"):
        small.push("incident", "id-9", {"padding": "x" * 40})


def test_outage_queues_writes_in_order_and_drains_them_when_back(
    store: FlakyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    announced: list[str] = []
    sink = make_sink(store, tmp_path / "evidence", listeners=[lambda r: announced.append(r.id)])
    before = record(0)
    sink.opened(before, pictures())
    wait_until(lambda: before.id in sink.stats.stored_ids)
    store.down = True
    during = [record(n) for n in range(1, 4)]
    for rec in during:
        sink.opened(rec, pictures())
        sink.clip(rec.id, clip_frames(), 5.0)
    for rec in [before, *during]:
        sink.presence(
            PresenceChanged(rec.id, 9.0, T0 + timedelta(minutes=1), Presence.ended, rec.box)
        )
    wait_until(lambda: sink.stats.pending.depth == 10)  # 3 incidents, 3 clips, 4 presences
    assert sink.pending_writes == 10 and sink.stats.pending.waiting_since is not None
    assert [r.id for r in store.list_incidents()] == [before.id]
    assert "database unreachable" in caplog.text and "holding incident writes" in caplog.text
    store.down = False
    wait_until(lambda: sink.pending_writes == 0)
    sink.close()
    assert "queue empty" in caplog.text
    stored = {r.id: r for r in store.list_incidents()}
    assert set(stored) == {before.id, *(r.id for r in during)}
    for rec in during:
        assert {e.kind for e in stored[rec.id].evidence} == PICTURES | {EvidenceKind.clip}
    assert all(r.presence is Presence.ended for r in stored.values())
    assert announced == [before.id, *(r.id for r in during)]  # in order, once each
    assert sink.stats.incidents_written == 4 and sink.stats.clips_written == 3
    assert (sink.stats.pending.queued, sink.stats.pending.replayed) == (10, 10)
    assert sink.stats.failures == 0
    assert verify(store.engine, tmp_path / "evidence").problems == []


def test_a_commit_whose_acknowledgement_was_lost_is_not_stored_twice(
    store: FlakyStore, tmp_path: Path
) -> None:
    sink = make_sink(store, tmp_path / "evidence")
    rec = record()
    store.lose_acks = 2  # the incident insert and the clip attach: committed, reply lost
    sink.opened(rec, pictures())
    sink.clip(rec.id, clip_frames(), 5.0)
    sink.close()
    assert store.inserts == 1
    assert sink.stats.pending.queued == 2 and sink.stats.pending.replayed == 2
    assert store.count_rows()["incidents"] == 1
    [stored] = store.list_incidents()
    assert sorted(e.kind for e in stored.evidence) == sorted(PICTURES | {EvidenceKind.clip})
    assert sink.stats.incidents_written == 1 and sink.stats.stored_ids == {rec.id}


def test_writes_still_waiting_at_exit_are_kept_and_replayed_by_the_next_start(
    store: FlakyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    evidence = tmp_path / "evidence"
    store.down = True
    first = make_sink(store, evidence, close_drain_s=0.3)
    recs = [record(n) for n in range(3)]
    for rec in recs:
        first.opened(rec, pictures())
        first.clip(rec.id, clip_frames(), 5.0)
    first.close()
    assert first.pending_writes == 6
    assert "still waiting" in caplog.text
    # The next start, database back: recovery must not sweep the queued incidents' files.
    store.down = False
    report = recover(store.engine, evidence)
    assert report.orphans == [] and report.queued == 3
    second = make_sink(store, evidence)
    wait_until(lambda: second.pending_writes == 0)
    second.close()
    assert {r.id for r in store.list_incidents()} == {r.id for r in recs}
    assert second.stats.stored_ids == {r.id for r in recs}
    assert verify(store.engine, evidence).problems == []
    for rec in store.list_incidents():
        assert len(rec.evidence) == 4
        for file in rec.evidence:
            assert sha256_file(evidence / file.path) == file.sha256


def test_a_full_queue_drops_the_incident_loudly_and_leaves_no_files(
    store: FlakyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    evidence = tmp_path / "evidence"
    store.down = True
    sink = make_sink(store, evidence, max_pending=2, close_drain_s=0.2)
    recs = [record(n) for n in range(3)]
    for rec in recs:
        sink.opened(rec, pictures())
    sink.close()
    assert sink.stats.pending.depth == 2
    assert sink.stats.pending.dropped == 1 and sink.stats.failures == 1
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR
    assert recs[2].id in lost[0].getMessage() and "queue full" in lost[0].getMessage()
    assert not (evidence / recs[2].id[:2] / recs[2].id).exists()
    assert queued_incident_ids(sink.rows.queue.root) == {recs[0].id, recs[1].id}


def test_a_write_the_database_refuses_on_replay_is_dropped_not_retried_forever(
    store: FlakyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = make_sink(store, tmp_path / "evidence")
    store.down = True
    ghost = record()
    sink.opened(ghost, pictures())
    wait_until(lambda: sink.pending_writes == 1)
    # Someone removes the queued incident's entry by hand; its presence update then has no row.
    entry = sink.rows.queue.head()
    assert entry is not None
    sink.presence(PresenceChanged(ghost.id, 9.0, T0, Presence.ended, ghost.box))
    wait_until(lambda: sink.pending_writes == 2)
    with sink.rows._lock:  # as if the file had been lost: drop the incident entry
        sink.rows.queue.pop(entry)
    store.down = False
    wait_until(lambda: sink.pending_writes == 0)
    sink.close()
    assert sink.stats.pending.dropped == 1
    assert f"incident {ghost.id}: presence update not recorded" in caplog.text
