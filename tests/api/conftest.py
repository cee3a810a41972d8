"""Fixtures for API tests: a migrated SQLite database in tmp_path, a catalog of two cameras,
one user per role, and helpers to seed incidents and sign in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.runtime import Runtime
from api.settings import ApiSettings
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord
from pipeline.store import catalog, users
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.served import served_on_loopback

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"
ROLE_USERS = {"admin": None, "supervisor": None, "monitor": None, "operator": None}
# Cheap hashes keep the tests fast; verification reads the parameters from the hash.
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
CONFIG = {
    "cameras": [
        {
            "name": "cam-a",
            "source": "a.mp4",
            "zones": [
                {"name": "z1", "polygon": SQUARE, "rule": "illegal_parking"},
                {"name": "z2", "polygon": SQUARE, "rule": "street_vending"},
            ],
        },
        {
            "name": "cam-b",
            "source": "b.mp4",
            "zones": [{"name": "z1", "polygon": SQUARE, "rule": "illegal_parking"}],
        },
    ]
}


@dataclass
class Api:
    """The app under test with its storage, and helpers to seed data and sign in."""

    client: TestClient
    runtime: Runtime
    engine: Engine
    store: IncidentStore
    evidence_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        """A session token for a seeded user, made directly (no password hashing)."""
        if username not in self.tokens:
            with Session(self.engine) as session:
                user = users.find_user(session, username)
                assert user is not None
                issued = users.start_session(session, user, timedelta(hours=1))
                session.commit()
            self.tokens[username] = issued.token
        return self.tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def add_incident(self, **overrides: Any) -> IncidentRecord:
        record = make_record(**overrides)
        self.store.add_incident(record)
        return record

    def write_evidence(self, incident_id: str, kind: EvidenceKind, data: bytes) -> EvidenceFile:
        relative = f"{incident_id[:2]}/{incident_id}/{kind.value}.bin"
        path = self.evidence_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        media = "video/mp4" if kind is EvidenceKind.clip else "image/jpeg"
        file = EvidenceFile(kind, relative, "00" * 32, len(data), media)
        self.store.add_evidence(incident_id, [file])
        return file


def make_record(
    incident_id: str = "inc-0001",
    camera: str = "cam-a",
    zone: str = "z1",
    alert_at: datetime = T0,
    type: str = "illegal_parking",
    status: str = "new",
    repeat_of: str | None = None,
) -> IncidentRecord:
    return IncidentRecord(
        id=incident_id,
        camera=camera,
        zone=zone,
        type=type,
        severity="medium",
        first_seen_s=10.0,
        alert_s=70.0,
        last_seen_s=80.0,
        first_seen_at=alert_at - timedelta(seconds=60),
        alert_at=alert_at,
        last_seen_at=alert_at + timedelta(seconds=10),
        box=(10.0, 20.0, 110.0, 220.0),
        confidence=0.9,
        object_classes=["car"],
        status=status,
        repeat_of=repeat_of,
    )


def seed_people(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        users.create_team(session, "team-1", [("cam-a", "z1"), ("cam-a", "z2")])
        users.create_team(session, "team-2", [("cam-b", "z1")])
        hashed = _FAST_HASHER.hash(PASSWORD)
        for role in ROLE_USERS:
            users.create_user(session, role, hashed, role)
        users.create_user(session, "patrol", hashed, "patrol", "team-1")
        users.create_user(session, "patrol2", hashed, "patrol", "team-2")


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return ApiSettings(data_dir=tmp_path, session_hours=1)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded database file, copied for each test (migrations are slow-ish)."""
    return build_template_db(tmp_path_factory.mktemp("template") / "sw.db")


def build_template_db(path: Path) -> Path:
    """A migrated SQLite file at `path` with CONFIG's cameras and the seeded people."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    catalog.import_config(engine, AppConfig.model_validate(CONFIG))
    seed_people(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def api(tmp_path: Path, settings: ApiSettings, template_db: Path) -> Iterator[Api]:
    shutil.copyfile(template_db, tmp_path / "sw.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    store = IncidentStore(engine)
    runtime = Runtime(
        engine, store, evidence_dir, AlertBus(), config=AppConfig.model_validate(CONFIG)
    )
    client = TestClient(create_app(settings, runtime))
    yield Api(client, runtime, engine, store, evidence_dir)
    client.close()
    engine.dispose()


@pytest.fixture
def server(api: Api, settings: ApiSettings) -> Iterator[str]:
    """The app served by uvicorn on a free port (for streams TestClient cannot end)."""
    with served_on_loopback(create_app(settings, api.runtime)) as port:
        yield f"http://127.0.0.1:{port}"
