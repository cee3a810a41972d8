"""API deployment settings (environment / `.env`, prefix `STREETWATCH_`)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from pipeline.settings import Settings


class ApiSettings(Settings):
    """Storage settings plus what the HTTP API needs.

    `STREETWATCH_SESSION_HOURS=8`, `STREETWATCH_CORS_ORIGINS=https://wall.example.org,...`,
    `STREETWATCH_MAX_BODY_BYTES=6291456`
    """

    session_hours: float = 12.0
    # Comma-separated origins; empty keeps CORS closed (the UI is served from the same origin).
    cors_origins: str = ""
    login_max_failures: int = 5
    login_window_s: float = 60.0
    ticket_seconds: int = 30
    # One uploaded photo (resolution or report photo), checked after the form is parsed.
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    # Any request body, checked before it is read (413 otherwise). It must leave room for a
    # photo of `max_upload_bytes` plus the form's other fields.
    max_body_bytes: int = Field(default=6 * 1024 * 1024, gt=0)
    # HTTP requests inside the app at once (the rest wait their turn, see api.request_limit).
    # Well below the database pool's 15 connections. The routes are CPU work under one
    # interpreter lock, so more at once only adds thread switching: the incident list cost
    # 24 ms of CPU a request with 10 at once, 17.5 ms with 2 (SQLite, 2 cores).
    max_concurrent_requests: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _body_holds_a_photo(self) -> Self:
        if self.max_body_bytes <= self.max_upload_bytes:
            raise ValueError(
                f"max_body_bytes ({self.max_body_bytes}) must be larger than max_upload_bytes "
                f"({self.max_upload_bytes}): a photo is sent inside a request body"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
