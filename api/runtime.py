"""What the API works against: storage, the alert bus and the running cameras."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine

from pipeline.alerts import AlertBus
from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.evidence import EvidenceWriter
from pipeline.live import CameraStatus
from pipeline.store.repository import IncidentStore

logger = logging.getLogger(__name__)


class CameraHandle(Protocol):
    """A running camera as the routes use it: a `LiveCamera` in the process that runs it,
    an `api.relay.RemoteCamera` in an API worker process."""

    camera: CameraConfig
    status: CameraStatus

    @property
    def latest_jpeg(self) -> bytes | None: ...

    def replace_zones(self, zones: list[ZoneConfig]) -> None: ...


@dataclass
class Runtime:
    """Everything long-lived the routes use; built by `streetwatch serve` or by tests.

    >>> Runtime(engine, IncidentStore(engine), Path("data/evidence"), AlertBus())  # doctest: +SKIP
    """

    engine: Engine
    store: IncidentStore
    evidence_dir: Path
    bus: AlertBus
    config: AppConfig | None = None
    # Running cameras by name; empty when the API runs without live analysis.
    cameras: dict[str, CameraHandle] = field(default_factory=dict)
    # False in an API worker process: the camera process announces camera state changes.
    announces_cameras: bool = True
    # Called in order at start-up (start cameras) and at shutdown (stop cameras, then
    # finish the evidence in flight).
    on_startup: list[Callable[[], None]] = field(default_factory=list)
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        for step in self.on_startup:
            step()

    def stop(self) -> None:
        for step in self.on_shutdown:
            try:
                step()
            except Exception:  # one failing step must not skip the others
                logger.exception("shutdown step %r failed", step)

    @property
    def reads_inline(self) -> bool:
        """Whether routes may read the database on the event loop itself (see `run_db`)."""
        return self.engine.dialect.name == "sqlite"

    @property
    def writer(self) -> EvidenceWriter:
        return EvidenceWriter(self.evidence_dir)
