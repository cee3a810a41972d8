"""Crash injection for the reliability tests: `STREETWATCH_CRASH_AT=point:n` kills the
process with SIGKILL the n-th time it reaches `point`. Unset (always, in production), every
call is a dictionary lookup and nothing else."""

from __future__ import annotations

import os
import signal
from collections import Counter

_SETTING = os.environ.get("STREETWATCH_CRASH_AT", "")
_POINT, _, _NTH = _SETTING.partition(":")
_reached: Counter[str] = Counter()


def crash_point(point: str) -> None:
    if not _POINT or point != _POINT:
        return
    _reached[point] += 1
    if _reached[point] == int(_NTH or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
