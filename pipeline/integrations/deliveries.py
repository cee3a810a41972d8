"""The webhook delivery table: one row per (event, URL), pending until delivered or dead.

Rows are the durable queue: an event is written here before any POST is tried, so pending
deliveries survive a restart and are sent when the dispatcher starts again. Each URL is
served in order: only its oldest pending row (the head) is tried, so a receiver that is
down costs one request per back-off step, not one per queued event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.store.tables import WebhookDeliveryRow

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """What one attempt needs, copied out of the row so no session is held during the POST."""

    id: int
    url: str
    event: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    engine: Engine, urls: Iterable[str], event: str, payload: dict[str, Any], now: datetime
) -> list[int]:
    """One pending row per URL for this event; returns the new rows' ids."""
    with Session(engine) as session, session.begin():
        rows = [
            WebhookDeliveryRow(
                url=url,
                event=event,
                payload=payload,
                status=PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
            for url in urls
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def due_head(engine: Engine, url: str, now: datetime) -> DueDelivery | None:
    """The oldest pending delivery for `url`, if its next attempt is due."""
    with Session(engine) as session:
        row = session.scalars(
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.url == url, WebhookDeliveryRow.status == PENDING)
            .order_by(WebhookDeliveryRow.id)
            .limit(1)
        ).first()
        if row is None or (row.next_attempt_at is not None and row.next_attempt_at > now):
            return None
        return DueDelivery(row.id, row.url, row.event, dict(row.payload), row.attempts)


def record_success(engine: Engine, delivery_id: int, now: datetime) -> None:
    with Session(engine) as session, session.begin():
        row = session.get_one(WebhookDeliveryRow, delivery_id)
        row.status = DELIVERED
        row.attempts += 1
        row.delivered_at = now
        row.next_attempt_at = None


def record_failure(
    engine: Engine, delivery_id: int, error: str, next_attempt_at: datetime | None
) -> int:
    """Count a failed attempt; `next_attempt_at=None` makes the row dead. Returns attempts."""
    with Session(engine) as session, session.begin():
        row = session.get_one(WebhookDeliveryRow, delivery_id)
        row.attempts += 1
        row.last_error = error[:MAX_ERROR_CHARS]
        row.next_attempt_at = next_attempt_at
        if next_attempt_at is None:
            row.status = DEAD
        return row.attempts


def bury_unknown_urls(engine: Engine, known: Iterable[str], now: datetime) -> int:
    """Pending rows for URLs no longer configured become dead letters; returns how many."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.status == PENDING,
                WebhookDeliveryRow.url.not_in(list(known)),
            )
            .values(
                status=DEAD,
                next_attempt_at=None,
                last_error="no webhook with this URL in the config any more",
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def dead_letters(session: Session, limit: int = 100) -> list[WebhookDeliveryRow]:
    """Dead deliveries, newest first."""
    query = (
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.status == DEAD)
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def revive(session: Session, delivery_id: int, now: datetime) -> WebhookDeliveryRow:
    """Make a dead delivery pending again with a fresh attempt budget (caller commits).

    Raises LookupError when there is no such row and ValueError when it is not dead.
    """
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        raise LookupError(f"no webhook delivery {delivery_id}")
    if row.status != DEAD:
        raise ValueError(f"webhook delivery {delivery_id} is {row.status}, not dead")
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    return row


def retry_at(now: datetime, delay_s: float) -> datetime:
    return now + timedelta(seconds=delay_s)
