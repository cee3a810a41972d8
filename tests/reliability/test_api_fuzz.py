"""Hostile requests against the API (issue #7, "Bad input"), in-process but for one test
over loopback:

- every operation of the app's own OpenAPI document fuzzed with schemathesis, as an admin and
  as a patrol user (the most limited role), with valid and invalid data: no 5xx;
- oversized JSON bodies and photo uploads refused with 413, and nothing stored;
- SQL-injection strings in every filter: a 2xx with no rows that do not match, or a 4xx;
  the tables keep their rows, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from starlette.types import Message

from api import roles
from api.app import create_app
from api.body_limit import BodyLimit
from api.settings import ApiSettings
from pipeline.records import EvidenceKind
from tests.api.conftest import SQUARE, Api
from tests.reliability.api_seed import (
    Seeded,
    data_files,
    jpeg_bytes,
    seed_incidents,
    table_counts,
)

pytest_plugins = ["tests.reliability.api_fixtures"]

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "20"))
POSTGRES_EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES_POSTGRES", "10"))
# Cannot be fuzzed in a bounded test. (The WebSocket `/api/live` is not in the OpenAPI
# document at all.)
NOT_FUZZED = {
    # An endless stream: each example would hang until the keep-alive; tests/api/test_live.py
    # covers it over a real socket.
    ("GET", "/api/live/sse"),
}
FUZZED = sorted(key for key in roles.ROUTE_ROLES if key[0] != "WS" and key not in NOT_FUZZED)


def _known_values(seeded: Seeded) -> dict[str, list[Any]]:
    """Real values per path parameter: random ones alone would only ever reach the 404s."""
    return {
        "incident_id": seeded.incidents,
        "kind": [kind.value for kind in EvidenceKind],
        "name": ["cam-a", "cam-b", "team-1", "team-2"],
        "zone": ["z1", "z2"],
        "suppression_id": [seeded.suppression_id],
        "delivery_id": [seeded.delivery_id],
    }


# Mixed into query and path parameters: values that random generation almost never reaches
# (time zone edges of the datetime range, NUL, SQL, huge numbers, long and unusual text).
HOSTILE = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12",
    "0001-01",
    "9999-W52",
    "0001-W01",
    "2024-W53",
    "\x00",
    "a\x00b",
    "' OR '1'='1",
    "1; DROP TABLE incidents;--",
    "%' --",
    '") OR 1=1 --',
    "99999999999999999999999",
    "-1",
    "nan",
    "inf",
    "\u202e\U0001f4a9\u0301",
    "../../etc/passwd",
    "x" * 5000,
]


def _cases(operation: Any) -> st.SearchStrategy[Case]:
    positive: st.SearchStrategy[Case] = operation.as_strategy(GenerationMode.POSITIVE)
    if not (len(operation.path_parameters) or len(operation.query) or operation.body):
        return positive  # nothing to get wrong: negative generation is impossible
    return st.one_of(positive, operation.as_strategy(GenerationMode.NEGATIVE))


def _fuzz(api: Api, seeded: Seeded, role: str, method: str, path: str, examples: int) -> None:
    """`examples` generated requests to one operation as `role`, then every hostile value in
    every parameter of the first request that succeeded; fails on any 5xx (in-process, an
    unhandled exception surfaces as itself, with the request to reproduce it)."""
    app: Any = api.client.app  # a FastAPI app; typed by TestClient as any ASGI callable
    schema = schemathesis.openapi.from_dict(app.openapi())
    operation = schema[path][method]
    operation.app = app
    # Not entered as a context manager: that would start the app's lifespan (camera
    # watchers) and keep it alive for the rest of the process.
    session = asgi.get_client(app)
    known = _known_values(seeded)
    query_names = [parameter.name for parameter in operation.query]
    token = api.login(role)["token"]
    succeeded: list[Case] = []

    def send(case: Case) -> int:
        # Signing out ends the session: that operation gets a fresh one for every request.
        bearer = api.login(role)["token"] if path == "/api/auth/logout" else token
        response = case.call(session=session, headers={"Authorization": f"Bearer {bearer}"})
        case.validate_response(response, checks=[not_a_server_error])
        return response.status_code

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        # Not shrinking keeps a failing run bounded; the report still shows the request.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation), data=st.data())
    def run(case: Case, data: st.DataObject) -> None:
        for name in case.path_parameters or {}:
            pick = data.draw(st.sampled_from(["real", "real", "hostile", "generated"]), label=name)
            if pick == "real" and name in known:
                case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
            elif pick == "hostile":
                case.path_parameters[name] = data.draw(st.sampled_from(HOSTILE))
        # At most one hostile query value, so that the others let it reach the route.
        target = data.draw(st.sampled_from([None, *query_names]), label="hostile query")
        if target is not None:
            case.query = {**(case.query or {}), target: data.draw(st.sampled_from(HOSTILE))}
        if 200 <= send(case) < 300 and not succeeded:
            succeeded.append(case)

    try:
        run()
        # Random draws reach a given hostile value in a given parameter only now and then;
        # this reaches each one, in a request that is otherwise valid.
        for baseline in succeeded:
            for location, names in (
                ("path", list(baseline.path_parameters or {})),
                ("query", query_names),
            ):
                for name, value in itertools.product(names, HOSTILE):
                    path_parameters = dict(baseline.path_parameters or {})
                    query = dict(baseline.query or {})
                    (path_parameters if location == "path" else query)[name] = value
                    send(
                        operation.Case(
                            path_parameters=path_parameters,
                            query=query,
                            body=baseline.body,
                            media_type=baseline.media_type,
                        )
                    )
    finally:
        session.close()


def test_every_documented_operation_is_fuzzed(sqlite_api: Api) -> None:
    app: FastAPI = sqlite_api.client.app  # type: ignore[assignment]
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert documented - NOT_FUZZED == set(FUZZED)


@pytest.mark.parametrize("role", ["admin", "patrol"])
@pytest.mark.parametrize(("method", "path"), FUZZED, ids=[f"{m} {p}" for m, p in FUZZED])
def test_no_server_error(sqlite_api: Api, role: str, method: str, path: str) -> None:
    """A fresh app per operation, so a zone deleted or an incident resolved by one operation's
    examples does not turn another's into 404s."""
    seeded = seed_incidents(sqlite_api)
    _fuzz(sqlite_api, seeded, role, method, path, EXAMPLES_PER_OPERATION)


