"""Password hashing (argon2id) and the sign-in rate limiter."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a
# wrong password and response times do not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("streetwatch-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class LoginLimiter:
    """At most `max_failures` failed sign-ins per (username, client address) per window."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        # Set in an API worker process: tells the other processes of each failure and
        # success (`apply` there), so N processes do not allow N times the attempts.
        self.announce: Callable[[str, str, str], None] | None = None

    def apply(self, outcome: str, username: str, client: str) -> None:
        """Record a sign-in outcome ("failed" or "succeeded") seen by another process."""
        if outcome == "failed":
            self._record_failure(username, client)
        elif outcome == "succeeded":
            self._forget(username, client)

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            recent = self._recent((username.lower(), client), time.monotonic())
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[0] + self.window_s - time.monotonic())

    def failed(self, username: str, client: str) -> None:
        self._record_failure(username, client)
        if self.announce is not None:
            self.announce("failed", username, client)

    def succeeded(self, username: str, client: str) -> None:
        self._forget(username, client)
        if self.announce is not None:
            self.announce("succeeded", username, client)

    def _record_failure(self, username: str, client: str) -> None:
        with self._lock:
            key = (username.lower(), client)
            self._recent(key, time.monotonic()).append(time.monotonic())

    def _forget(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), client), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        return recent
