"""Frames from several threads share inference calls, each caller gets its own result."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from detector.base import Detector
from detector.batching import BatchingDetector
from detector.types import Detections, Frame


class Echo(Detector):
    """Returns one box whose x1 is the frame's index, and records call sizes."""

    def __init__(self, fail: bool = False) -> None:
        self.sizes: list[int] = []
        self.fail = fail
        self.closed = False

    def close(self) -> None:
        self.closed = True

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        if self.fail:
            raise RuntimeError("inference failed")
        self.sizes.append(len(frames))
        time.sleep(0.02)
        return [
            Detections.from_lists([[f.index, 0, f.index + 1, 1]], [0.9], [0], ("car",))
            for f in frames
        ]


def _frame(i: int) -> Frame:
    return Frame(np.zeros((8, 8, 3), np.uint8), float(i), i)


def _cameras_at_once(batching: BatchingDetector, cameras: int) -> dict[int, float]:
    """Camera threads detecting one frame each at once: camera i -> the x1 it got back."""
    results: dict[int, float] = {}

    def camera(i: int) -> None:
        [dets] = batching.detect([_frame(i)])
        results[i] = float(dets.xyxy[0, 0])

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(cameras)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_callers_are_batched_and_get_their_own_results() -> None:
    inner = Echo()
    batching = BatchingDetector(inner, max_batch=8, max_wait_s=0.1)
    results = _cameras_at_once(batching, 8)
    batching.close()
    assert results == {i: float(i) for i in range(8)}
    assert max(inner.sizes) > 1  # at least some frames shared a call
    assert sum(inner.sizes) == 8


def test_a_lone_caller_waits_no_longer_than_the_bound() -> None:
    batching = BatchingDetector(Echo(), max_batch=8, max_wait_s=0.05)
    started = time.perf_counter()
    batching.detect([_frame(1)])
    assert time.perf_counter() - started < 0.5
    batching.close()


def test_errors_reach_every_caller() -> None:
    batching = BatchingDetector(Echo(fail=True), max_batch=4, max_wait_s=0.01)
    with pytest.raises(RuntimeError, match="inference failed"):
        batching.detect([_frame(1)])
    batching.close()


class Meeting(Echo):
    """Returns only once `parties` inner detectors are inside `detect` at the same moment,
    so a test fails (BrokenBarrierError) unless the sessions really run side by side."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.barrier.wait()
        return super().detect(frames)


def test_several_sessions_run_at_the_same_time_and_each_is_closed() -> None:
    meeting = threading.Barrier(2, timeout=5)
    inners = [Meeting(meeting), Meeting(meeting)]
    batching = BatchingDetector(inners, max_batch=1, max_wait_s=0.0)
    results = _cameras_at_once(batching, 2)
    assert results == {0: 0.0, 1: 1.0}
    assert [inner.sizes for inner in inners] == [[1], [1]]  # one frame through each session
    batching.close()
    assert all(inner.closed for inner in inners)
    assert batching.calls == 2 and batching.frames == 2


class StuckShut(Echo):
    def close(self) -> None:
        raise OSError("cannot release")


def test_one_session_failing_to_close_leaves_none_open() -> None:
    inners = [StuckShut(), Echo()]
    batching = BatchingDetector(inners)
    with pytest.raises(OSError, match="cannot release"):
        batching.close()
    assert inners[1].closed


def test_no_sessions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one inner detector"):
        BatchingDetector([])


class Short(Echo):
    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return super().detect(frames)[1:]


def test_a_detector_answering_too_few_frames_fails_its_callers_and_not_the_worker() -> None:
    batching = BatchingDetector(Short(), max_batch=2, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="returned 0 results for 1 frames"):
        batching.detect([_frame(1)])
    with pytest.raises(RuntimeError, match="returned 0 results"):  # the worker still serves
        batching.detect([_frame(2)])
    batching.close()


def test_workers_waiting_to_fill_a_batch_never_run_an_empty_one() -> None:
    inners = [Echo(), Echo(), Echo()]
    batching = BatchingDetector(inners, max_batch=4, max_wait_s=0.05)

    for _ in range(5):
        _cameras_at_once(batching, 3)
    batching.close()
    sizes = [n for inner in inners for n in inner.sizes]
    assert sum(sizes) == 15 and 0 not in sizes
    assert batching.calls == len(sizes)