@pytest.mark.postgres
def test_no_server_error_on_postgres(postgres_api: Api) -> None:
    """Every operation again (fewer examples, one database) on PostgreSQL, which refuses what
    SQLite lets through: NUL characters, 64-bit ids in 32-bit columns, over-long strings."""
    seeded = seed_incidents(postgres_api)
    # Deleting zones last, so the other operations still find them.
    for method, path in sorted(FUZZED, key=lambda key: key[0] == "DELETE"):
        _fuzz(postgres_api, seeded, "admin", method, path, POSTGRES_EXAMPLES_PER_OPERATION)


# --- Oversized bodies and uploads -------------------------------------------------------


def _zone(name: str) -> dict[str, Any]:
    return {"name": name, "polygon": SQUARE, "rule": "illegal_parking"}


def _stored_files(api: Api) -> list[Path]:
    return data_files(api.evidence_dir.parent)


def _assert_nothing_stored(api: Api, before: dict[str, int], files: list[Path]) -> None:
    assert table_counts(api.engine) == before
    assert _stored_files(api) == files


def test_json_body_over_the_limit_is_refused_before_it_is_read(sqlite_api: Api) -> None:
    limit = ApiSettings().max_body_bytes
    headers = sqlite_api.auth("admin")
    before, files = table_counts(sqlite_api.engine), _stored_files(sqlite_api)
    # A valid zone followed by whitespace (still valid JSON): refused for its size alone.
    body = json.dumps(_zone("huge")).encode() + b" " * limit
    response = sqlite_api.client.post(
        "/api/cameras/cam-a/zones",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert str(limit) in response.json()["detail"]
    _assert_nothing_stored(sqlite_api, before, files)
    # The same route takes a body under the limit (the refusal was about the size).
    ok = sqlite_api.client.post("/api/cameras/cam-a/zones", json=_zone("small"), headers=headers)
    assert ok.status_code == 201, ok.text


def test_streamed_body_over_the_limit_is_refused(sqlite_api: Api) -> None:
    """Without a Content-Length (chunked), the bytes are counted as they arrive."""
    limit = ApiSettings().max_body_bytes
    headers = {**sqlite_api.auth("admin"), "Content-Type": "application/json"}
    before, files = table_counts(sqlite_api.engine), _stored_files(sqlite_api)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield json.dumps(_zone("huge")).encode()
        while sent <= 2 * limit:
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    response = sqlite_api.client.post(
        "/api/cameras/cam-a/zones",
        content=chunks(),
        headers=headers,
    )
    assert response.status_code == 413, response.text
    _assert_nothing_stored(sqlite_api, before, files)


def test_declared_length_over_the_limit_is_answered_without_reading_the_body() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/incidents/report",
        "headers": [(b"content-length", b"1000001")],
    }
    asyncio.run(BodyLimit(app, max_bytes=1_000_000)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]


