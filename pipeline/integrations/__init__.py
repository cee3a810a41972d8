"""Integrations fed by the AlertBus: MQTT publishing and signed webhooks.

`Integrations(config.integrations, bus, engine)` subscribes to the bus at once (so nothing
published before `start()` is missed), `start()` connects and starts the worker threads,
`stop()` flushes and stops them. With nothing configured it does nothing.

>>> integrations = Integrations(app_config.integrations, bus, engine)  # doctest: +SKIP
>>> integrations.start(); ...; integrations.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from pipeline.alerts import AlertBus
from pipeline.config_enforcement import IntegrationsConfig
from pipeline.integrations.mqtt import MqttPublisher
from pipeline.integrations.webhooks import RetryPolicy, WebhookDispatcher, redact_url

log = logging.getLogger(__name__)


class Integrations:
    """The configured MQTT publisher and webhook dispatcher, started and stopped together."""

    def __init__(
        self,
        config: IntegrationsConfig,
        bus: AlertBus,
        engine: Engine,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.mqtt = (
            MqttPublisher(config.mqtt, bus.subscribe_thread()) if config.mqtt is not None else None
        )
        self.webhooks = (
            WebhookDispatcher(engine, config.webhooks, bus.subscribe_thread(), policy=retry)
            if config.webhooks
            else None
        )

    @property
    def enabled(self) -> bool:
        return self.mqtt is not None or self.webhooks is not None

    def describe(self) -> str:
        parts = []
        if self.mqtt is not None:
            parts.append(f"MQTT {self.mqtt.where}")
        if self.webhooks is not None:
            parts.append("webhooks " + ", ".join(redact_url(u) for u in self.webhooks.hooks))
        return "; ".join(parts) or "none"

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.start()
        if self.webhooks is not None:
            self.webhooks.start()
        if self.enabled:
            log.info("integrations: %s", self.describe())

    def stop(self) -> None:
        # Each in its own try: a failing MQTT shutdown must not leave webhooks unsaved.
        for part in (self.mqtt, self.webhooks):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
