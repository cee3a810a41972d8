"""The detector that a process's live cameras share: a fixed set of inference sessions
behind one queue (`BatchingDetector`), sized to the machine."""

from __future__ import annotations

import os

from detector.base import Detector, create_detector
from detector.batching import BatchingDetector
from detector.config import DetectorConfig
from detector.priority import made_below

MAX_SESSIONS = 64
BATCH_WAIT_S = 0.05  # how long a worker waits to fill a model batch; bounds the added delay


def session_plan(config: DetectorConfig, cpus: int | None = None) -> tuple[int, int]:
    """(sessions, intra-op threads per session) for `config` on a machine with `cpus` cores.

    Single-threaded sessions, one per core, by default: on 2 cores they sustained more
    cameras than one session with 2 threads (`docs/performance.md` compares the two in
    one run). Cores are those this process may run on (CPU affinity), at most 64.

    >>> session_plan(DetectorConfig(), cpus=4)
    (4, 1)
    >>> session_plan(DetectorConfig(sessions=2), cpus=8)
    (2, 4)
    >>> session_plan(DetectorConfig(sessions=1, threads=3), cpus=8)
    (1, 3)
    >>> session_plan(DetectorConfig(threads=2), cpus=8)
    (4, 2)
    """
    cores = min(MAX_SESSIONS, max(1, cpus if cpus is not None else usable_cpus()))
    if config.type == "ultralytics" and config.sessions == 0:
        return 1, config.threads  # PyTorch runs its own thread pool across the cores
    sessions = config.sessions or max(1, cores // max(1, config.threads))
    threads = config.threads or max(1, cores // sessions)
    return sessions, threads


def usable_cpus() -> int:
    """Cores this process may run on: a container pinned to 2 of a host's 64 gets 2."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shared_detector(config: DetectorConfig, nice: int = 0) -> Detector:
    """The detector for many live cameras, its workers `nice` levels below the API
    (`detector.priority`); recorded detections need no sessions."""
    if config.type == "replay":
        return create_detector(config)
    sessions, threads = session_plan(config)
    per_session = config.model_copy(update={"threads": threads})
    # Opened in a lowered thread: a session with intra-op threads starts them as it opens.
    inners = made_below(nice, lambda: _open_sessions(per_session, sessions))
    # A worker takes one model call's frames, so no frame waits behind a busy worker while
    # another is free; a model batch of one gains nothing from waiting for other cameras.
    wait = BATCH_WAIT_S if config.batch > 1 else 0.0
    return BatchingDetector(inners, max_batch=config.batch, max_wait_s=wait, nice=nice)


def _open_sessions(config: DetectorConfig, count: int) -> list[Detector]:
    inners: list[Detector] = []
    try:
        for _ in range(count):
            inners.append(create_detector(config))
    except BaseException:
        for inner in inners:
            inner.close()
        raise
    return inners
