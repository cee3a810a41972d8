"""Background threads lower their own CPU priority; nothing else is lowered with them."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from detector import priority
from detector.base import Detector
from detector.batching import BatchingDetector
from detector.config import DetectorConfig
from detector.priority import MAX_NICE, lower_this_thread, made_below
from detector.shared import shared_detector
from detector.types import Detections, Frame
from tests.detector.onnx_models import constant_model, save_model, yolov8_output


def nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def _own_nice() -> int:
    return nice_of(threading.get_native_id())


pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="nice values are per thread on Linux only"
    ),
    pytest.mark.skipif(
        sys.platform.startswith("linux") and _own_nice() > MAX_NICE - 6,
        reason="the tests already run near the lowest priority: nothing left to lower",
    ),
]


def _in_thread(work: Callable[[], int]) -> int:
    """What `work` returns when run in a new thread."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def _lowered_by(by: int) -> int:
    lower_this_thread(by)
    return _own_nice()


def test_a_thread_lowers_itself_and_not_the_thread_that_started_it() -> None:
    base = _own_nice()
    assert _in_thread(lambda: _lowered_by(3)) == base + 3
    assert _own_nice() == base


def test_lowering_stops_at_the_lowest_priority_and_zero_changes_nothing() -> None:
    base = _own_nice()
    assert _in_thread(lambda: _lowered_by(100)) == MAX_NICE
    assert _in_thread(lambda: _lowered_by(0)) == base


def test_a_lowered_threads_children_inherit_it_and_are_not_lowered_twice() -> None:
    base = _own_nice()

    def lower_then_start_children() -> int:
        lower_this_thread(4)
        inherited = _in_thread(_own_nice)
        lowered_again = _in_thread(lambda: _lowered_by(4))
        assert inherited == lowered_again
        return inherited

    assert _in_thread(lower_then_start_children) == base + 4


def test_made_below_starts_what_it_makes_below_and_hands_back_result_or_error() -> None:
    base = _own_nice()
    assert made_below(5, lambda: _in_thread(_own_nice)) == base + 5
    assert made_below(0, _own_nice) == base  # 0: made right here
    with pytest.raises(ValueError, match="bad model"):
        made_below(5, lambda: (_ for _ in ()).throw(ValueError("bad model")))
    assert _own_nice() == base


def _thread_ids() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")}


def test_onnx_runtimes_own_threads_start_below_with_the_shared_detector(tmp_path: Path) -> None:
    base = _own_nice()
    output = yolov8_output([[8, 8, 24, 24]], [[0.9]])
    model = save_model(constant_model(output, batch="batch", names="{0: 'car'}"), tmp_path / "m")
    before = _thread_ids()
    # One session with three intra-op threads: ONNX Runtime starts two pool threads.
    detector = shared_detector(DetectorConfig(model=model, imgsz=64, sessions=1, threads=3), 5)
    try:
        new_threads = _thread_ids() - before
        assert len(new_threads) >= 3  # the batching worker and the session's pool
        assert {nice_of(t) for t in new_threads} == {base + 5}
    finally:
        detector.close()


def test_where_lowering_is_refused_it_runs_on_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("not allowed here")

    monkeypatch.setattr(priority, "_warned", threading.Event())
    monkeypatch.setattr(os, "setpriority", refuse)
    base = _own_nice()
    with caplog.at_level(logging.WARNING, logger="detector.priority"):
        assert _in_thread(lambda: _lowered_by(5)) == base
        assert _in_thread(lambda: _lowered_by(5)) == base
    assert [r.getMessage() for r in caplog.records] == [
        "could not lower background threads' CPU priority: not allowed here"
    ]


def test_elsewhere_than_linux_nothing_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    touched: list[object] = []
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(os, "setpriority", lambda *args: touched.append(args))
    lower_this_thread(5)
    assert touched == []


class _RecordsNice(Detector):
    def __init__(self) -> None:
        self.nice: list[int] = []

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.nice.append(_own_nice())
        return [Detections.empty(("car",)) for _ in frames]


def test_inference_runs_at_the_batching_detectors_priority() -> None:
    base = _own_nice()
    inner = _RecordsNice()
    batching = BatchingDetector(inner, max_batch=1, max_wait_s=0.0, nice=5)
    batching.detect([Frame(np.zeros((8, 8, 3), np.uint8), 0.0, 0)])
    batching.close()
    assert inner.nice == [base + 5]
    assert _own_nice() == base
