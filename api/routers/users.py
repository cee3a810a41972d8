"""User accounts and patrol teams."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, DbSession
from api.schemas import TeamCreate, TeamPublic, TeamUpdate, TeamZone, UserCreate, UserPublic
from api.security import hash_password
from pipeline.store import audit, catalog, users
from pipeline.store.tables import TeamRow, UserRow, ZoneRow

router = APIRouter(prefix="/api", tags=["users"])


def _user_public(db: Session, row: UserRow) -> UserPublic:
    return UserPublic(
        username=row.username,
        role=row.role,  # type: ignore[arg-type]
        team=users.team_name(db, row.team_id),
        language=row.language,  # type: ignore[arg-type]
        disabled=row.disabled,
        created_at=row.created_at,
    )


def _team_public(db: Session, team: TeamRow) -> TeamPublic:
    members = db.scalars(
        select(UserRow.username).where(UserRow.team_id == team.id).order_by(UserRow.username)
    )
    zones = [TeamZone(camera=c, zone=z) for c, z in users.team_zones(db, team.id)]
    return TeamPublic(name=team.name, zones=zones, members=list(members))


@router.get("/users", response_model=list[UserPublic])
def list_users(db: DbSession) -> list[UserPublic]:
    return [_user_public(db, r) for r in db.scalars(select(UserRow).order_by(UserRow.username))]


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, principal: CurrentUser, db: DbSession) -> UserPublic:
    try:
        row = users.create_user(
            db, body.username, hash_password(body.password), body.role, body.team
        )
    except users.UserError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit.append(
        db, principal.username, "user.create", None, {"username": body.username, "role": body.role}
    )
    db.commit()
    return _user_public(db, row)


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(db: DbSession) -> list[TeamPublic]:
    return [_team_public(db, t) for t in db.scalars(select(TeamRow).order_by(TeamRow.name))]


def _checked_zones(db: Session, zones: list[TeamZone]) -> list[tuple[str, str]]:
    """The (camera, zone) pairs, each of which must be in the catalog (else 422)."""
    pairs = [(z.camera, z.zone) for z in zones]
    if catalog.is_empty(db):
        return pairs  # nothing imported yet: cannot check, accept as given
    unknown = [f"{c}/{z}" for c, z in pairs if db.get(ZoneRow, (c, z)) is None]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown zones: {', '.join(unknown)}"
        )
    return pairs


@router.post("/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED)
def create_team(body: TeamCreate, principal: CurrentUser, db: DbSession) -> TeamPublic:
    try:
        team = users.create_team(db, body.name, _checked_zones(db, body.zones))
    except users.UserError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    detail = {"team": body.name, "zones": [f"{z.camera}/{z.zone}" for z in body.zones]}
    audit.append(db, principal.username, "team.create", None, detail)
    db.commit()
    return _team_public(db, team)


@router.put("/teams/{name}", response_model=TeamPublic)
def update_team(name: str, body: TeamUpdate, principal: CurrentUser, db: DbSession) -> TeamPublic:
    team = users.find_team(db, name)
    if team is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no team named {name!r}")
    users.set_team_zones(db, team, _checked_zones(db, body.zones))
    detail = {"team": name, "zones": [f"{z.camera}/{z.zone}" for z in body.zones]}
    audit.append(db, principal.username, "team.update", None, detail)
    db.commit()
    return _team_public(db, team)
