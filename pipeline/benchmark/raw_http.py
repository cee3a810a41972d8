"""A minimal HTTP/1.1 GET client over one keep-alive connection, for the load generator.

The load test runs its 200 clients on the same 2 cores as the server it measures; with
httpx they used about a third of a core, taken from the server. This client does only what
the load needs (GET, a fixed set of headers, bodies with Content-Length or chunked, the
connection reopened when the server closes it) on asyncio streams.

>>> connection = RawConnection("127.0.0.1", 8000, {"Authorization": "Bearer T"})
>>> status, body = await connection.get("/api/health")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib


class HttpProtocolError(Exception):
    """The server's answer is not HTTP/1.1 as this client reads it."""


class RawConnection:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        lines = [f"{name}: {value}" for name, value in headers.items()]
        self._header_block = "".join(f"{line}\r\n" for line in [f"Host: {host}:{port}", *lines])
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """Status and whole body of `GET path`; a connection the server closed is opened
        again once (keep-alive connections may be closed between requests)."""
        for attempt in (1, 2):
            reused = self._writer is not None
            try:
                return await self._exchange(path)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2 or not reused:
                    raise
            except (ValueError, asyncio.LimitOverrunError) as exc:  # garbled or cut short
                await self.close()
                raise HttpProtocolError(f"unreadable response: {exc}") from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _exchange(self, path: str) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(f"GET {path} HTTP/1.1\r\n{self._header_block}\r\n".encode())
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")  # LimitOverrunError past 64 KiB
        status, headers = _parse_head(head)
        body = await _read_body(self._reader, headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpProtocolError(f"bad status line {status_line!r}")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # the end of the (empty) trailer
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise HttpProtocolError("response without a Content-Length")
    return await reader.readexactly(int(length))
