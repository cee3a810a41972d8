"""Sign-in, sessions, CSRF, tickets and the login rate limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.store.tables import SessionRow, utc_now
from pipeline.store.users import token_hash
from tests.api.conftest import PASSWORD, Api


def test_health_needs_no_sign_in(api: Api) -> None:
    assert api.client.get("/api/health").json() == {"status": "ok"}


def test_login_returns_token_and_sets_strict_httponly_cookie(api: Api) -> None:
    response = api.client.post("/api/auth/login", json={"username": "patrol", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "username": "patrol",
        "role": "patrol",
        "team": "team-1",
        "language": "en",
        "csrf_token": None,  # given once, beside the user, in the login response
    }
    assert body["csrf_token"] and body["expires_at"]
    cookie = response.headers["set-cookie"]
    assert f"sw_session={body['token']}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in tests
    # Only a hash of the token is stored.
    with Session(api.engine) as session:
        stored = session.scalars(select(SessionRow.token_hash)).all()
    assert token_hash(body["token"]) in stored and body["token"] not in stored


def test_bad_credentials_are_401(api: Api) -> None:
    for name, password in (("admin", "wrong-password"), ("nobody", PASSWORD)):
        response = api.client.post("/api/auth/login", json={"username": name, "password": password})
        assert response.status_code == 401
        assert "detail" in response.json()


def test_routes_need_sign_in(api: Api) -> None:
    assert api.client.get("/api/incidents").status_code == 401
    assert api.client.get("/api/auth/me").status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert api.client.get("/api/auth/me", headers=bad).status_code == 401


def test_cookie_session_me_and_logout(api: Api) -> None:
    login = api.login("operator")
    me = api.client.get("/api/auth/me").json()
    assert me["username"] == "operator"
    assert me["csrf_token"] == login["csrf_token"]  # a reloaded page gets it back
    csrf = {"X-CSRF-Token": login["csrf_token"]}
    assert api.client.post("/api/auth/logout", headers=csrf).status_code == 200
    api.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {login['token']}"}
    assert api.client.get("/api/auth/me", headers=bearer).status_code == 401


def test_expired_session_is_401(api: Api) -> None:
    headers = api.auth("monitor")
    me = api.client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["csrf_token"] is None  # bearer clients need none
    with Session(api.engine) as session, session.begin():
        session.execute(update(SessionRow).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert api.client.get("/api/auth/me", headers=headers).status_code == 401


def test_failed_logins_are_rate_limited(api: Api) -> None:
    wrong = {"username": "admin", "password": "wrong-password"}
    codes = [api.client.post("/api/auth/login", json=wrong).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    right = {"username": "admin", "password": PASSWORD}
    limited = api.client.post("/api/auth/login", json=right)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    # Another user name from the same address is not blocked.
    other = {"username": "monitor", "password": PASSWORD}
    assert api.client.post("/api/auth/login", json=other).status_code == 200


def test_cookie_writes_need_csrf_header_bearer_writes_do_not(api: Api) -> None:
    login = api.login("admin")
    body = {"language": "vi"}
    assert api.client.put("/api/auth/me/language", json=body).status_code == 403
    wrong = {"X-CSRF-Token": "guess"}
    assert api.client.put("/api/auth/me/language", json=body, headers=wrong).status_code == 403
    right = {"X-CSRF-Token": login["csrf_token"]}
    response = api.client.put("/api/auth/me/language", json=body, headers=right)
    assert response.status_code == 200 and response.json()["language"] == "vi"
    # Reads with the cookie need no CSRF header.
    assert api.client.get("/api/auth/me").json()["language"] == "vi"
    api.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {login['token']}"}
    zh = api.client.put("/api/auth/me/language", json={"language": "zh"}, headers=bearer)
    assert zh.status_code == 200


def test_language_must_be_supported(api: Api) -> None:
    response = api.client.put(
        "/api/auth/me/language", json={"language": "fr"}, headers=api.auth("admin")
    )
    assert response.status_code == 422


def test_ticket_is_single_use(api: Api) -> None:
    response = api.client.post("/api/auth/ticket", headers=api.auth("monitor"))
    assert response.status_code == 200
    ticket = response.json()["ticket"]
    assert response.json()["expires_in"] == 30
    assert api.client.get(f"/api/incidents?ticket={ticket}").status_code == 200
    assert api.client.get(f"/api/incidents?ticket={ticket}").status_code == 401


def test_ticket_cannot_authorise_writes(api: Api) -> None:
    ticket = api.client.post("/api/auth/ticket", headers=api.auth("admin")).json()["ticket"]
    response = api.client.put(f"/api/auth/me/language?ticket={ticket}", json={"language": "vi"})
    assert response.status_code == 401


def test_cors_closed_by_default(api: Api) -> None:
    response = api.client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
