"""Demo accounts for local trials and the demo script. Never use these on a real site.

| user       | password          | role       | team   |
|------------|-------------------|------------|--------|
| admin      | admin-demo-pass   | admin      |        |
| supervisor | super-demo-pass   | supervisor |        |
| monitor    | monitor-demo-pass | monitor    |        |
| operator   | operator-demo-pass| operator   |        |
| patrol     | patrol-demo-pass  | patrol     | team-1 |

`team-1` is given every zone in the catalog.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.security import hash_password
from pipeline.store import users
from pipeline.store.tables import ZoneRow

logger = logging.getLogger(__name__)

DEMO_TEAM = "team-1"
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin-demo-pass", "admin", None),
    ("supervisor", "super-demo-pass", "supervisor", None),
    ("monitor", "monitor-demo-pass", "monitor", None),
    ("operator", "operator-demo-pass", "operator", None),
    ("patrol", "patrol-demo-pass", "patrol", DEMO_TEAM),
)


def ensure_demo_users(engine: Engine) -> list[tuple[str, str, str, str | None]]:
    """Create the demo team and users that are missing; returns (user, password, role, team).

    Existing users keep their passwords; the demo team's zones are reset to all zones.
    """
    with Session(engine) as session, session.begin():
        zones = [(c, z) for c, z in session.execute(select(ZoneRow.camera, ZoneRow.name))]
        team = users.find_team(session, DEMO_TEAM)
        if team is None:
            users.create_team(session, DEMO_TEAM, zones)
        else:
            users.set_team_zones(session, team, zones)
        for username, password, role, team_name in DEMO_USERS:
            if users.find_user(session, username) is None:
                users.create_user(session, username, hash_password(password), role, team_name)
                logger.info("created demo user %s (%s)", username, role)
    return list(DEMO_USERS)
