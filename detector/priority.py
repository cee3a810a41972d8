"""Background work (reading, analysis, inference, clip encoding) runs at a lower CPU
priority than the API, so that on busy cores a request is answered first and the cameras
catch up in the gaps: a camera's analysis may fall a second behind without harm, a person
waiting on a page may not (`docs/reliability.md` has the measurement).

On Linux a nice value belongs to one thread, and threads (and processes) it starts later
inherit it; each background thread lowers itself when it starts. Elsewhere this is a no-op.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

MAX_NICE = 19
T = TypeVar("T")

_warned = threading.Event()  # one warning per process, not one per camera thread


def lower_this_thread(by: int) -> None:
    """Run the calling thread `by` nice levels below the process's main thread (capped at
    19). Never raises it: a thread already that low, or lower, is left as it is, so a
    lowered thread's children are not lowered twice. Lowering needs no privilege."""
    if by <= 0 or not sys.platform.startswith("linux"):
        return
    thread_id = threading.get_native_id()
    try:
        base = os.getpriority(os.PRIO_PROCESS, threading.main_thread().native_id or 0)
        wanted = min(MAX_NICE, base + by)
        if os.getpriority(os.PRIO_PROCESS, thread_id) < wanted:
            os.setpriority(os.PRIO_PROCESS, thread_id, wanted)
    except OSError as exc:  # a sandbox that forbids it: run at the priority we have
        if not _warned.is_set():
            _warned.set()
            log.warning("could not lower background threads' CPU priority: %s", exc)


def made_below(by: int, make: Callable[[], T]) -> T:
    """`make()` run in a short-lived thread `by` nice levels down, so that threads it
    starts (ONNX Runtime's intra-op pool) run at that priority too; its result, or its
    exception."""
    if by <= 0:
        return make()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        lower_this_thread(by)
        try:
            outcome.append(make())
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="lowered-start")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
