"""The load generator's small HTTP client against a real uvicorn server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI, Header
from fastapi.responses import PlainTextResponse, StreamingResponse

from pipeline.benchmark.raw_http import RawConnection
from tests.served import served_on_loopback


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/text")
    def text(n: int = 3) -> PlainTextResponse:
        return PlainTextResponse("x" * n)

    @app.get("/chunked")
    def chunked() -> StreamingResponse:
        return StreamingResponse(iter([b"ab", b"", b"cde"]))

    @app.get("/who")
    def who(authorization: Annotated[str, Header()] = "") -> PlainTextResponse:
        return PlainTextResponse(authorization)

    @app.get("/bye")
    def bye() -> PlainTextResponse:
        return PlainTextResponse("closing", headers={"Connection": "close"})

    return app


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with served_on_loopback(make_app()) as port:
        yield port


def test_bodies_headers_keep_alive_and_reconnect(port: int) -> None:
    async def scenario() -> list[tuple[int, bytes]]:
        connection = RawConnection("127.0.0.1", port, {"Authorization": "Bearer T"})
        try:
            return [
                await connection.get("/text?n=5"),
                await connection.get("/text?n=70000"),  # more than one read
                await connection.get("/chunked"),
                await connection.get("/who"),
                await connection.get("/bye"),  # the server closes: the next one reconnects
                await connection.get("/nope"),
                await connection.get("/text?n=1"),
            ]
        finally:
            await connection.close()

    results = asyncio.run(scenario())
    assert results[0] == (200, b"xxxxx")
    assert results[1] == (200, b"x" * 70000)
    assert results[2] == (200, b"abcde")
    assert results[3] == (200, b"Bearer T")
    assert results[4] == (200, b"closing")
    assert results[5][0] == 404
    assert results[6] == (200, b"x")


def test_refused_connection_raises(port: int) -> None:
    async def scenario() -> None:
        await RawConnection("127.0.0.1", 1, {}).get("/")

    with pytest.raises(OSError):
        asyncio.run(scenario())
