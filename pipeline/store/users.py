"""Users, teams, sign-in sessions and single-use tickets.

Tokens are never stored: sessions and tickets are keyed by the SHA-256 of the token, so a
copy of the database does not let anyone sign in. Password hashing is the caller's job.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pipeline.store.tables import SessionRow, TeamRow, TeamZoneRow, TicketRow, UserRow, utc_now

ROLES = ("admin", "supervisor", "monitor", "operator", "patrol")
LANGUAGES = ("en", "vi", "zh")


class UserError(ValueError):
    """A user or team request that cannot be carried out (message says why)."""


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_user(session: Session, username: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.username == username))


def find_team(session: Session, name: str) -> TeamRow | None:
    return session.scalar(select(TeamRow).where(TeamRow.name == name))


def team_name(session: Session, team_id: int | None) -> str | None:
    team = None if team_id is None else session.get(TeamRow, team_id)
    return None if team is None else team.name


def create_user(
    session: Session, username: str, password_hash: str, role: str, team: str | None = None
) -> UserRow:
    """Add a user; patrol users must name an existing team."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    team_id = None
    if team is not None:
        row = find_team(session, team)
        if row is None:
            raise UserError(f"no team named {team!r}; create it first")
        team_id = row.id
    if role == "patrol" and team_id is None:
        raise UserError("patrol users belong to a team: pass one")
    user = UserRow(username=username, password_hash=password_hash, role=role, team_id=team_id)
    session.add(user)
    session.flush()
    return user


def create_team(session: Session, name: str, zones: list[tuple[str, str]]) -> TeamRow:
    if find_team(session, name) is not None:
        raise UserError(f"team {name!r} already exists")
    team = TeamRow(name=name)
    session.add(team)
    session.flush()
    set_team_zones(session, team, zones)
    return team


def set_team_zones(session: Session, team: TeamRow, zones: list[tuple[str, str]]) -> None:
    session.execute(delete(TeamZoneRow).where(TeamZoneRow.team_id == team.id))
    session.add_all(TeamZoneRow(team_id=team.id, camera=c, zone=z) for c, z in sorted(set(zones)))
    session.flush()


def team_zones(session: Session, team_id: int) -> list[tuple[str, str]]:
    query = (
        select(TeamZoneRow.camera, TeamZoneRow.zone)
        .where(TeamZoneRow.team_id == team_id)
        .order_by(TeamZoneRow.camera, TeamZoneRow.zone)
    )
    return [(c, z) for c, z in session.execute(query)]


def start_session(session: Session, user: UserRow, lifetime: timedelta) -> IssuedSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = utc_now() + lifetime
    session.add(
        SessionRow(
            token_hash=token_hash(token), user_id=user.id, csrf_token=csrf, expires_at=expires_at
        )
    )
    # Expired sessions are dead weight; sign-in is a cheap moment to clear them.
    session.execute(delete(SessionRow).where(SessionRow.expires_at < utc_now()))
    return IssuedSession(token, csrf, expires_at)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session with its enabled user and the user's team name."""

    session: SessionRow
    user: UserRow
    team: str | None


def session_user(session: Session, token: str) -> SignedIn | None:
    """The live session and enabled user of a token, or None. One query: every request
    signs in through here."""
    query = (
        select(SessionRow, UserRow, TeamRow.name)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .outerjoin(TeamRow, TeamRow.id == UserRow.team_id)
        .where(SessionRow.token_hash == token_hash(token))
    )
    found = session.execute(query).first()
    if found is None:
        return None
    row, user, team = found
    if row.expires_at <= utc_now() or user.disabled:
        return None
    return SignedIn(row, user, team)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash(token)))


def issue_ticket(session: Session, user: UserRow, lifetime: timedelta) -> str:
    ticket = secrets.token_urlsafe(32)
    session.add(
        TicketRow(hash=token_hash(ticket), user_id=user.id, expires_at=utc_now() + lifetime)
    )
    session.execute(delete(TicketRow).where(TicketRow.expires_at < utc_now()))
    return ticket


def redeem_ticket(session: Session, ticket: str) -> UserRow | None:
    """The ticket's user, marking it used; a second redeem or an expired ticket gives None."""
    digest = token_hash(ticket)
    # One conditional UPDATE, so two requests racing with the same ticket cannot both win.
    result = session.execute(
        update(TicketRow)
        .where(TicketRow.hash == digest, TicketRow.used.is_(False))
        .where(TicketRow.expires_at > utc_now())
        .values(used=True)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(TicketRow, digest)
    user = None if row is None else session.get(UserRow, row.user_id)
    return None if user is None or user.disabled else user