def test_body_at_the_limit_passes() -> None:
    received: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = [b"x" * 600, b"x" * 400]

    async def receive() -> dict[str, Any]:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    asyncio.run(BodyLimit(app, max_bytes=1000)(scope, receive, send))
    assert sent[0]["status"] == 200
    assert sum(len(chunk) for chunk in received) == 1000


def _report_form(photo: bytes) -> dict[str, Any]:
    return {
        "data": {"type": "illegal_parking", "place": "Main St 1"},
        "files": {"photo": ("p.jpg", photo, "image/jpeg")},
    }


def test_photo_over_the_upload_limit_is_refused_and_not_stored(sqlite_api: Api) -> None:
    settings = ApiSettings()
    headers = sqlite_api.auth("operator")
    before, files = table_counts(sqlite_api.engine), _stored_files(sqlite_api)
    # Larger than one photo may be, smaller than a body may be: refused by the photo check.
    photo = jpeg_bytes() + b"\x00" * settings.max_upload_bytes
    assert len(photo) < settings.max_body_bytes - 1024
    response = sqlite_api.client.post(
        "/api/incidents/report", headers=headers, **_report_form(photo)
    )
    assert response.status_code == 413, response.text
    _assert_nothing_stored(sqlite_api, before, files)
    # Larger than any body: refused before the form is parsed.
    photo = b"\xff\xd8\xff" + b"\x00" * settings.max_body_bytes
    response = sqlite_api.client.post(
        "/api/incidents/report", headers=headers, **_report_form(photo)
    )
    assert response.status_code == 413, response.text
    _assert_nothing_stored(sqlite_api, before, files)
    # A photo of an ordinary size is taken, and stored.
    response = sqlite_api.client.post(
        "/api/incidents/report", headers=headers, **_report_form(jpeg_bytes())
    )
    assert response.status_code == 200, response.text
    assert len(_stored_files(sqlite_api)) == len(files) + 1


def test_resolution_photo_over_the_limit_leaves_the_incident_as_it_was(sqlite_api: Api) -> None:
    seed_incidents(sqlite_api)  # inc-disp-a is dispatched to team-1, where patrol works
    headers = sqlite_api.auth("patrol")
    before, files = table_counts(sqlite_api.engine), _stored_files(sqlite_api)
    photo = jpeg_bytes() + b"\x00" * ApiSettings().max_upload_bytes
    response = sqlite_api.client.post(
        "/api/incidents/inc-disp-a/resolve",
        headers=headers,
        data={"note": "moved on"},
        files={"photo": ("p.jpg", photo, "image/jpeg")},
    )
    assert response.status_code == 413, response.text
    _assert_nothing_stored(sqlite_api, before, files)
    detail = sqlite_api.client.get("/api/incidents/inc-disp-a", headers=sqlite_api.auth("admin"))
    assert detail.json()["status"] == "dispatched"


def test_oversized_upload_over_a_real_socket_gets_413_without_sending_it(
    sqlite_api: Api, fuzz_settings: ApiSettings
) -> None:
    """Over loopback with uvicorn: the answer comes before the body is sent, and the
    connection is closed rather than left to read the rest."""
    token = sqlite_api.token("operator")
    before, files = table_counts(sqlite_api.engine), _stored_files(sqlite_api)
    app = create_app(fuzz_settings, sqlite_api.runtime)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"POST /api/incidents/report HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n"
                b"Content-Length: 1073741824\r\n\r\n--x\r\n"
            )
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
        assert b"connection: close" in reply.lower()
    finally:
        server.should_exit = True
        thread.join(10)
    _assert_nothing_stored(sqlite_api, before, files)


