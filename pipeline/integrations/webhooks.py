"""Signed webhook deliveries: events are written to `webhook_deliveries` first, then a
worker thread POSTs them, retrying with capped exponential back-off and jitter; a delivery
that fails `max_attempts` times becomes a dead letter (status "dead") for an admin to see
and retry. See docs/integrations.md for the headers and how a receiver verifies them.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import Engine

from pipeline.alerts import ThreadSubscription
from pipeline.config_enforcement import WebhookConfig
from pipeline.integrations import deliveries
from pipeline.integrations.deliveries import DueDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Streetwatch-Signature"
TIMESTAMP_HEADER = "X-Streetwatch-Timestamp"
EVENT_HEADER = "X-Streetwatch-Event"
DELIVERY_HEADER = "X-Streetwatch-Delivery"
ATTEMPT_HEADER = "X-Streetwatch-Attempt"
MAX_RESPONSE_BYTES = 64 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is a failed delivery, reported as such, never a silent re-POST."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance_s: float = 300.0,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff_s(failures: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Wait after the n-th failure: between half and all of min(cap, base * 2^(n-1))."""
    ceiling = min(cap_s, base_s * 2.0 ** min(failures - 1, 60))
    return ceiling * (0.5 + 0.5 * rng.random())


def redact_url(url: str) -> str:
    """The URL without credentials or query string, for logs and error texts."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off between attempts; tests shrink these, deployments keep the defaults."""

    base_s: float = 5.0
    cap_s: float = 600.0
    poll_s: float = 1.0


class WebhookDispatcher:
    """Turns bus events into delivery rows and delivers them from a worker thread.

    >>> hooks = [WebhookConfig(url="https://example.org/hook", secret="s" * 32)]
    >>> dispatcher = WebhookDispatcher(engine, hooks, bus.subscribe_thread())  # doctest: +SKIP
    >>> dispatcher.start(); ...; dispatcher.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: Engine,
        hooks: Sequence[WebhookConfig],
        events: ThreadSubscription | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.hooks: dict[str, WebhookConfig] = {}
        for hook in hooks:
            if hook.url in self.hooks:
                log.warning(
                    "webhook %s is configured twice; the last entry wins", redact_url(hook.url)
                )
            self.hooks[hook.url] = hook
        self.events = events
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()
        self._now = now
        self._opener = urllib.request.build_opener(_NoRedirects())
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def enqueue(self, event: dict[str, Any]) -> list[int]:
        """Store one pending delivery per URL that wants this event type; returns row ids."""
        kind = event.get("type")
        urls = [url for url, hook in self.hooks.items() if kind in hook.events]
        if not urls or not isinstance(kind, str):
            return []
        ids = deliveries.enqueue(self.engine, urls, kind, event, self._now())
        self._wake.set()
        return ids

    def start(self) -> None:
        """Bury rows for URLs no longer configured, then start intake and delivery threads;
        rows left pending by an earlier run are picked up by the first delivery pass."""
        buried = deliveries.bury_unknown_urls(self.engine, self.hooks, self._now())
        if buried:
            log.warning("%d pending webhook deliveries had no configured URL; now dead", buried)
        self._threads = [threading.Thread(target=self._deliver_loop, name="webhooks", daemon=True)]
        if self.events is not None:
            self._threads.append(
                threading.Thread(target=self._intake_loop, name="webhook-intake", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Store the events still queued, then stop; undelivered rows stay pending."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)
        if self.events is not None:
            self.events.close()
            self._store_queued()

    def run_once(self) -> int:
        """One delivery pass: for every URL, send due deliveries in order until one fails
        or none is due. Returns the number of attempts made."""
        attempts = 0
        for url, hook in self.hooks.items():
            while not self._stop.is_set():
                due = deliveries.due_head(self.engine, url, self._now())
                if due is None:
                    break
                attempts += 1
                if not self._attempt(due, hook):
                    break
        return attempts

    def _attempt(self, due: DueDelivery, hook: WebhookConfig) -> bool:
        body = json.dumps(due.payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "streetwatch-webhooks",
            EVENT_HEADER: due.event,
            DELIVERY_HEADER: str(due.id),
            ATTEMPT_HEADER: str(due.attempts + 1),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
        }
        error = self._post(due.url, body, headers, hook.timeout_s)
        if error is None:
            deliveries.record_success(self.engine, due.id, self._now())
            return True
        failures = due.attempts + 1
        if failures >= hook.max_attempts:
            deliveries.record_failure(self.engine, due.id, error, None)
            log.warning(
                "webhook delivery %d (%s to %s) is dead after %d attempts: %s",
                due.id,
                due.event,
                redact_url(due.url),
                failures,
                error,
            )
        else:
            delay = backoff_s(failures, self.policy.base_s, self.policy.cap_s, self._rng)
            retry = deliveries.retry_at(self._now(), delay)
            deliveries.record_failure(self.engine, due.id, error, retry)
            log.info(
                "webhook delivery %d to %s failed (%s); attempt %d of %d in %.1f s",
                due.id,
                redact_url(due.url),
                error,
                failures + 1,
                hook.max_attempts,
                delay,
            )
        return False

    def _post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> str | None:
        """None when the receiver took it (2xx), else why not (no secrets, no query string)."""
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout_s) as response:
                response.read(MAX_RESPONSE_BYTES)
                code = int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return f"HTTP {exc.code} from {redact_url(url)}"
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, reset, ...
            reason = getattr(exc, "reason", None) or exc
            return f"{type(exc).__name__} posting to {redact_url(url)}: {reason}"
        return None if 200 <= code < 300 else f"HTTP {code} from {redact_url(url)}"

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass, so a wake-up during it is not lost
            try:
                self.run_once()
            except Exception:  # a database glitch must not end deliveries for good
                log.exception("webhook delivery pass failed")
            self._wake.wait(self.policy.poll_s)

    def _intake_loop(self) -> None:
        assert self.events is not None
        while not self._stop.is_set():
            event = self.events.get(timeout=0.2)
            if event is not None:
                self._store(event)

    def _store_queued(self) -> None:
        assert self.events is not None
        while (event := self.events.get(timeout=0)) is not None:
            self._store(event)

    def _store(self, event: dict[str, Any]) -> None:
        try:
            self.enqueue(event)
        except Exception:
            log.exception("could not store webhook deliveries for a %s event", event.get("type"))
