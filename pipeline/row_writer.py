"""Commits the camera side's store writes in order. While the database is unreachable they
wait in a bounded on-disk queue (`PendingQueue`), and a background thread writes them, in the
same order and with a capped back-off, once it is back. Queues left by processes that are
gone are adopted at start and written first, so a crash during an outage loses nothing.

Every write is idempotent (`IncidentStore.ensure_*`): a commit whose acknowledgement was lost
with the connection is queued and replayed, and the replay finds the row already there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pipeline.pending_queue import PendingQueue, PendingQueueFull, QueuedEntry, adopt_orphans
from pipeline.store.repository import IncidentNotFoundError, IncidentStore
from pipeline.store.writes import (
    AttachEvidence,
    StoreIncident,
    StoreWrite,
    describe_db_error,
    is_connection_error,
    op_name,
    write_from_json,
    write_to_json,
)

log = logging.getLogger(__name__)

STILL_DOWN_LOG_EVERY_S = 60.0

# Told about each queued write once the drain has put it in the database.
ReplayedHandler = Callable[[StoreWrite], None]
# Told about each write given up for good, with the reason.
DroppedHandler = Callable[[StoreWrite, str], None]


class Submitted(StrEnum):
    committed = "committed"  # in the database now
    queued = "queued"  # on disk, written when the database is back
    dropped = "dropped"  # lost: the queue was full or could not be written


@dataclass(slots=True)
class PendingStats:
    """What camera and system status show about writes waiting for the database."""

    depth: int = 0  # writes waiting on disk now
    size_bytes: int = 0
    queued: int = 0  # writes that had to wait, since start
    replayed: int = 0  # waiting writes written since
    dropped: int = 0  # writes lost: queue full, unwritable, or rejected on replay
    waiting_since: datetime | None = None  # when the oldest waiting write was queued


def apply_write(store: IncidentStore, write: StoreWrite) -> None:
    """Commit one write; safe to repeat (a replay finds what a lost commit already did)."""
    if isinstance(write, StoreIncident):
        store.ensure_incident(write.record, write.missing)
    elif isinstance(write, AttachEvidence):
        store.ensure_evidence(write.incident_id, write.files, write.missing)
    else:
        store.update_presence(
            write.incident_id,
            last_seen_s=write.last_seen_s,
            last_seen_at=write.last_seen_at,
            presence=write.presence,
            box=write.box,
        )


class RowWriter:
    """`submit(write)` commits now or queues; `close(timeout_s)` drains what it can.

    >>> rows = RowWriter(store, PendingQueue(root), on_replayed, on_dropped)  # doctest: +SKIP
    >>> rows.submit(StoreIncident(record))  # doctest: +SKIP
    <Submitted.committed: 'committed'>
    """

    def __init__(
        self,
        store: IncidentStore,
        queue: PendingQueue,
        on_replayed: ReplayedHandler,
        on_dropped: DroppedHandler,
        retry_first_s: float = 0.5,
        retry_max_s: float = 15.0,
        stats: PendingStats | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.on_replayed = on_replayed
        self.on_dropped = on_dropped
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.stats = stats if stats is not None else PendingStats()
        # One write at a time, so the queue's order is the database's order.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline = 0.0
        self._down_since: float | None = None
        self._told_down_at = 0.0
        self._replayed_now = 0  # in this outage, for the "drained" message
        # Queues of processes that are gone; drained before our own, then given up.
        self._adopted = adopt_orphans(queue.root, queue.max_entries, queue.max_bytes)
        self._update_stats()
        if self.depth:
            self.stats.waiting_since = datetime.now(UTC)
            log.warning(
                "%d store writes left waiting in %s by an earlier run; writing them now",
                self.depth,
                queue.root,
            )
        self._thread = threading.Thread(target=self._drain_loop, name="pending-writes", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        return self.stats.depth

    def submit(self, write: StoreWrite) -> Submitted:
        """Commit `write`, or keep it on disk behind the writes already waiting."""
        with self._lock:
            return self._commit_or_enqueue(write)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop after writing what is waiting, trying for at most `timeout_s`; what is
        still waiting then stays on disk for the next start."""
        self._deadline = time.monotonic() + timeout_s
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout_s + 5.0)
        with self._lock:
            if self.depth:
                log.error(
                    "stopping with %d store writes still waiting in %s (database "
                    "unreachable); they are written at the next start",
                    self.depth,
                    self.queue.root,
                )
            for queue in [*self._adopted, self.queue]:
                queue.close()

    def _commit_or_enqueue(self, write: StoreWrite) -> Submitted:
        if self.queue.depth == 0:
            try:
                apply_write(self.store, write)
                return Submitted.committed
            except Exception as exc:
                if not is_connection_error(exc):
                    raise  # refused by a working database: the caller decides
                self._went_down(exc)
        return self._enqueue(write)

    def _enqueue(self, write: StoreWrite) -> Submitted:
        try:
            self.queue.push(op_name(write), write.incident_id, write_to_json(write))
        except (PendingQueueFull, OSError, ValueError) as exc:
            self.stats.dropped += 1
            self._update_stats()
            self.on_dropped(write, f"could not be queued: {exc}")
            return Submitted.dropped
        if self.stats.waiting_since is None:
            self.stats.waiting_since = datetime.now(UTC)
        self.stats.queued += 1
        self._update_stats()
        self._wake.set()
        return Submitted.queued

    def _went_down(self, exc: BaseException) -> None:
        self._down_since = time.monotonic()
        self._told_down_at = self._down_since
        log.warning(
            "database unreachable (%s): holding incident writes in %s until it is back "
            "(at most %d writes / %d MiB)",
            describe_db_error(exc),
            self.queue.where,
            self.queue.max_entries,
            self.queue.max_bytes >> 20,
        )

    def _drain_loop(self) -> None:
        delay = self.retry_first_s
        while True:
            if self.depth == 0:
                if self._closing.is_set():
                    return
                self._wake.wait()
                self._wake.clear()
                continue
            if self._drain_one():
                delay = self.retry_first_s
                continue
            if not self._pause(delay):
                return
            delay = min(delay * 2, self.retry_max_s)

    def _pause(self, delay: float) -> bool:
        """Wait before the next try; False when closing and out of time."""
        if not self._closing.is_set():
            self._closing.wait(delay)  # close() cuts the wait short for a last try
            return True
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        return True

    def _drain_one(self) -> bool:
        """Write the oldest waiting entry; False when the database is still away."""
        with self._lock:
            queue = self._next_queue()
            entry = queue.head()
            if entry is None:
                return True
            write = self._read(queue, entry)
            if write is None:
                return True
            try:
                apply_write(self.store, write)
            except Exception as exc:
                if is_connection_error(exc):
                    self._still_down(exc)
                    return False
                self._reject(queue, entry, write, exc)
                return True
            queue.pop(entry)
            self.stats.replayed += 1
            self._replayed_now += 1
            self._update_stats()
            if self.depth == 0:
                self._drained()
        try:
            self.on_replayed(write)
        except Exception:  # a failing listener must not stop the queue from draining
            log.exception(
                "handling replayed %s write of %s failed", op_name(write), write.incident_id
            )
        return True

    def _next_queue(self) -> PendingQueue:
        """Adopted queues first (their writes are the older), then our own."""
        while self._adopted and self._adopted[0].depth == 0:
            self._adopted.pop(0).close()
        return self._adopted[0] if self._adopted else self.queue

    def _read(self, queue: PendingQueue, entry: QueuedEntry) -> StoreWrite | None:
        try:
            return write_from_json(queue.read(entry))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            target = queue.set_aside(entry)
            self.stats.dropped += 1
            self._update_stats()
            log.error(
                "queued store write %s is unreadable (%s); moved to %s",
                entry.path.name,
                exc,
                target,
            )
            return None

    def _reject(
        self, queue: PendingQueue, entry: QueuedEntry, write: StoreWrite, exc: Exception
    ) -> None:
        # The database answered and refused: retrying would fail the same way forever.
        queue.pop(entry)
        self.stats.dropped += 1
        self._update_stats()
        if isinstance(exc, IncidentNotFoundError):
            reason = "its incident was never stored"
        else:
            reason = f"the database refused it ({describe_db_error(exc)})"
            log.error(
                "queued %s write for incident %s refused",
                op_name(write),
                write.incident_id,
                exc_info=exc,
            )
        self.on_dropped(write, reason)

    def _still_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._down_since is None:
            self._went_down(exc)
            return
        log.debug("database still unreachable: %s", describe_db_error(exc))
        if now - self._told_down_at >= STILL_DOWN_LOG_EVERY_S:
            self._told_down_at = now
            log.warning(
                "database unreachable for %.0f s; %d incident writes waiting in %s",
                now - self._down_since,
                self.depth,
                self.queue.root,
            )

    def _drained(self) -> None:
        down_s = 0.0 if self._down_since is None else time.monotonic() - self._down_since
        log.info(
            "database reachable: all %d waiting writes written (%.1f s after it went away); "
            "queue empty",
            self._replayed_now,
            down_s,
        )
        self._down_since = None
        self._replayed_now = 0
        self.stats.waiting_since = None

    def _update_stats(self) -> None:
        queues = [*self._adopted, self.queue]
        self.stats.depth = sum(q.depth for q in queues)
        self.stats.size_bytes = sum(q.size_bytes for q in queues)