# --- SQL injection in filters -------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "cam-a' --",
    "cam-a' OR 'x'='x",
    "1; DROP TABLE incidents;--",
    "'; DELETE FROM users; --",
    "x' UNION SELECT username, password_hash FROM users --",
    '") OR 1=1 --',
    "%' --",
    "%",
    "_",
    "*",
    "\\",
    "\x00",
    "cam-a\x00",
    "ünïcödé 🚓 \u202e",
    "x" * 10_000,
]
# Every filter that takes free text, with the field of a returned row it must match.
TEXT_FILTERS = [
    ("/api/incidents", "camera", "camera"),
    ("/api/incidents", "zone", "zone"),
    ("/api/incidents", "type", "type"),
    ("/api/incidents", "team", "team"),
    ("/api/incidents", "status", "status"),
    ("/api/incidents", "presence", "presence"),
    ("/api/export/incidents.csv", "camera", "camera"),
    ("/api/export/incidents.csv", "zone", "zone"),
    ("/api/export/incidents.csv", "type", "type"),
    ("/api/export/incidents.geojson", "camera", "camera"),
    ("/api/export/incidents.geojson", "zone", "zone"),
    ("/api/export/incidents.geojson", "type", "type"),
]
# Filters with a closed set of values or a format: a payload is refused, never run.
CHECKED_FILTERS = [
    ("/api/incidents", {}, "source"),
    ("/api/incidents", {}, "since"),
    ("/api/incidents", {}, "cursor"),
    ("/api/incidents", {}, "suppressed"),
    ("/api/incidents", {}, "limit"),
    ("/api/export/incidents.csv", {}, "status"),
    ("/api/export/incidents.csv", {}, "start"),
    ("/api/stats", {}, "since"),
    ("/api/kpis", {"start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"}, "by"),
    ("/api/kpis", {"start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"}, "source"),
    ("/api/kpis", {"end": "2024-07-01T00:00:00Z"}, "start"),
    ("/api/ledger", {"start": "2024-06-01T00:00:00Z"}, "end"),
    ("/api/suppressions", {}, "include_lifted"),
    ("/api/suppressions/candidates", {}, "min_dismissed"),
    ("/api/webhooks/dead-letters", {}, "limit"),
    ("/api/reports/monthly.html", {}, "month"),
    ("/api/reports/weekly.pdf", {}, "week"),
    ("/api/reports/monthly.pdf", {"month": "2024-06"}, "tz"),
]
# Path parameters that name a row: a payload names none.
PATH_LOOKUPS = [
    "/api/incidents/{}",
    "/api/evidence/{}/alert_clean",
    "/api/cameras/{}/zones",
    "/api/cameras/{}/snapshot",
]


def _rows(path: str, response: Any) -> list[dict[str, Any]]:
    """The incidents a list or export answered with, as dicts of their fields."""
    if path.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(response.text)))
    if path.endswith(".geojson"):
        return [feature["properties"] for feature in response.json()["features"]]
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_sql_injection_in_filters_finds_nothing_and_changes_nothing(any_api: Api) -> None:
    seed_incidents(any_api)
    headers = any_api.auth("admin")
    before = table_counts(any_api.engine)
    client = any_api.client
    # The filters work: a real value finds exactly its rows.
    for path, param, field in TEXT_FILTERS:
        if param in ("camera", "zone", "type"):
            value = {"camera": "cam-a", "zone": "z2", "type": "street_vending"}[param]
            found = _rows(path, client.get(path, params={param: value}, headers=headers))
            assert found and all(row[field] == value for row in found), (path, param)
    for payload in INJECTIONS:
        for path, param, field in TEXT_FILTERS:
            response = client.get(path, params={param: payload}, headers=headers)
            assert response.status_code in (200, 400, 422), (path, param, payload, response.text)
            if response.status_code == 200:
                rows = _rows(path, response)
                # No row has such a value: any row at all is one the filter let through.
                assert [row for row in rows if row[field] != payload] == [], (path, param)
        for path, fixed, param in CHECKED_FILTERS:
            response = client.get(path, params={**fixed, param: payload}, headers=headers)
            assert response.status_code in (400, 422), (path, param, payload, response.text)
        for template in PATH_LOOKUPS:
            response = client.get(template.format(quote(payload, safe="")), headers=headers)
            assert response.status_code in (400, 404), (template, payload, response.text)
        response = client.put(
            f"/api/teams/{quote(payload, safe='')}", json={"zones": []}, headers=headers
        )
        assert response.status_code in (400, 404, 422), (payload, response.text)
        response = client.post("/api/auth/login", json={"username": payload, "password": payload})
        assert response.status_code in (401, 422), (payload, response.text)
    assert table_counts(any_api.engine) == before


