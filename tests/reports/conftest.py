"""A month of incidents with real JPEG evidence in a SQLite database under tmp_path.

Camera `gate-1` (Asia/Ho_Chi_Minh) has a parking curb owned by team-a and a vending
walkway owned by team-b. The curb car comes back twice (a repeat chain); one incident was
dismissed, one is unreviewed, one falls in the month before.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import AppConfig
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord
from pipeline.store import catalog, users
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import IncidentRow

# The API fixtures, for tests/reports/test_api.py.
from tests.api.conftest import api, settings, template_db  # noqa: F401

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WIDTH, HEIGHT = 640, 360
CAR_BOX = (100.0, 150.0, 300.0, 300.0)
STALL_BOX = (380.0, 120.0, 560.0, 330.0)
CONFIG = {
    "cameras": [
        {
            "name": "gate-1",
            "source": "gate.mp4",
            "timezone": "Asia/Ho_Chi_Minh",
            "zones": [
                {
                    "name": "curb",
                    "polygon": [[0, 0.3], [0.5, 0.3], [0.5, 1], [0, 1]],
                    "rule": "illegal_parking",
                },
                {
                    "name": "walk",
                    "polygon": [[0.5, 0.3], [1, 0.3], [1, 1], [0.5, 1]],
                    "rule": "street_vending",
                },
            ],
        }
    ]
}


def noise_picture(seed: int) -> np.ndarray:
    """A textured street stand-in: every region has high variance until it is blurred."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)


def write_jpeg(root: Path, relative: str, image: np.ndarray) -> EvidenceFile:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = encoded.tobytes()
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return EvidenceFile(EvidenceKind.alert_annotated, relative, digest, len(data), "image/jpeg")


def local(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=TZ)


@dataclass(frozen=True)
class Seed:
    id: str
    zone: str
    at: datetime
    status: str
    box: tuple[float, float, float, float] = CAR_BOX
    classes: tuple[str, ...] = ("car",)
    rule: str = "illegal_parking"
    repeat_of: str | None = None
    workflow: dict[str, Any] | None = None


SEEDS = [
    Seed(
        "car-1",
        "curb",
        local(3, 8),
        "resolved",
        workflow={"team": "team-a", "reviewed": 120, "dispatched": 600, "resolved": 3600},
    ),
    Seed("car-2", "curb", local(10, 8), "confirmed", repeat_of="car-1", workflow={"reviewed": 60}),
    Seed(
        "car-3",
        "curb",
        local(17, 9),
        "rectified",
        repeat_of="car-2",
        workflow={
            "team": "team-a",
            "reviewed": 90,
            "dispatched": 300,
            "resolved": 1800,
            "rectified": 7200,
        },
    ),
    Seed(
        "stall-1",
        "walk",
        local(5, 18),
        "confirmed",
        STALL_BOX,
        ("umbrella", "person"),
        "street_vending",
        workflow={"reviewed": 30},
    ),
    Seed("stall-2", "walk", local(12, 19), "new", STALL_BOX, ("umbrella",), "street_vending"),
    Seed(
        "false-1",
        "curb",
        local(6, 11),
        "dismissed",
        (10.0, 10.0, 60.0, 60.0),
        workflow={"reviewed": 20},
    ),
    Seed("october", "curb", local(31, 22, month=10), "confirmed", workflow={"reviewed": 10}),
    # Text that would break HTML or ReportLab markup if it were not escaped.
    Seed("odd-zone", "<b>&x</b>", local(20, 7), "confirmed", workflow={"reviewed": 40}),
]


def _record(seed: Seed, evidence: EvidenceFile) -> IncidentRecord:
    return IncidentRecord(
        id=seed.id,
        camera="gate-1",
        zone=seed.zone,
        type=seed.rule,
        severity="medium",
        first_seen_s=0.0,
        alert_s=60.0,
        last_seen_s=90.0,
        first_seen_at=seed.at - timedelta(seconds=60),
        alert_at=seed.at,
        last_seen_at=seed.at + timedelta(seconds=30),
        box=seed.box,
        confidence=0.9,
        object_classes=list(seed.classes),
        repeat_of=seed.repeat_of,
        evidence=[evidence],
    )


def _apply_workflow(session: Session, seed: Seed) -> None:
    row = session.get(IncidentRow, seed.id)
    assert row is not None
    row.status = seed.status
    flow = seed.workflow or {}
    row.team = flow.get("team")
    for name in ("reviewed", "dispatched", "resolved", "rectified"):
        if name in flow:
            setattr(row, f"{name}_at", seed.at + timedelta(seconds=flow[name]))


@dataclass
class Month:
    engine: Engine
    evidence_dir: Path
    data_dir: Path

    def hashes(self) -> dict[str, str]:
        return {
            str(p.relative_to(self.evidence_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.evidence_dir.rglob("*"))
            if p.is_file()
        }


def build_month(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'streetwatch.db'}")
    migrate(engine)
    catalog.import_config(engine, AppConfig.model_validate(CONFIG))
    evidence_dir = data_dir / "evidence"
    store = IncidentStore(engine)
    with Session(engine) as session, session.begin():
        users.create_team(session, "team-a", [("gate-1", "curb")])
        users.create_team(session, "team-b", [("gate-1", "walk")])
    for n, seed in enumerate(SEEDS):
        file = write_jpeg(evidence_dir, f"{seed.id}/alert_annotated.jpg", noise_picture(n))
        store.add_incident(_record(seed, file))
    with Session(engine) as session, session.begin():
        for seed in SEEDS:
            _apply_workflow(session, seed)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def month_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("month")
    build_month(folder)
    return folder


@pytest.fixture
def month(tmp_path: Path, month_template: Path) -> Iterator[Month]:
    data_dir = tmp_path / "data"
    shutil.copytree(month_template, data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'streetwatch.db'}")
    yield Month(engine, data_dir / "evidence", data_dir)
    engine.dispose()
