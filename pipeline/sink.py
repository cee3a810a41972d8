"""Writes evidence files and incident rows off the analysis path, in order, through a
bounded queue. Files are in place (renamed from temporary names) before the row that points
at them is committed.

Two failures are expected in the field and handled without losing the violation:
- the database is unreachable: rows wait in a bounded on-disk queue (`RowWriter`) and are
  written, in order, when it is back;
- the evidence disk is full (or otherwise refuses writes): the incident is stored with the
  evidence that could be written and an `evidence.missing` audit note, and one error line
  says which incident, camera and files were affected.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import SQLAlchemyError

from detector.priority import lower_this_thread
from pipeline.clips import ClipFrame
from pipeline.evidence import EvidenceWriter, annotate_alert, os_error_of, remove_incident_files
from pipeline.faults import crash_point
from pipeline.incidents import PresenceChanged
from pipeline.packet_clip import frames_from_packets
from pipeline.packet_source import CodecInfo, SourcePacket
from pipeline.pending_queue import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    PendingQueue,
    pending_dir_for,
)
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord
from pipeline.rectification import RectificationOutcome
from pipeline.row_writer import PendingStats, RowWriter, Submitted
from pipeline.store.rectification_store import RectificationStore
from pipeline.store.repository import IncidentStore
from pipeline.store.writes import (
    AttachEvidence,
    MissingEvidence,
    StoreIncident,
    StoreWrite,
    UpdatePresence,
    describe_db_error,
    is_connection_error,
)

log = logging.getLogger(__name__)

AlertListener = Callable[[IncidentRecord], None]
# Told the id of an incident whose status the camera changed (rectified, reopened).
UpdateListener = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class AlertPictures:
    """What the alert frame looked like, for the three pictures of a new incident."""

    first_seen_jpeg: bytes | None
    alert_jpeg: bytes
    alert_image: npt.NDArray[np.uint8]
    zone_polygon_px: npt.NDArray[np.int32]
    label_lines: list[str]


@dataclass(slots=True)
class SinkStats:
    incidents_written: int = 0
    clips_written: int = 0
    failures: int = 0
    seconds: float = 0.0
    stored_ids: set[str] = field(default_factory=set)
    # Incidents and clips stored without evidence that could not be written (disk full).
    evidence_missing: int = 0
    # Writes waiting for the database (depth, totals); shared with the RowWriter.
    pending: PendingStats = field(default_factory=PendingStats)


_STOP = object()


class IncidentSink:
    """`opened(...)`, `clip(...)`, `presence(...)` enqueue work; `close()` finishes it.

    >>> sink = IncidentSink(EvidenceWriter(root), IncidentStore(engine))  # doctest: +SKIP
    """

    def __init__(
        self,
        writer: EvidenceWriter,
        store: IncidentStore,
        listeners: Sequence[AlertListener] = (),
        max_queue: int = 64,
        update_listeners: Sequence[UpdateListener] = (),
        pending_dir: Path | None = None,
        max_pending: int = DEFAULT_MAX_ENTRIES,
        max_pending_bytes: int = DEFAULT_MAX_BYTES,
        retry_max_s: float = 15.0,
        close_drain_s: float = 10.0,
        clip_nice: int = 0,
    ) -> None:
        self.writer = writer
        self.store = store
        self.rectifications = RectificationStore(store.engine)
        self.listeners = list(listeners)
        self.update_listeners = list(update_listeners)
        self.stats = SinkStats()
        self.close_drain_s = close_drain_s
        self._accepted: set[str] = set()  # incidents stored, or waiting in the pending queue
        self._cameras: dict[str, str] = {}  # incident -> camera, for messages about its clip
        # Alerts (pictures + row) and clips go through separate queues and threads: a clip
        # takes a second or more to encode, and no alert may wait behind one.
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._clips: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._settled: dict[str, threading.Event] = {}  # set once an incident's row is decided
        self._lock = threading.Lock()
        # Started before the writer threads: it replays what an earlier run left queued.
        self.rows = RowWriter(
            store,
            PendingQueue(
                pending_dir or pending_dir_for(writer.root), max_pending, max_pending_bytes
            ),
            self._replayed,
            self._dropped,
            retry_max_s=retry_max_s,
            stats=self.stats.pending,
        )
        self._threads = [
            threading.Thread(
                target=self._work, args=(self._queue, 0), name="alert-writer", daemon=True
            ),
            # Clips are background work, below the API (detector.priority); alerts are not.
            threading.Thread(
                target=self._work, args=(self._clips, clip_nice), name="clip-writer", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def opened(self, record: IncidentRecord, pictures: AlertPictures) -> None:
        with self._lock:
            self._settled[record.id] = threading.Event()
            self._cameras[record.id] = record.camera
        self._queue.put((self._write_opened, (record, pictures)))

    def clip(self, incident_id: str, frames: list[ClipFrame], fps: float) -> None:
        self._clips.put((self._write_clip, (incident_id, frames, fps)))

    def packet_clip(
        self,
        incident_id: str,
        codec: CodecInfo,
        items: list[tuple[float, SourcePacket]],
        fps: float,
        from_t: float,
    ) -> None:
        """A clip still in the stream's compressed packets; decoded here, off the analysis path."""
        self._clips.put((self._write_packet_clip, (incident_id, codec, items, fps, from_t)))

    def presence(self, change: PresenceChanged) -> None:
        self._queue.put((self._write_presence, (change,)))

    def rectification(self, outcome: RectificationOutcome) -> None:
        self._queue.put((self._write_rectification, (outcome,)))

    def close(self) -> None:
        """Finish everything queued (alerts first, then clips), then stop the writers; writes
        waiting for the database get `close_drain_s` more, then stay on disk for next start."""
        self._queue.put(_STOP)
        self._threads[0].join()
        self._clips.put(_STOP)
        self._threads[1].join()
        self.rows.close(self.close_drain_s)

    @property
    def backlog(self) -> int:
        return self._queue.qsize() + self._clips.qsize()

    @property
    def pending_writes(self) -> int:
        """Writes waiting on disk for the database (0 while it is reachable)."""
        return self.rows.depth

    def _work(self, jobs: queue.Queue[Any], nice: int) -> None:
        lower_this_thread(nice)
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            func, args = job
            started = time.perf_counter()
            failed = False
            try:
                func(*args)
            except Exception:  # one bad job must not stop the evidence of every other incident
                failed = True
                log.exception("evidence job %s failed", func.__name__)
            with self._lock:
                self.stats.failures += failed
                self.stats.seconds += time.perf_counter() - started

    def _write_opened(self, record: IncidentRecord, pictures: AlertPictures) -> None:
        try:
            crash_point("before_files")
            record.evidence, missing = self._write_pictures(record, pictures)
            crash_point("after_files")
            outcome = self.rows.submit(StoreIncident(record, missing))
            crash_point("after_row")
        except Exception:
            remove_incident_files(self.writer.root, record.id)
            self._settle(record.id)
            raise
        if outcome is Submitted.committed:
            self._stored(record)
        elif outcome is Submitted.queued:
            with self._lock:
                self._accepted.add(record.id)
        self._settle(record.id)
        if outcome is Submitted.committed:
            self._announce(record)

    def _write_pictures(
        self, record: IncidentRecord, pictures: AlertPictures
    ) -> tuple[list[EvidenceFile], MissingEvidence | None]:
        """The three alert pictures; those the disk refuses are left out and reported."""
        annotated = annotate_alert(
            pictures.alert_image, record.box, pictures.zone_polygon_px, pictures.label_lines
        )
        wanted: list[tuple[EvidenceKind, bytes | None, Any]] = [
            (EvidenceKind.alert_clean, pictures.alert_jpeg, None),
            (EvidenceKind.alert_annotated, None, annotated),
        ]
        if pictures.first_seen_jpeg is not None:
            wanted.insert(0, (EvidenceKind.first_seen, pictures.first_seen_jpeg, None))
        files: list[EvidenceFile] = []
        lost: list[EvidenceKind] = []
        reason = ""
        for kind, jpeg, image in wanted:
            try:
                files.append(self.writer.write_image(record.id, kind, image_bgr=image, jpeg=jpeg))
            except OSError as exc:  # disk full, read-only, I/O error: keep the violation
                lost.append(kind)
                reason = exc.strerror or str(exc)
        if not lost:
            return files, None
        self._evidence_lost(record.camera, record.id, lost, reason)
        return files, MissingEvidence(tuple(lost), reason)

    def _evidence_lost(
        self, camera: str, incident_id: str, kinds: Sequence[EvidenceKind], reason: str
    ) -> None:
        # Expected in the field (a full disk), so one line that says it all, no traceback.
        log.error(
            "camera %s: incident %s: could not write its %s evidence under %s (%s); "
            "recording the incident without it",
            camera,
            incident_id,
            ", ".join(k.value for k in kinds),
            self.writer.root,
            reason,
        )
        with self._lock:
            self.stats.evidence_missing += 1

    def _stored(self, record: IncidentRecord) -> None:
        with self._lock:
            self.stats.incidents_written += 1
            self.stats.stored_ids.add(record.id)
            self._accepted.add(record.id)

    def _announce(self, record: IncidentRecord) -> None:
        for listener in self.listeners:
            listener(record)

    def _replayed(self, write: StoreWrite) -> None:
        """A write that waited for the database is in it now (runs on the drain thread)."""
        if isinstance(write, StoreIncident):
            self._stored(write.record)
            self._announce(write.record)
        elif isinstance(write, AttachEvidence) and write.files:
            with self._lock:
                self.stats.clips_written += len(write.files)

    def _dropped(self, write: StoreWrite, reason: str) -> None:
        """A write given up for good: say so, count it, and leave no file without a row."""
        with self._lock:
            self.stats.failures += 1
        if isinstance(write, StoreIncident):
            with self._lock:
                self._accepted.discard(write.incident_id)
            remove_incident_files(self.writer.root, write.incident_id)
            log.error(
                "camera %s: incident %s lost: %s; its evidence files were removed",
                write.record.camera,
                write.incident_id,
                reason,
            )
            return
        if isinstance(write, AttachEvidence):
            for file in write.files:
                (self.writer.root / file.path).unlink(missing_ok=True)
        log.error(
            "incident %s: %s not recorded: %s",
            write.incident_id,
            "clip" if isinstance(write, AttachEvidence) else "presence update",
            reason,
        )

    def _settle(self, incident_id: str) -> None:
        """The row is committed (or given up): clips waiting for it may go ahead."""
        with self._lock:
            event = self._settled.get(incident_id)
        if event is not None:
            event.set()

    def _await_row(self, incident_id: str) -> bool:
        with self._lock:
            event = self._settled.get(incident_id)
        if event is not None:
            event.wait(timeout=300)
            with self._lock:
                self._settled.pop(incident_id, None)
        return incident_id in self._accepted

    def _write_clip(self, incident_id: str, frames: list[ClipFrame], fps: float) -> None:
        with self._lock:
            camera = self._cameras.pop(incident_id, "?")
        if not self._await_row(incident_id):
            log.warning("no clip for incident %s: its row was never stored", incident_id)
            return
        try:
            clip = self.writer.write_clip(incident_id, frames, fps)
        except Exception as exc:
            error = os_error_of(exc)
            if error is None:
                raise
            reason = error.strerror or str(error)
            self._evidence_lost(camera, incident_id, [EvidenceKind.clip], reason)
            missing = MissingEvidence((EvidenceKind.clip,), reason)
            self.rows.submit(AttachEvidence(incident_id, (), missing))
            return
        crash_point("after_clip_file")
        if self.rows.submit(AttachEvidence(incident_id, (clip,))) is Submitted.committed:
            with self._lock:
                self.stats.clips_written += 1

    def _write_packet_clip(
        self,
        incident_id: str,
        codec: CodecInfo,
        items: list[tuple[float, SourcePacket]],
        fps: float,
        from_t: float,
    ) -> None:
        frames = frames_from_packets(codec, items, fps, from_t)
        if not frames:
            log.warning("no clip for incident %s: no decodable packets", incident_id)
            return
        self._write_clip(incident_id, frames, fps)

    def _write_presence(self, change: PresenceChanged) -> None:
        if change.incident_id not in self._accepted:
            return
        self.rows.submit(
            UpdatePresence(
                change.incident_id,
                change.last_seen_s,
                change.last_seen_at,
                change.presence,
                change.box,
            )
        )

    def _write_rectification(self, outcome: RectificationOutcome) -> None:
        after = None
        if outcome.after_jpeg is not None:
            after = self.writer.write_image(
                outcome.incident_id, EvidenceKind.after, jpeg=outcome.after_jpeg
            )
        stored = False
        try:
            stored = self.rectifications.conclude(outcome, after)
        except SQLAlchemyError as exc:
            if not is_connection_error(exc):
                raise
            # Nothing to queue: the incident is still resolved, so the camera's watcher finds
            # it again at its first poll once the database is back and checks the spot anew.
            log.warning(
                "incident %s: camera's %s not stored, database unreachable (%s); the spot is "
                "checked again once it is back",
                outcome.incident_id,
                outcome.outcome,
                describe_db_error(exc),
            )
        finally:
            if after is not None and not stored:  # no row points at it: leave no stray file
                (self.writer.root / after.path).unlink(missing_ok=True)
        if stored:
            for listener in self.update_listeners:
                listener(outcome.incident_id)