# --- Regressions: each a 5xx the fuzzing found ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/incidents?since=0001-01-01T00:00:00%2B01:00",
        "/api/incidents?until=9999-12-31T23:59:59-14:00",
        "/api/stats?since=0001-01-01T00:00:00%2B01:00",
        "/api/export/incidents.csv?start=9999-12-31T23:00:00-05:00",
        "/api/export/incidents.geojson?end=0001-01-01T00:00:00%2B01:00",
        "/api/kpis?start=0001-01-01T00:00:00%2B01:00&end=2024-01-01T00:00:00Z",
        "/api/ledger?start=2024-01-01T00:00:00Z&end=9999-12-31T23:59:59Z",
    ],
)
def test_instants_python_cannot_turn_into_utc_are_refused(sqlite_api: Api, url: str) -> None:
    """They overflowed when converted to UTC for the query (500)."""
    response = sqlite_api.client.get(url, headers=sqlite_api.auth("admin"))
    assert response.status_code == 422, response.text
    assert "outside 1900 to 8999" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/reports/monthly.html?month=9999-12", "year must be 1970 to 8999"),
        ("/api/reports/weekly.pdf?week=9999-W52", "year must be 1970 to 8999"),
        ("/api/reports/weekly.html?week=0001-W01&tz=Asia/Tokyo", "year must be 1970 to 8999"),
        ("/api/reports/monthly.pdf?month=2024-06&tz=" + "x" * 64, "unknown time zone"),
        ("/api/reports/monthly.pdf?month=2024-06&tz=" + "x" * 65, "at most 64 characters"),
    ],
)
def test_report_periods_out_of_range_are_refused(sqlite_api: Api, url: str, message: str) -> None:
    """Year 9999's last month or week ended in year 10000, and a time zone name too long for
    a file name failed with OSError (500)."""
    response = sqlite_api.client.get(url, headers=sqlite_api.auth("admin"))
    assert response.status_code == 422, response.text
    assert message in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/suppressions/99999999999999999999999/lift",
        "/api/suppressions/2147483648/lift",
        "/api/webhooks/dead-letters/99999999999999999999999/retry",
        "/api/webhooks/dead-letters/0/retry",
    ],
)
def test_row_ids_beyond_their_columns_are_refused(any_api: Api, url: str) -> None:
    """SQLite failed on ids past 64 bits, PostgreSQL on ids past its 32-bit columns (500)."""
    response = any_api.client.post(url, headers=any_api.auth("admin"))
    assert response.status_code == 422, response.text


def test_nul_in_the_url_is_refused_before_any_query(any_api: Api) -> None:
    """PostgreSQL refuses NUL in text, so a `%00` filter or ticket failed the query (500)."""
    seed_incidents(any_api)
    headers = any_api.auth("admin")
    for url in [
        "/api/incidents?camera=cam-a%00",
        "/api/export/incidents.csv?zone=%00",
        "/api/incidents/inc-new-a%00",
        "/api/cameras/cam-a%00/zones",
    ]:
        response = any_api.client.get(url, headers=headers)
        assert response.status_code == 400, (url, response.text)
        assert "NUL" in response.json()["detail"]
    response = any_api.client.get("/api/auth/me?ticket=%00")
    assert response.status_code == 400, response.text


def test_a_value_the_database_refuses_is_a_422(any_api: Api) -> None:
    """NUL inside a JSON body reached PostgreSQL, which failed the query (500)."""
    seed_incidents(any_api)
    headers = any_api.auth("admin")
    before = table_counts(any_api.engine)
    response = any_api.client.post(
        "/api/incidents/inc-conf-a/dispatch", json={"team": "team-1\u0000"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert table_counts(any_api.engine) == before
    detail = any_api.client.get("/api/incidents/inc-conf-a", headers=headers)
    assert detail.json()["status"] == "confirmed"


def test_static_files_do_not_leave_their_folder(sqlite_api: Api) -> None:
    for url in ["/..%2f..%2fpyproject.toml", "/%2e%2e/%2e%2e/pyproject.toml", "/index.html%00"]:
        response = sqlite_api.client.get(url)
        assert response.status_code == 404, (url, response.text[:200])
