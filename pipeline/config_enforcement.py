"""Config sections of the enforcement workflow: rectification, integrations, retention.

Kept apart from `pipeline.config` (cameras, zones, detection) so each file stays small;
`AppConfig` includes them under `rectification:`, `integrations:` and `retention:`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventName = Literal["incident.opened", "incident.updated"]
ALL_EVENTS: list[EventName] = ["incident.opened", "incident.updated"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RectificationConfig(_Section):
    """How the camera checks a spot after a patrol resolves an incident."""

    verify_s: float = Field(
        default=120.0, gt=0, le=86400, description="seconds the spot must stay clear"
    )
    reopen_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="seconds after the resolve in which a violator still there reopens it",
    )
    anti_recurrence_days: float = Field(
        default=7.0, gt=0, le=365, description="a return within this window is a linked repeat"
    )


class MqttConfig(_Section):
    """Publish alerts and incident updates to an MQTT broker."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = Field(default="streetwatch", min_length=1, pattern=r"^[^#+]+$")
    qos: int = Field(default=1, ge=0, le=2)
    client_id: str | None = None
    username: str | None = None
    password: str | None = None


class WebhookConfig(_Section):
    """POST every event as signed JSON to `url` (HMAC-SHA256 of the body with `secret`)."""

    url: str = Field(pattern=r"^https?://", max_length=1000)
    secret: str = Field(min_length=16, description="shared secret for the signature header")
    events: list[EventName] = Field(default_factory=lambda: list(ALL_EVENTS))
    max_attempts: int = Field(default=8, ge=1, le=50)
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class IntegrationsConfig(_Section):
    mqtt: MqttConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)


class RetentionConfig(_Section):
    """How long evidence is kept, by incident status, and a cap on the evidence folder.

    Evidence of incidents still open (new, confirmed, dispatched, acknowledged, resolved
    and waiting for the camera's check, reopened) or on legal hold is never deleted.
    """

    dismissed_days: float = Field(default=30.0, gt=0)
    closed_days: float = Field(
        default=365.0, gt=0, description="rectified incidents (confirmed and dealt with)"
    )
    disk_cap_gb: float | None = Field(
        default=None, gt=0, description="prune oldest eligible evidence above this size"
    )
