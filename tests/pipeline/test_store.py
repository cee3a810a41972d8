"""Storage layer tests, run against SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session

from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord, Presence
from pipeline.settings import Settings
from pipeline.store import IncidentNotFoundError, IncidentStore, audit, check_integrity, make_engine
from pipeline.store import migrate as migrate_db
from pipeline.store.tables import Base
from pipeline.store.writes import MissingEvidence

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2024, 5, 17, 8, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
EMPTY_COUNTS = {
    "incidents": 0,
    "evidence": 0,
    "dwell_states": 0,
    **dict.fromkeys(
        [
            "teams",
            "team_zones",
            "users",
            "sessions",
            "tickets",
            "audit_log",
            "cameras",
            "zones",
            "spot_suppressions",
            "webhook_deliveries",
        ],
        0,
    ),
}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'sw.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    engine: Engine = request.getfixturevalue(fixture)
    return engine


@pytest.fixture
def store(engine: Engine) -> IncidentStore:
    migrate_db(engine)
    return IncidentStore(engine)


def evidence(incident_id: str, kind: EvidenceKind) -> EvidenceFile:
    ext, media = ("mp4", "video/mp4") if kind is EvidenceKind.clip else ("jpg", "image/jpeg")
    return EvidenceFile(
        kind=kind,
        path=f"{incident_id[:2]}/{incident_id}/{kind.value}.{ext}",
        sha256=("ab" * 32),
        size_bytes=123_456_789_012,  # beyond 32 bits on purpose
        media_type=media,
    )


def make_record(
    *,
    camera: str = "cam-1",
    zone: str = "bus-stop",
    alert_at: datetime = T0,
    box: tuple[float, float, float, float] = (100.0, 200.0, 300.0, 400.0),
    kinds: tuple[EvidenceKind, ...] = (EvidenceKind.first_seen, EvidenceKind.alert_annotated),
) -> IncidentRecord:
    incident_id = str(uuid.uuid4())
    return IncidentRecord(
        id=incident_id,
        camera=camera,
        zone=zone,
        type="illegal_parking",
        severity="high",
        first_seen_s=12.5,
        alert_s=312.5,
        last_seen_s=320.0,
        first_seen_at=alert_at - timedelta(seconds=300),
        alert_at=alert_at,
        last_seen_at=alert_at + timedelta(seconds=7.5),
        box=box,
        confidence=0.875,
        object_classes=["car", "truck"],
        evidence=[evidence(incident_id, k) for k in kinds],
    )


def test_migrate_twice_is_idempotent(engine: Engine) -> None:
    migrate_db(engine)
    migrate_db(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    assert IncidentStore(engine).count_rows() == EMPTY_COUNTS


def test_round_trip_keeps_every_field(store: IncidentStore) -> None:
    earlier = make_record(alert_at=T0 - timedelta(days=1))
    store.add_incident(earlier)
    record = make_record()
    record.presence = Presence.ended
    record.status = "confirmed"
    record.repeat_of = earlier.id
    store.add_incident(record)

    loaded = store.get_incident(record.id)
    assert loaded == record
    assert loaded is not None
    for moment in (loaded.first_seen_at, loaded.alert_at, loaded.last_seen_at):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert loaded.alert_at.microsecond == 250000
    assert isinstance(loaded.presence, Presence)
    assert [e.kind for e in loaded.evidence] == [
        EvidenceKind.first_seen,
        EvidenceKind.alert_annotated,
    ]
    assert store.get_incident("no-such-id") is None


def test_add_evidence_appends_and_rejects_duplicates(store: IncidentStore) -> None:
    record = make_record()
    store.add_incident(record)
    store.add_evidence(record.id, [evidence(record.id, EvidenceKind.clip)])
    loaded = store.get_incident(record.id)
    assert loaded is not None
    assert [e.kind for e in loaded.evidence][-1] is EvidenceKind.clip
    assert loaded.evidence[-1] == evidence(record.id, EvidenceKind.clip)

    counts = store.count_rows()
    with pytest.raises(IntegrityError):
        store.add_evidence(record.id, [evidence(record.id, EvidenceKind.clip)])
    with pytest.raises(IncidentNotFoundError):
        store.add_evidence("missing", [evidence("missing", EvidenceKind.clip)])
    assert store.count_rows() == counts


def test_update_presence(store: IncidentStore) -> None:
    record = make_record()
    store.add_incident(record)
    later = T0 + timedelta(minutes=10)
    store.update_presence(
        record.id, last_seen_s=900.0, last_seen_at=later, presence=Presence.active
    )
    loaded = store.get_incident(record.id)
    assert loaded is not None
    assert (loaded.last_seen_s, loaded.last_seen_at, loaded.box) == (900.0, later, record.box)

    store.update_presence(
        record.id,
        last_seen_s=950.0,
        last_seen_at=later + timedelta(seconds=50),
        presence=Presence.ended,
        box=(1.0, 2.0, 3.0, 4.0),
    )
    loaded = store.get_incident(record.id)
    assert loaded is not None
    assert loaded.presence is Presence.ended
    assert loaded.box == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(IncidentNotFoundError):
        store.update_presence("x", last_seen_s=1, last_seen_at=later, presence=Presence.ended)


def test_list_incidents_filters_by_camera_in_alert_order(store: IncidentStore) -> None:
    late = make_record(camera="cam-1", alert_at=T0 + timedelta(hours=1))
    early = make_record(camera="cam-1", alert_at=T0)
    other = make_record(camera="cam-2", alert_at=T0 + timedelta(minutes=5))
    for record in (late, early, other):
        store.add_incident(record)
    assert [r.id for r in store.list_incidents()] == [early.id, other.id, late.id]
    assert [r.id for r in store.list_incidents("cam-1")] == [early.id, late.id]
    assert store.list_incidents("cam-9") == []


def test_find_earlier_at_spot(store: IncidentStore) -> None:
    box = (100.0, 100.0, 200.0, 200.0)
    oldest = make_record(alert_at=T0 - timedelta(days=2), box=box)
    recent = make_record(alert_at=T0 - timedelta(days=1), box=(105.0, 105.0, 205.0, 205.0))
    elsewhere = make_record(alert_at=T0 - timedelta(hours=1), box=(400.0, 400.0, 500.0, 500.0))
    other_zone = make_record(zone="kerb", alert_at=T0 - timedelta(minutes=1), box=box)
    after = make_record(alert_at=T0 + timedelta(hours=1), box=box)
    for record in (oldest, recent, elsewhere, other_zone, after):
        store.add_incident(record)

    found = store.find_earlier_at_spot("cam-1", "bus-stop", box, before=T0)
    assert found is not None and found.id == recent.id
    assert found.evidence == recent.evidence
    # Only incidents before `recent` count when asking from its alert time.
    found = store.find_earlier_at_spot("cam-1", "bus-stop", box, before=recent.alert_at)
    assert found is not None and found.id == oldest.id
    assert store.find_earlier_at_spot("cam-1", "bus-stop", (150.0, 150.0, 250.0, 250.0), T0) is None
    assert store.find_earlier_at_spot("cam-2", "bus-stop", box, T0) is None
    assert store.find_earlier_at_spot("cam-1", "bus-stop", box, oldest.alert_at) is None


def test_dwell_states_save_load_replace(store: IncidentStore) -> None:
    assert store.load_dwell_states("cam-1") == {}
    store.save_dwell_states("cam-1", "lot", {"t1": {"since": 1.5, "box": [1, 2, 3, 4]}, "t2": {}})
    store.save_dwell_states("cam-1", "kerb", {"t9": {"since": 9.0}})
    store.save_dwell_states("cam-2", "lot", {"t1": {"since": 0.0}})
    assert store.load_dwell_states("cam-1") == {
        "lot": {"t1": {"since": 1.5, "box": [1, 2, 3, 4]}, "t2": {}},
        "kerb": {"t9": {"since": 9.0}},
    }
    store.save_dwell_states("cam-1", "lot", {"t3": {"since": 3.0}})
    assert store.load_dwell_states("cam-1")["lot"] == {"t3": {"since": 3.0}}
    store.save_dwell_states("cam-1", "lot", {})
    assert store.load_dwell_states("cam-1") == {"kerb": {"t9": {"since": 9.0}}}
    assert store.count_rows()["dwell_states"] == 2


def test_count_rows_and_failed_adds_write_nothing(store: IncidentStore) -> None:
    assert store.count_rows() == EMPTY_COUNTS
    record = make_record()
    store.add_incident(record)
    counts = store.count_rows()
    assert counts == {**EMPTY_COUNTS, "incidents": 1, "evidence": 2}

    with pytest.raises(IntegrityError):
        store.add_incident(replace(record, evidence=[evidence(record.id, EvidenceKind.clip)]))
    # Incident row is fine, the second evidence row breaks (incident_id, kind): all or nothing.
    doubled = make_record(kinds=(EvidenceKind.clip, EvidenceKind.clip))
    with pytest.raises(IntegrityError):
        store.add_incident(doubled)
    naive = make_record(alert_at=datetime(2024, 1, 1, 12, 0))
    with pytest.raises(StatementError):
        store.add_incident(naive)
    assert store.count_rows() == counts
    assert store.get_incident(doubled.id) is None


def test_integrity_check_clean(store: IncidentStore, engine: Engine) -> None:
    store.add_incident(make_record())
    assert check_integrity(engine) == []


def test_sqlite_engine_settings(sqlite_engine: Engine, tmp_path: Path) -> None:
    assert (tmp_path / "nested").is_dir()
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000


def test_sqlite_foreign_keys_enforced(sqlite_engine: Engine) -> None:
    migrate_db(sqlite_engine)
    store = IncidentStore(sqlite_engine)
    orphan = make_record()
    orphan.repeat_of = "not-an-incident"
    with pytest.raises(IntegrityError):
        store.add_incident(orphan)
    assert store.count_rows() == EMPTY_COUNTS


def test_integrity_check_reports_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    engine = make_engine(f"sqlite:///{path}")
    try:
        problems = check_integrity(engine)
    finally:
        engine.dispose()
    assert problems and "database" in problems[0]


def test_settings_defaults_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'streetwatch.db').as_posix()}"
    assert settings.resolved_evidence_dir == tmp_path / "evidence"

    monkeypatch.setenv("STREETWATCH_DATABASE_URL", PG_ADMIN_URL)
    monkeypatch.setenv("STREETWATCH_EVIDENCE_DIR", str(tmp_path / "ev"))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_database_url == PG_ADMIN_URL
    assert settings.resolved_evidence_dir == tmp_path / "ev"
    assert settings.data_dir == Path("data")


def test_migration_matches_models(store: IncidentStore, engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_ensure_incident_inserts_once_so_a_replay_adds_nothing(store: IncidentStore) -> None:
    record = make_record()
    assert store.ensure_incident(record) is True
    # A replay after a commit whose acknowledgement was lost: the row is already there.
    assert store.ensure_incident(record) is False
    assert store.count_rows()["incidents"] == 1
    assert store.count_rows()["evidence"] == len(record.evidence)


def test_ensure_evidence_attaches_each_kind_once_and_notes_missing_once(
    store: IncidentStore,
) -> None:
    missing = MissingEvidence((EvidenceKind.alert_annotated,), "No space left on device")
    record = make_record(kinds=(EvidenceKind.first_seen,))
    assert store.ensure_incident(record, missing) is True
    clip = evidence(record.id, EvidenceKind.clip)
    assert store.ensure_evidence(record.id, [clip]) == [clip]
    assert store.ensure_evidence(record.id, [clip]) == []
    clip_missing = MissingEvidence((EvidenceKind.clip,), "No space left on device")
    store.ensure_evidence(record.id, [], clip_missing)
    store.ensure_evidence(record.id, [], clip_missing)
    stored = store.get_incident(record.id)
    assert stored is not None
    assert [e.kind for e in stored.evidence] == [EvidenceKind.first_seen, EvidenceKind.clip]
    with Session(store.engine) as session:
        notes = [
            (e.action, e.actor, e.detail) for e in audit.entries_for_incident(session, record.id)
        ]
    assert notes == [
        ("evidence.missing", "system", {"kinds": ["alert_annotated"], "reason": missing.reason}),
        ("evidence.missing", "system", {"kinds": ["clip"], "reason": missing.reason}),
    ]
    assert audit.verify_chain(store.engine) == []


def test_repeat_lookup_answers_none_while_the_database_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1: every connection is refused at once.
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        found = IncidentStore(engine).find_earlier_at_spot("cam-1", "z", (0, 0, 9, 9), T0)
    finally:
        engine.dispose()
    assert found is None
    assert "repeat check skipped, database unreachable" in caplog.text
