"""API deployment settings (environment / `.env`, prefix `STREETWATCH_`)."""

from __future__ import annotations

from pipeline.settings import Settings


class ApiSettings(Settings):
    """Storage settings plus what the HTTP API needs.

    `STREETWATCH_SESSION_HOURS=8`, `STREETWATCH_CORS_ORIGINS=https://wall.example.org,...`
    """

    session_hours: float = 12.0
    # Comma-separated origins; empty keeps CORS closed (the UI is served from the same origin).
    cors_origins: str = ""
    login_max_failures: int = 5
    login_window_s: float = 60.0
    ticket_seconds: int = 30
    max_upload_bytes: int = 5 * 1024 * 1024

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
