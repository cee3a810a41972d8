"""Per-stage time accounting, so slow stages are visible from the first run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STAGES = ("decode", "detect", "track", "rules", "evidence")


@dataclass(slots=True)
class StageTimes:
    """Seconds spent and calls made per stage.

    >>> times = StageTimes()
    >>> with times.measure("track"):
    ...     pass
    >>> times.calls["track"]
    1
    """

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def add(self, stage: str, seconds: float, calls: int = 1) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.calls[stage] = self.calls.get(stage, 0) + calls

    def ms_per_call(self, stage: str) -> float:
        calls = self.calls.get(stage, 0)
        return 1000.0 * self.seconds.get(stage, 0.0) / calls if calls else 0.0
