"""A bounded first-in-first-out queue of store writes kept as small JSON files, so that
incidents opened while the database is unreachable survive until it returns, and survive a
restart of the process meanwhile.

Layout: `<root>/q-<time>-<pid>/<seq:012d>-<op>-<incident id>.json`. Each process writes to
a folder of its own, created at its first queued write and locked (flock) for as long as the
process lives, so processes sharing an evidence folder never mix their sequences; a process
that starts takes over the folders whose owner is gone (`adopt_orphans`). Entries are
written under a `.tmp-` name, fsync'ed and renamed: a crash leaves either the whole entry or
none. The incident id in the name lets start-up recovery spare the evidence folders that
queued entries point at without parsing them.

Not thread-safe: the one owner (`RowWriter`) serialises every call.

>>> queue = PendingQueue(pending_dir_for(evidence_dir))  # doctest: +SKIP
>>> queue.push("incident", "3f2a...", {"op": "incident", ...})  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.evidence import TEMP_PREFIX, atomic_write, fsync_dir

log = logging.getLogger(__name__)

PENDING_DIRNAME = ".pending-writes"  # inside the evidence folder, on the same disk
SET_ASIDE_PREFIX = ".unreadable-"
LOCK_NAME = ".owner.lock"
QUEUE_PREFIX = "q-"
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 64 << 20
_ENTRY = re.compile(r"^(?P<seq>\d{12})-(?P<op>[a-z]+)-(?P<incident>[A-Za-z0-9_-]{2,64})\.json$")


class PendingQueueFull(Exception):
    """The queue holds as many entries or bytes as it may; the write was not kept."""


@dataclass(frozen=True, slots=True)
class QueuedEntry:
    seq: int
    incident_id: str
    path: Path
    size_bytes: int


def pending_dir_for(evidence_dir: Path) -> Path:
    return Path(evidence_dir) / PENDING_DIRNAME


def queued_incident_ids(root: Path) -> set[str]:
    """Ids of the incidents that queued entries under `root` (any process's) refer to."""
    return {entry.incident_id for folder in _queue_folders(root) for entry in _scan(folder)}


def adopt_orphans(
    root: Path, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[PendingQueue]:
    """The queues left by processes that are gone (nobody holds their lock), oldest first;
    locked by this process now, to be drained and closed."""
    for unfinished in root.glob(f"{TEMP_PREFIX}*") if root.is_dir() else []:
        # A folder a crashed process was creating: nothing was queued in it yet.
        fd = _try_lock(unfinished / LOCK_NAME) if unfinished.is_dir() else None
        if fd is not None:
            shutil.rmtree(unfinished, ignore_errors=True)
            os.close(fd)
    adopted = []
    for folder in _queue_folders(root):
        fd = _try_lock(folder / LOCK_NAME)
        if fd is not None:
            adopted.append(PendingQueue(root, max_entries, max_bytes, owned=(folder, fd)))
    return adopted


class PendingQueue:
    """`push` at the tail, `head` / `pop` at the front; bounded by entries and bytes.

    A new queue owns no folder until its first `push`; `close()` gives the folder up (and
    removes it when empty).
    """

    def __init__(
        self,
        root: Path,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        owned: tuple[Path, int] | None = None,
    ) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError(f"queue bounds must be positive, got {max_entries}, {max_bytes}")
        self.root = Path(root)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.folder: Path | None = None
        self._lock_fd: int | None = None
        self._entries: deque[QueuedEntry] = deque()
        if owned is not None:
            self.folder, self._lock_fd = owned
            self._entries.extend(_scan(self.folder))
        self._bytes = sum(e.size_bytes for e in self._entries)
        self._next_seq = self._entries[-1].seq + 1 if self._entries else 1

    @property
    def where(self) -> Path:
        """The folder for messages (the root until the first write)."""
        return self.folder or self.root

    @property
    def depth(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def push(self, op: str, incident_id: str, data: dict[str, Any]) -> QueuedEntry:
        """Keep one write durably at the tail; PendingQueueFull or OSError when it cannot."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if self.depth >= self.max_entries or self._bytes + len(body) > self.max_bytes:
            raise PendingQueueFull(
                f"pending-write queue full ({self.depth} entries, {self._bytes} bytes; "
                f"limits {self.max_entries} entries, {self.max_bytes} bytes)"
            )
        name = f"{self._next_seq:012d}-{op}-{incident_id}.json"
        if not _ENTRY.match(name):
            raise ValueError(f"cannot queue a write named {name!r}")
        folder = self._own_folder()
        atomic_write(folder, name, "pending", body)
        entry = QueuedEntry(self._next_seq, incident_id, folder / name, len(body))
        self._next_seq += 1
        self._entries.append(entry)
        self._bytes += entry.size_bytes
        return entry

    def head(self) -> QueuedEntry | None:
        return self._entries[0] if self._entries else None

    def read(self, entry: QueuedEntry) -> dict[str, Any]:
        """The JSON of an entry; OSError / ValueError when it cannot be read."""
        data = json.loads(entry.path.read_bytes())
        if not isinstance(data, dict):
            raise ValueError(f"{entry.path.name} does not hold a JSON object")
        return data

    def pop(self, entry: QueuedEntry) -> None:
        """Forget the head entry (it has been written to the database)."""
        self._remove_head(entry)
        entry.path.unlink(missing_ok=True)
        fsync_dir(entry.path.parent)

    def set_aside(self, entry: QueuedEntry) -> Path:
        """Move an unreadable head entry out of the queue (kept for a person to look at)."""
        self._remove_head(entry)
        target = entry.path.with_name(SET_ASIDE_PREFIX + entry.path.name)
        os.replace(entry.path, target)
        fsync_dir(entry.path.parent)
        return target

    def close(self) -> None:
        """Give the folder up: removed when nothing is left in it, else kept (locked no
        longer) for the next process to adopt."""
        if self.folder is None or self._lock_fd is None:
            return
        leftovers = [p for p in self.folder.iterdir() if p.name != LOCK_NAME]
        if not self._entries and not leftovers:
            shutil.rmtree(self.folder, ignore_errors=True)
            fsync_dir(self.root)
        os.close(self._lock_fd)  # releases the flock
        self.folder, self._lock_fd = None, None

    def _remove_head(self, entry: QueuedEntry) -> None:
        if not self._entries or self._entries[0] != entry:
            raise ValueError(f"{entry.path.name} is not the head of the queue")
        self._entries.popleft()
        self._bytes -= entry.size_bytes

    def _own_folder(self) -> Path:
        if self.folder is None:
            self.folder, self._lock_fd = _claim_folder(self.root)
            log.info("pending-write queue folder %s created", self.folder)
        return self.folder


def _claim_folder(root: Path) -> tuple[Path, int]:
    """A new queue folder, locked before it gets its final name, so no other process can
    take it for an orphan in between."""
    new_root = not root.is_dir()
    root.mkdir(parents=True, exist_ok=True)
    if new_root:
        fsync_dir(root.parent)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=root))
    fd = _try_lock(tmp / LOCK_NAME, create=True)
    assert fd is not None  # nobody else knows this folder yet
    final = root / f"{QUEUE_PREFIX}{time.time_ns()}-{os.getpid()}"
    try:
        os.rename(tmp, final)
    except BaseException:
        os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(root)
    return final, fd


def _try_lock(path: Path, create: bool = False) -> int | None:
    """An fd holding an exclusive flock on `path`, or None when another holder has it."""
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _queue_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(f"{QUEUE_PREFIX}*") if p.is_dir())


def _scan(folder: Path) -> list[QueuedEntry]:
    if not folder.is_dir():
        return []
    entries = []
    for path in folder.iterdir():
        match = _ENTRY.match(path.name)
        if match is None:
            continue  # temporaries, set-aside entries
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        entries.append(QueuedEntry(int(match["seq"]), match["incident"], path, size))
    entries.sort(key=lambda e: e.seq)
    return entries
