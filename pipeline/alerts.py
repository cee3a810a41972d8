"""In-process alert bus: the pipeline's threads publish, async API clients (WebSocket, SSE)
and integrations subscribe. Each subscriber has a bounded queue so a slow client can never
hold the pipeline back; it loses its oldest events instead and is told so."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(eq=False)
class AsyncSubscription:
    """Events for one async consumer; `await sub.get()` returns the next one."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]
    dropped: int = 0
    _bus: AlertBus | None = field(default=None, repr=False)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()

    def close(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe(self)

    def _offer(self, event: dict[str, Any]) -> None:
        # Runs on the subscriber's loop thread.
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


@dataclass(eq=False)
class ThreadSubscription:
    """Events for one consumer thread (MQTT, webhooks); `sub.get(timeout)` returns the next
    one or None. Like the async kind it is bounded and loses its oldest events when full."""

    queue: queue.Queue[dict[str, Any]]
    dropped: int = 0
    _bus: AlertBus | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe(self)

    def _offer(self, event: dict[str, Any]) -> None:
        # Runs on the publisher's thread: never blocks.
        with self._lock:
            while True:
                try:
                    self.queue.put_nowait(event)
                    return
                except queue.Full:
                    try:
                        self.queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass


class AlertBus:
    """`publish(event)` from any thread; `subscribe()` inside a running event loop, or
    `subscribe_thread()` for a consumer thread.

    >>> bus = AlertBus()
    >>> bus.publish({"type": "incident.opened", "id": "abc"})  # no subscribers: nothing happens
    """

    def __init__(self, max_queue: int = 1000) -> None:
        self.max_queue = max_queue
        self._subs: list[AsyncSubscription | ThreadSubscription] = []
        self._lock = threading.Lock()

    def subscribe(self) -> AsyncSubscription:
        sub = AsyncSubscription(
            asyncio.get_running_loop(), asyncio.Queue(self.max_queue), _bus=self
        )
        with self._lock:
            self._subs.append(sub)
        return sub

    def subscribe_thread(self) -> ThreadSubscription:
        sub = ThreadSubscription(queue.Queue(self.max_queue), _bus=self)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: AsyncSubscription | ThreadSubscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if isinstance(sub, ThreadSubscription):
                sub._offer(event)
                continue
            try:
                sub.loop.call_soon_threadsafe(sub._offer, event)
            except RuntimeError:  # its loop has closed: the client is gone
                self.unsubscribe(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)
