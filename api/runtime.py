"""What the API works against: storage, the alert bus and the running cameras."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.evidence import EvidenceWriter
from pipeline.live import LiveCamera
from pipeline.store.repository import IncidentStore


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
    cameras: dict[str, LiveCamera] = field(default_factory=dict)
    # Called in order at start-up (start cameras) and at shutdown (stop cameras, then
    # finish the evidence in flight).
    on_startup: list[Callable[[], None]] = field(default_factory=list)
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)

    @property
    def reads_inline(self) -> bool:
        """Whether routes may read the database on the event loop itself (see `run_db`)."""
        return self.engine.dialect.name == "sqlite"

    @property
    def writer(self) -> EvidenceWriter:
        return EvidenceWriter(self.evidence_dir)
