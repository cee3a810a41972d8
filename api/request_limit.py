"""A cap on the HTTP requests inside the app at once, below the database pool's size.

Sync routes and dependencies run in a pool of 40 threads, and a request's database session
keeps its connection from the first query until the request ends, across several trips to
that thread pool. With more requests in flight than the connection pool holds (15 by
default), every thread can end up waiting for a connection while the requests holding the
connections wait for a thread to finish on: nothing moves until the pool's 30 s timeout
turns them all into errors. Requests past the cap wait here instead, in the event loop,
holding neither a thread nor a connection.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

# Endless responses (the live event stream) would keep their place for hours; they close
# their database session before streaming, so they need no place.
UNLIMITED_PATHS = frozenset({"/api/live/sse"})


class RequestLimit:
    """ASGI middleware: at most `limit` HTTP requests in the app at once; the rest queue.

    >>> app = RequestLimit(inner_app, limit=10)  # doctest: +SKIP
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.app = app
        self.limit = limit
        self._places = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        async with self._places:
            await self.app(scope, receive, send)
