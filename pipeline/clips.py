"""Pre-roll and post-roll for evidence clips, held compressed (JPEG frames, or the stream's
own packets) so memory stays bounded per camera: about `pre_s` of compressed video."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
ClipFrame = tuple[float, bytes]  # (stream time, JPEG)


class PrerollBuffer(Generic[T]):
    """The last `seconds` of clip items. With `is_key`, the buffer always starts at a keyframe
    and `since()` reaches back to the keyframe before the asked time, so packets decode.

    >>> buf = PrerollBuffer(seconds=1.0)
    >>> for t in (0.0, 0.5, 1.0, 1.5):
    ...     buf.add(t, b"jpeg")
    >>> [t for t, _ in buf.since(0.5)]
    [0.5, 1.0, 1.5]
    """

    def __init__(self, seconds: float, is_key: Callable[[T], bool] | None = None) -> None:
        self.seconds = seconds
        self.is_key = is_key
        self._items: deque[tuple[float, T]] = deque()
        self._key_times: deque[float] = deque()

    def add(self, t: float, item: T) -> None:
        self._items.append((t, item))
        if self.is_key is None:
            while self._items and self._items[0][0] < t - self.seconds - 1e-6:
                self._items.popleft()
            return
        if self.is_key(item):
            self._key_times.append(t)
        cutoff = t - self.seconds
        # Drop whole groups of pictures while the next keyframe is still old enough.
        while len(self._key_times) >= 2 and self._key_times[1] <= cutoff:
            self._key_times.popleft()
            while self._items and self._items[0][0] < self._key_times[0]:
                self._items.popleft()

    def since(self, t0: float) -> list[tuple[float, T]]:
        start = t0
        if self.is_key is not None:
            earlier = [k for k in self._key_times if k <= t0 + 1e-6]
            start = earlier[-1] if earlier else (self._items[0][0] if self._items else t0)
        return [item for item in self._items if item[0] >= start - 1e-6]

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class _Pending(Generic[T]):
    incident_id: str
    until_t: float
    from_t: float
    items: list[tuple[float, T]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FinishedClip(Generic[T]):
    incident_id: str
    items: list[tuple[float, T]]
    from_t: float  # the clip should show from here (packets may start at an earlier keyframe)


class PendingClips(Generic[T]):
    """Clips waiting for their post-roll: each collects items until `alert + post_s`."""

    def __init__(self, post_s: float) -> None:
        self.post_s = post_s
        self._pending: list[_Pending[T]] = []

    def start(
        self, incident_id: str, alert_t: float, preroll: list[tuple[float, T]], from_t: float
    ) -> None:
        self._pending.append(_Pending(incident_id, alert_t + self.post_s, from_t, list(preroll)))

    def add(self, t: float, item: T) -> list[FinishedClip[T]]:
        finished: list[FinishedClip[T]] = []
        still = []
        for pending in self._pending:
            if not pending.items or t > pending.items[-1][0]:
                pending.items.append((t, item))
            if t >= pending.until_t - 1e-6:
                finished.append(FinishedClip(pending.incident_id, pending.items, pending.from_t))
            else:
                still.append(pending)
        self._pending = still
        return finished

    def flush(self) -> list[FinishedClip[T]]:
        """Clips cut short by the end of the stream, with what they have."""
        done = [FinishedClip(p.incident_id, p.items, p.from_t) for p in self._pending if p.items]
        self._pending = []
        return done

    def __len__(self) -> int:
        return len(self._pending)
