"""Fixtures for hostile-request tests of the API: the app over SQLite (a copy of a migrated
template with cameras and people) or over PostgreSQL (a fresh database, skipped when none is
reachable). Test modules load it with `pytest_plugins = ["tests.reliability.api_fixtures"]`."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from api.settings import ApiSettings
from pipeline.config import AppConfig
from pipeline.store import catalog
from pipeline.store.db import make_engine, migrate
from tests.api.conftest import CONFIG, Api, build_template_db, seed_people
from tests.reliability.api_seed import build_api

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def fuzz_settings(tmp_path: Path) -> ApiSettings:
    return ApiSettings(data_dir=tmp_path, session_hours=1)


@pytest.fixture(scope="session")
def fuzz_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the cameras and people, copied for each test."""
    return build_template_db(tmp_path_factory.mktemp("fuzz-template") / "sw.db")


@pytest.fixture
def sqlite_api(tmp_path: Path, fuzz_settings: ApiSettings, fuzz_template_db: Path) -> Iterator[Api]:
    shutil.copyfile(fuzz_template_db, tmp_path / "sw.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    api = build_api(engine, tmp_path, fuzz_settings)
    yield api
    api.client.close()
    engine.dispose()


@pytest.fixture
def postgres_api(tmp_path: Path, fuzz_settings: ApiSettings) -> Iterator[Api]:
    """The same app over a fresh PostgreSQL database, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sw_fuzz_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        migrate(engine)
        catalog.import_config(engine, AppConfig.model_validate(CONFIG))
        seed_people(engine)
        api = build_api(engine, tmp_path, fuzz_settings)
        yield api
        api.client.close()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_api(request: pytest.FixtureRequest) -> Api:
    """The app over SQLite, then over PostgreSQL."""
    fixture = "sqlite_api" if request.param == "sqlite" else "postgres_api"
    api: Api = request.getfixturevalue(fixture)
    return api
