"""Sign-in, sign-out, the current user, and single-use tickets for WebSockets and media.

A session token comes back both in the JSON (for `Authorization: Bearer`) and as the
HttpOnly `sw_session` cookie (for the browser UI, which then sends `X-CSRF-Token` with
every write).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.deps import SESSION_COOKIE, CurrentUser, DbSession, SettingsDep
from api.schemas import LanguageUpdate, LoginRequest, LoginResponse, Me, Ok, TicketResponse
from api.security import LoginLimiter, verify_password
from pipeline.store import audit, users

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])


def _me(principal: CurrentUser) -> Me:
    return Me(
        username=principal.username,
        role=principal.role,  # type: ignore[arg-type]
        team=principal.team,
        language=principal.language,  # type: ignore[arg-type]
    )


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


@router.post("/login", response_model=LoginResponse)
def login(
    body: LoginRequest, request: Request, response: Response, db: DbSession, settings: SettingsDep
) -> LoginResponse:
    client = request.client.host if request.client else "unknown"
    limiter = _limiter(request)
    wait = limiter.retry_after(body.username, client)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins; try again later",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = users.find_user(db, body.username)
    if not verify_password(user.password_hash if user else None, body.password) or (
        user is None or user.disabled
    ):
        limiter.failed(body.username, client)
        logger.info("failed sign-in for a user name from %s", client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    limiter.succeeded(body.username, client)
    issued = users.start_session(db, user, timedelta(hours=settings.session_hours))
    audit.append(db, user.username, "auth.login", None, {"client": client})
    db.commit()
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    team = users.team_name(db, user.team_id)
    me = Me(username=user.username, role=user.role, team=team, language=user.language)  # type: ignore[arg-type]
    return LoginResponse(
        token=issued.token, csrf_token=issued.csrf_token, expires_at=issued.expires_at, user=me
    )


@router.post("/logout", response_model=Ok)
def logout(principal: CurrentUser, db: DbSession, response: Response) -> Ok:
    if principal.token is not None:
        users.end_session(db, principal.token)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return Ok()


@router.get("/me", response_model=Me)
def me(principal: CurrentUser, db: DbSession) -> Me:
    found = (
        users.session_user(db, principal.token)
        if principal.via == "cookie" and principal.token
        else None
    )
    csrf = found.session.csrf_token if found else None
    return _me(principal).model_copy(update={"csrf_token": csrf})


@router.put("/me/language", response_model=Me)
def set_language(body: LanguageUpdate, principal: CurrentUser, db: DbSession) -> Me:
    user = users.find_user(db, principal.username)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "user no longer exists")
    user.language = body.language
    db.commit()
    return _me(principal).model_copy(update={"language": body.language})


@router.post("/ticket", response_model=TicketResponse)
def ticket(principal: CurrentUser, db: DbSession, settings: SettingsDep) -> TicketResponse:
    user = users.find_user(db, principal.username)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "user no longer exists")
    value = users.issue_ticket(db, user, timedelta(seconds=settings.ticket_seconds))
    db.commit()
    return TicketResponse(ticket=value, expires_in=settings.ticket_seconds)
