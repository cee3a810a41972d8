"""Database engine set-up, Alembic migrations run from code, and a quick integrity check."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 10


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Long-running workers outlive server restarts and idle disconnects. A bounded
        # connect time lets writes go to the pending queue instead of hanging on a dead host.
        connect_args = (
            {"connect_timeout": PG_CONNECT_TIMEOUT_S} if _wants_connect_timeout(parsed) else {}
        )
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    _ensure_sqlite_folder(parsed)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _wants_connect_timeout(url: URL) -> bool:
    return url.get_backend_name() == "postgresql" and url.query.get("connect_timeout") is None


def _ensure_sqlite_folder(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Pragmas are per connection, so they must run on every new pool connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def alembic_config() -> Config:
    """An Alembic config built in code, so migrations run from an installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest revision (a no-op when it already is)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.info("database schema at head (%s)", engine.url.render_as_string(hide_password=True))


def check_integrity(engine: Engine) -> list[str]:
    """Problems found in the database; an empty list means it looks healthy."""
    try:
        with engine.connect() as connection:
            if engine.dialect.name != "sqlite":
                connection.execute(text("SELECT 1")).scalar_one()
                return []
            return _sqlite_problems(connection)
    except SQLAlchemyError as exc:
        return [f"database check failed: {exc}"]


def _sqlite_problems(connection: Any) -> list[str]:
    problems = [
        str(row[0])
        for row in connection.execute(text("PRAGMA integrity_check"))
        if str(row[0]) != "ok"
    ]
    for table, rowid, parent, _fk in connection.execute(text("PRAGMA foreign_key_check")):
        problems.append(f"{table} row {rowid}: missing parent in {parent}")
    return problems
