"""Webhook dead letters for admins: deliveries that failed every attempt, and a retry.

A retried delivery becomes pending with a fresh attempt budget; the running dispatcher
picks it up within its poll interval (a second by default).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentUser, DbSession, RuntimeDep
from api.params import RowId
from pipeline.integrations import deliveries
from pipeline.integrations.webhooks import redact_url
from pipeline.store.tables import WebhookDeliveryRow

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/webhooks", tags=["integrations"])


class WebhookDeliveryPublic(BaseModel):
    """One webhook delivery as admins see it (the URL without credentials or query)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    url: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]


def _public(row: WebhookDeliveryRow) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=row.id,
        url=redact_url(row.url),
        event=row.event,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        payload=row.payload,
    )


@router.get("/dead-letters", response_model=list[WebhookDeliveryPublic])
def list_dead_letters(
    db: DbSession, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[WebhookDeliveryPublic]:
    return [_public(row) for row in deliveries.dead_letters(db, limit)]


@router.post("/dead-letters/{delivery_id}/retry", response_model=WebhookDeliveryPublic)
def retry_dead_letter(
    delivery_id: RowId, db: DbSession, runtime: RuntimeDep, user: CurrentUser
) -> WebhookDeliveryPublic:
    row = db.get(WebhookDeliveryRow, delivery_id)
    if row is None or row.status != deliveries.DEAD:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {delivery_id}")
    configured = (
        {hook.url for hook in runtime.config.integrations.webhooks} if runtime.config else None
    )
    if configured is not None and row.url not in configured:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"no webhook with URL {redact_url(row.url)} is configured; add it to the "
            "config's integrations.webhooks and restart before retrying",
        )
    deliveries.revive(db, delivery_id, datetime.now(UTC))
    db.commit()
    logger.info("webhook delivery %d retried by %s", delivery_id, user.username)
    return _public(row)
