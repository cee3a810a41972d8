"""Deployment settings (data folder, database, evidence folder), read from the environment.

Every field can be set with a `STREETWATCH_` prefixed variable or in a `.env` file, e.g.
`STREETWATCH_DATABASE_URL=postgresql+psycopg://user@host/db`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where streetwatch keeps its database and evidence files."""

    model_config = SettingsConfigDict(
        env_prefix="STREETWATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    evidence_dir: Path | None = None

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside `data_dir`."""
        if self.database_url:
            return self.database_url
        db_path = (self.data_dir / "streetwatch.db").resolve()
        return f"sqlite:///{db_path.as_posix()}"

    @property
    def resolved_evidence_dir(self) -> Path:
        """The configured evidence folder, or `<data_dir>/evidence`."""
        if self.evidence_dir is not None:
            return self.evidence_dir
        return self.data_dir / "evidence"
