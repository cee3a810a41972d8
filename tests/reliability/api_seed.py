"""Seed data for hostile-request tests of the API: incidents in several statuses on both
cameras, evidence files, a suppressed spot and a dead webhook letter, so that detail, evidence
and action routes reach real rows instead of answering 404; and the counters that prove a
request stored nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.runtime import Runtime
from api.settings import ApiSettings
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.integrations import deliveries
from pipeline.records import EvidenceKind
from pipeline.store import suppression
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import Base
from pipeline.store.workflow import apply_action
from tests.api.conftest import CONFIG, T0, Api

DEAD_URL = "https://hooks.example.org/streetwatch"


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded rows, for path parameters and for checking filter results."""

    incidents: list[str]
    suppression_id: int
    delivery_id: int


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    """A small real JPEG (the upload checks decode it)."""
    image = np.full((height, width, 3), 120, np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return bytes(encoded.tobytes())


def seed_incidents(api: Api) -> Seeded:
    """Incidents on both cameras in new / confirmed / dismissed / dispatched status, with
    pictures and a clip on the first, a suppressed spot and one dead webhook delivery."""
    specs = [
        ("inc-new-a", "cam-a", "z1", "illegal_parking", 0),
        ("inc-conf-a", "cam-a", "z2", "street_vending", 1),
        ("inc-disp-a", "cam-a", "z1", "illegal_parking", 2),
        ("inc-new-b", "cam-b", "z1", "illegal_parking", 3),
        ("inc-dis-b1", "cam-b", "z1", "illegal_parking", 4),
        ("inc-dis-b2", "cam-b", "z1", "illegal_parking", 5),
        ("inc-dis-b3", "cam-b", "z1", "illegal_parking", 6),
    ]
    for incident_id, camera, zone, kind, hour in specs:
        api.add_incident(
            incident_id=incident_id,
            camera=camera,
            zone=zone,
            type=kind,
            alert_at=T0 + timedelta(hours=hour),
        )
    picture = jpeg_bytes()
    for kind in (EvidenceKind.first_seen, EvidenceKind.alert_clean, EvidenceKind.alert_annotated):
        api.write_evidence("inc-new-a", kind, picture)
    api.write_evidence("inc-new-a", EvidenceKind.clip, b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    with Session(api.engine) as session, session.begin():
        apply_action(session, "inc-conf-a", "review", "confirmed", "admin")
        apply_action(session, "inc-disp-a", "review", "confirmed", "admin")
        apply_action(session, "inc-disp-a", "dispatch", "dispatched", "admin", {"team": "team-1"})
        for incident_id in ("inc-dis-b1", "inc-dis-b2", "inc-dis-b3"):
            apply_action(session, incident_id, "review", "dismissed", "admin")
        spot = suppression.suppress(session, "inc-dis-b3", "keeps being dismissed", "admin")
        session.flush()
        suppression_id = spot.id
    now = datetime.now(UTC)
    (delivery_id,) = deliveries.enqueue(api.engine, [DEAD_URL], "incident.opened", {}, now)
    deliveries.record_failure(api.engine, delivery_id, "refused", None)
    return Seeded([spec[0] for spec in specs], suppression_id, delivery_id)


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table: proof that no request dropped or filled a table behind our back."""
    with Session(engine) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def data_files(folder: Path) -> list[Path]:
    """Every file under `folder` except the database itself (and its journal files)."""
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("sw.db")
    )


def build_api(engine: Engine, data_dir: Path, settings: ApiSettings) -> Api:
    """The app over `engine`, its evidence under `data_dir/evidence`."""
    evidence_dir = data_dir / "evidence"
    evidence_dir.mkdir(exist_ok=True)
    store = IncidentStore(engine)
    runtime = Runtime(
        engine, store, evidence_dir, AlertBus(), config=AppConfig.model_validate(CONFIG)
    )
    return Api(TestClient(create_app(settings, runtime)), runtime, engine, store, evidence_dir)
