"""Background threads lower their own CPU priority; nothing else is lowered with them."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from detector.base import Detector
from detector.batching import BatchingDetector
from detector.priority import MAX_NICE, lower_this_thread
from detector.types import Detections, Frame

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="nice values are per thread on Linux only"
)


def nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def _in_thread(work: Callable[[], int]) -> int:
    """What `work` returns when run in a new thread."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def test_a_thread_lowers_itself_and_not_the_thread_that_started_it() -> None:
    base = nice_of(threading.get_native_id())
    lowered = _in_thread(lambda: (lower_this_thread(3), nice_of(threading.get_native_id()))[1])
    assert lowered == min(MAX_NICE, base + 3)
    assert nice_of(threading.get_native_id()) == base


def test_lowering_stops_at_the_lowest_priority_and_zero_changes_nothing() -> None:
    base = nice_of(threading.get_native_id())
    assert _in_thread(lambda: lower_this_thread(100)) == MAX_NICE
    assert _in_thread(lambda: lower_this_thread(0)) == base


def test_threads_started_by_a_lowered_thread_inherit_its_priority() -> None:
    base = nice_of(threading.get_native_id())

    def lower_then_start_another() -> int:
        lower_this_thread(4)
        return _in_thread(lambda: nice_of(threading.get_native_id()))

    assert _in_thread(lower_then_start_another) == min(MAX_NICE, base + 4)


class _RecordsNice(Detector):
    def __init__(self) -> None:
        self.nice: list[int] = []

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.nice.append(nice_of(threading.get_native_id()))
        return [Detections.empty(("car",)) for _ in frames]


def test_inference_runs_at_the_batching_detectors_priority() -> None:
    base = nice_of(threading.get_native_id())
    inner = _RecordsNice()
    batching = BatchingDetector(inner, max_batch=1, max_wait_s=0.0, nice=5)
    batching.detect([Frame(np.zeros((8, 8, 3), np.uint8), 0.0, 0)])
    batching.close()
    assert inner.nice == [min(MAX_NICE, base + 5)]
    assert nice_of(threading.get_native_id()) == base
