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

log = logging.getLogger(__name__)

MAX_NICE = 19


def lower_this_thread(by: int) -> int:
    """Lower the calling thread's priority by `by` nice levels (capped at 19); returns the
    thread's nice value afterwards. Lowering needs no privilege, raising it back would."""
    if not sys.platform.startswith("linux"):
        return 0
    thread_id = threading.get_native_id()
    current = os.getpriority(os.PRIO_PROCESS, thread_id)
    if by <= 0:
        return current
    wanted = min(MAX_NICE, current + by)
    try:
        os.setpriority(os.PRIO_PROCESS, thread_id, wanted)
    except OSError as exc:  # a sandbox that forbids it: run at the priority we have
        log.warning("could not lower thread %s to nice %d: %s", thread_id, wanted, exc)
        return current
    return wanted
