"""The role table covers every route, and each route enforces it for every role."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketDenialResponse

from api.roles import PUBLIC, ROLES, ROUTE_ROLES, render_markdown
from pipeline.store import users
from tests.api.conftest import Api

ROLE_USERS = {"admin": "admin", "supervisor": "supervisor", "monitor": "monitor"}
ROLE_USERS |= {"operator": "operator", "patrol": "patrol"}
STREAMS = {"/api/live/sse"}


def app_routes(api: Api) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    for context in iter_route_contexts(api.client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            routes.append(("WS", route.path))
        elif isinstance(route, APIRoute):
            routes += [(method, route.path) for method in sorted(route.methods or ())]
    return routes


def fresh_token(api: Api, username: str) -> str:
    # A new session per call: some routes (logout) end the session they are called with.
    with Session(api.engine) as session:
        user = users.find_user(session, username)
        assert user is not None
        issued = users.start_session(session, user, timedelta(hours=1))
        session.commit()
    return issued.token


def call(api: Api, method: str, path: str, token: str | None, server: str) -> int:
    url = re.sub(r"\{[^}]+\}", "nope", path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if path in STREAMS:
        # An event stream never ends, so TestClient would wait forever: ask a real server.
        with httpx.stream(method, server + url, headers=headers, timeout=5) as response:
            return response.status_code
    if method == "WS":
        try:
            with api.client.websocket_connect(url, headers=headers):
                return 101
        except WebSocketDenialResponse as denied:
            return denied.status_code
    return api.client.request(method, url, headers=headers, json={}).status_code


def test_every_route_is_in_the_role_table_and_nothing_else(api: Api) -> None:
    routes = app_routes(api)
    missing = [r for r in routes if r not in ROUTE_ROLES]
    assert missing == [], f"add these routes to api/roles.py: {missing}"
    stale = [key for key in ROUTE_ROLES if key not in routes]
    assert stale == [], f"api/roles.py lists routes that do not exist: {stale}"


def test_roles_doc_is_rendered_from_the_table() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), (
        "docs/roles.md is stale: run `python -m api.roles > docs/roles.md`"
    )


@pytest.mark.parametrize("key", sorted(ROUTE_ROLES))
def test_route_enforces_its_roles(
    api: Api, key: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    method, path = key
    server = str(request.getfixturevalue("server")) if path in STREAMS else ""
    allowed = ROUTE_ROLES[key]
    anonymous = call(api, method, path, None, server)
    if allowed == PUBLIC:
        assert anonymous not in (401, 403), f"{method} {path} should be public"
        return
    assert anonymous == 401, f"{method} {path} without sign-in gave {anonymous}"
    for role in ROLES:
        code = call(api, method, path, fresh_token(api, ROLE_USERS[role]), server)
        if role in allowed:
            assert code not in (401, 403), f"{role} refused on {method} {path} ({code})"
        else:
            assert code == 403, f"{role} on {method} {path} gave {code}, expected 403"
