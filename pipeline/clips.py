"""Pre-roll and post-roll frames for evidence clips, held as JPEG bytes so memory stays
bounded per camera (about pre_s x clip_fps compressed frames)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

ClipFrame = tuple[float, bytes]  # (stream time, JPEG)


class PrerollBuffer:
    """The last `seconds` of clip frames.

    >>> buf = PrerollBuffer(seconds=1.0)
    >>> for t in (0.0, 0.5, 1.0, 1.5):
    ...     buf.add(t, b"jpeg")
    >>> [t for t, _ in buf.since(0.0)]
    [0.5, 1.0, 1.5]
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._frames: deque[ClipFrame] = deque()

    def add(self, t: float, jpeg: bytes) -> None:
        self._frames.append((t, jpeg))
        while self._frames and self._frames[0][0] < t - self.seconds - 1e-6:
            self._frames.popleft()

    def since(self, t0: float) -> list[ClipFrame]:
        return [f for f in self._frames if f[0] >= t0 - 1e-6]

    @property
    def latest(self) -> ClipFrame | None:
        return self._frames[-1] if self._frames else None


@dataclass(slots=True)
class _Pending:
    incident_id: str
    until_t: float
    frames: list[ClipFrame] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FinishedClip:
    incident_id: str
    frames: list[ClipFrame]


class PendingClips:
    """Clips waiting for their post-roll: each collects frames until `alert + post_s`."""

    def __init__(self, post_s: float) -> None:
        self.post_s = post_s
        self._pending: list[_Pending] = []

    def start(self, incident_id: str, alert_t: float, preroll: list[ClipFrame]) -> None:
        self._pending.append(_Pending(incident_id, alert_t + self.post_s, list(preroll)))

    def add(self, t: float, jpeg: bytes) -> list[FinishedClip]:
        finished = []
        for item in self._pending:
            if not item.frames or t > item.frames[-1][0]:
                item.frames.append((t, jpeg))
        still = []
        for item in self._pending:
            if t >= item.until_t - 1e-6:
                finished.append(FinishedClip(item.incident_id, item.frames))
            else:
                still.append(item)
        self._pending = still
        return finished

    def flush(self) -> list[FinishedClip]:
        """Clips cut short by the end of the stream, with what they have."""
        done = [FinishedClip(p.incident_id, p.frames) for p in self._pending if p.frames]
        self._pending = []
        return done

    def __len__(self) -> int:
        return len(self._pending)
