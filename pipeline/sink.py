"""Writes evidence files and incident rows off the analysis path, in order, through a
bounded queue. Files are in place (renamed from temporary names) before the row that points
at them is committed."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.clips import ClipFrame
from pipeline.evidence import EvidenceWriter, annotate_alert, remove_incident_files
from pipeline.faults import crash_point
from pipeline.incidents import PresenceChanged
from pipeline.packet_clip import frames_from_packets
from pipeline.packet_source import CodecInfo, SourcePacket
from pipeline.records import EvidenceKind, IncidentRecord
from pipeline.rectification import RectificationOutcome
from pipeline.store.rectification_store import RectificationStore
from pipeline.store.repository import IncidentStore

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
    ) -> None:
        self.writer = writer
        self.store = store
        self.rectifications = RectificationStore(store.engine)
        self.listeners = list(listeners)
        self.update_listeners = list(update_listeners)
        self.stats = SinkStats()
        # Alerts (pictures + row) and clips go through separate queues and threads: a clip
        # takes a second or more to encode, and no alert may wait behind one.
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._clips: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._settled: dict[str, threading.Event] = {}  # set once an incident's row is decided
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._work, args=(self._queue,), name="alert-writer", daemon=True
            ),
            threading.Thread(
                target=self._work, args=(self._clips,), name="clip-writer", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def opened(self, record: IncidentRecord, pictures: AlertPictures) -> None:
        with self._lock:
            self._settled[record.id] = threading.Event()
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
        """Finish everything queued (alerts first, then clips), then stop the writers."""
        self._queue.put(_STOP)
        self._threads[0].join()
        self._clips.put(_STOP)
        self._threads[1].join()

    @property
    def backlog(self) -> int:
        return self._queue.qsize() + self._clips.qsize()

    def _work(self, jobs: queue.Queue[Any]) -> None:
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
            files = []
            crash_point("before_files")
            if pictures.first_seen_jpeg is not None:
                files.append(
                    self.writer.write_image(
                        record.id, EvidenceKind.first_seen, jpeg=pictures.first_seen_jpeg
                    )
                )
            files.append(
                self.writer.write_image(
                    record.id, EvidenceKind.alert_clean, jpeg=pictures.alert_jpeg
                )
            )
            annotated = annotate_alert(
                pictures.alert_image, record.box, pictures.zone_polygon_px, pictures.label_lines
            )
            files.append(
                self.writer.write_image(
                    record.id, EvidenceKind.alert_annotated, image_bgr=annotated
                )
            )
            record.evidence = files
            crash_point("after_files")
            self.store.add_incident(record)
            crash_point("after_row")
        except Exception:
            remove_incident_files(self.writer.root, record.id)
            self._settle(record.id)
            raise
        with self._lock:
            self.stats.incidents_written += 1
            self.stats.stored_ids.add(record.id)
        self._settle(record.id)
        for listener in self.listeners:
            listener(record)

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
        return incident_id in self.stats.stored_ids

    def _write_clip(self, incident_id: str, frames: list[ClipFrame], fps: float) -> None:
        if not self._await_row(incident_id):
            log.warning("no clip for incident %s: its row was never stored", incident_id)
            return
        clip = self.writer.write_clip(incident_id, frames, fps)
        crash_point("after_clip_file")
        self.store.add_evidence(incident_id, [clip])
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
        if change.incident_id not in self.stats.stored_ids:
            return
        self.store.update_presence(
            change.incident_id,
            last_seen_s=change.last_seen_s,
            last_seen_at=change.last_seen_at,
            presence=change.presence,
            box=change.box,
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
        finally:
            if after is not None and not stored:  # no row points at it: leave no stray file
                (self.writer.root / after.path).unlink(missing_ok=True)
        if stored:
            for listener in self.update_listeners:
                listener(outcome.incident_id)
