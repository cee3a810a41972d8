"""Request dependencies: database session, runtime, and authentication with role checks.

Every route runs `authorize` (added app-wide in `create_app`): it looks the route up in
`api.roles`, signs the caller in from a bearer token, the session cookie or a single-use
ticket, checks CSRF for cookie-authenticated writes, and checks the role.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Literal, ParamSpec, TypeVar

import anyio
from fastapi import Depends, HTTPException, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api import roles
from api.runtime import Runtime
from api.settings import ApiSettings
from pipeline.store import users
from pipeline.store.incident_query import TeamScope
from pipeline.store.tables import UserRow

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in caller of one request."""

    user_id: int
    username: str
    role: str
    team: str | None
    team_id: int | None
    language: str
    via: Literal["bearer", "cookie", "ticket"]
    token: str | None  # the session token (None for tickets), for sign-out

    @property
    def is_patrol(self) -> bool:
        return self.role == "patrol"


# Dependencies that only read memory are `async`: FastAPI runs a sync one in its thread
# pool, and under load those trips (several a request) cost more than the work itself.
async def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


async def get_settings(conn: HTTPConnection) -> ApiSettings:
    settings: ApiSettings = conn.app.state.settings
    return settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


async def run_db(runtime: Runtime, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Database reads of a route: on the event loop itself for a SQLite file, in the thread
    pool for a database server.

    A SQLite read is local and never waits for a lock (WAL), and a trip to the thread pool
    and back cost more CPU than the query (docs/reliability.md, Load: per-request CPU).
    A server database can stall on the network or be restarting, and that must not hold
    up every other request and the live WebSockets, so there the work goes to the thread
    pool. Writes always go there.
    """
    if runtime.reads_inline:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


async def get_db(runtime: RuntimeDep) -> AsyncIterator[Session]:
    # Opening a session does no I/O (it connects at its first query); closing it hands the
    # connection back.
    session = Session(runtime.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled request still returns its connection
            await run_db(runtime, session.close)


DbSession = Annotated[Session, Depends(get_db)]


def _principal(user: UserRow, team: str | None, via: str, token: str | None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        team=team,
        team_id=user.team_id,
        language=user.language,
        via=via,  # type: ignore[arg-type]
        token=token,
    )


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _from_session_token(
    conn: HTTPConnection, db: Session, token: str, via: str, method: str
) -> Principal:
    found = users.session_user(db, token)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired or signed out")
    if via == "cookie" and method in UNSAFE_METHODS:
        # A cookie rides along on cross-site requests; the header proves the page read
        # the CSRF token from our own login response.
        sent = conn.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), found.session.csrf_token.encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong X-CSRF-Token")
    return _principal(found.user, found.team, via, token)


def resolve_principal(conn: HTTPConnection, db: Session, method: str) -> Principal:
    """The caller, or 401. Order: bearer token, session cookie, single-use ticket."""
    bearer = _bearer(conn)
    if bearer is not None:
        return _from_session_token(conn, db, bearer, "bearer", method)
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return _from_session_token(conn, db, cookie, "cookie", method)
    ticket = conn.query_params.get("ticket")
    if ticket and method in ("GET", "HEAD", "WS"):
        user = users.redeem_ticket(db, ticket)
        db.commit()  # spend the ticket even if the request fails later
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "ticket expired or already used")
        return _principal(user, users.team_name(db, user.team_id), "ticket", None)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")


async def authorize(conn: HTTPConnection, db: DbSession, runtime: RuntimeDep) -> Principal | None:
    """The role check every route runs; returns the caller (None on public routes)."""
    route = conn.scope.get("route")
    path = getattr(route, "path", None)
    method = "WS" if conn.scope["type"] == "websocket" else conn.scope["method"]
    allowed = roles.allowed_roles(method, path) if path else None
    if allowed is None:
        # Fail closed: a route nobody put in the table is open to nobody.
        logger.error("route %s %s has no entry in api.roles", method, path)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "route not in the role table")
    if allowed == roles.PUBLIC:
        return None
    # A single-use ticket is spent with a write: that sign-in goes to the thread pool.
    if _bearer(conn) is None and not conn.cookies.get(SESSION_COOKIE):
        principal = await run_in_threadpool(resolve_principal, conn, db, method)
    else:
        principal = await run_db(runtime, resolve_principal, conn, db, method)
    if principal.role not in allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
    conn.state.principal = principal
    return principal


async def current_user(
    conn: HTTPConnection, _checked: Annotated[object, Depends(authorize)]
) -> Principal:
    principal: Principal | None = getattr(conn.state, "principal", None)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def team_scope(principal: Principal, db: Session) -> TeamScope | None:
    """The visibility limit of a patrol user (None: sees everything)."""
    if not principal.is_patrol:
        return None
    zones = users.team_zones(db, principal.team_id) if principal.team_id is not None else []
    return TeamScope(principal.team, zones)


async def get_scope(principal: CurrentUser, db: DbSession, runtime: RuntimeDep) -> TeamScope | None:
    if not principal.is_patrol:
        return None  # most callers: no database work
    return await run_db(runtime, team_scope, principal, db)


ScopeDep = Annotated[TeamScope | None, Depends(get_scope)]
