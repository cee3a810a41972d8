"""One inference call for frames from several cameras, on a fixed number of sessions.

Each camera's analysis thread calls `detect()` as usual; a worker per inner detector (an
inference session) gathers the frames that arrive within `max_wait_s` of the first (up to
`max_batch`), runs them in one call and hands each caller its own result. A fixed number of
workers also stops many camera threads from fighting over the same cores.

Several single-threaded sessions keep every core busy where one session's intra-op threads
do not: one session's threads wait on each other between operators, and on the Python
work around each call (`docs/performance.md` has the measurement).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from detector.base import Detector
from detector.priority import lower_this_thread
from detector.types import Detections, Frame


@dataclass(eq=False)
class _Request:
    frames: Sequence[Frame]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Detections] | None = None
    error: BaseException | None = None


class BatchingDetector(Detector):
    """Wraps a detector so concurrent callers share batched inference calls.

    >>> shared = BatchingDetector(create_detector(config), max_batch=8)  # doctest: +SKIP
    """

    def __init__(
        self,
        inner: Detector | Sequence[Detector],
        max_batch: int = 8,
        max_wait_s: float = 0.05,
        nice: int = 0,
    ) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError(
                f"max_batch must be >= 1 and max_wait_s >= 0, got {max_batch}, {max_wait_s}"
            )
        self.inners = [inner] if isinstance(inner, Detector) else list(inner)
        if not self.inners:
            raise ValueError("BatchingDetector needs at least one inner detector")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.nice = nice  # how far below the API the workers run (detector.priority)
        self.calls = 0
        self.frames = 0
        self._queue: list[_Request] = []
        self._cond = threading.Condition()
        self._closed = False
        self._workers = [
            threading.Thread(
                target=self._work, args=(d,), name=f"batching-detector-{i}", daemon=True
            )
            for i, d in enumerate(self.inners)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inners[0].class_names

    @property
    def reads_pixels(self) -> bool:
        return self.inners[0].reads_pixels

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        request = _Request(frames)
        with self._cond:
            if self._closed:
                raise RuntimeError("BatchingDetector is closed")
            self._queue.append(request)
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join()
        failures: list[Exception] = []
        for inner in self.inners:  # each closed even when another fails to
            try:
                inner.close()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _work(self, inner: Detector) -> None:
        lower_this_thread(self.nice)
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(inner, batch)

    def _next_batch(self) -> list[_Request] | None:
        with self._cond:
            while True:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return None
                if self.max_wait_s > 0:
                    # Wait a little for other cameras' frames, bounded so no alert waits long.
                    self._cond.wait_for(self._full, self.max_wait_s)
                taken: list[_Request] = []
                while self._queue and sum(len(r.frames) for r in taken) < self.max_batch:
                    taken.append(self._queue.pop(0))
                if taken:  # another worker may have emptied the queue while this one waited
                    return taken

    def _full(self) -> bool:
        return self._closed or sum(len(r.frames) for r in self._queue) >= self.max_batch

    def _run(self, inner: Detector, batch: list[_Request]) -> None:
        frames = [f for r in batch for f in r.frames]
        try:
            results = inner.detect(frames)
            if len(results) != len(frames):
                raise RuntimeError(
                    f"detector returned {len(results)} results for {len(frames)} frames"
                )
        except BaseException as exc:  # every waiting caller must learn of the failure
            for r in batch:
                r.error = exc
                r.done.set()
            return
        with self._cond:  # counted by several workers
            self.calls += 1
            self.frames += len(frames)
        start = 0
        for r in batch:
            r.result = results[start : start + len(r.frames)]
            start += len(r.frames)
            r.done.set()
