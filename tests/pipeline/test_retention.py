"""Evidence retention: the plan, the deletion, the disk cap, crash leftovers and the CLI.

Every test seeds a SQLite database and an evidence folder under tmp_path with incidents in
every status (one dismissed incident on legal hold), each with two real files whose SHA-256
is stored, so `verify` has something true to check.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cli.main import main
from pipeline.config_enforcement import RetentionConfig
from pipeline.evidence import EvidenceWriter
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord
from pipeline.recovery import verify
from pipeline.retention import GB, RetentionPlan, folder_bytes, plan_retention
from pipeline.retention_apply import PRUNE_ACTION, apply_plan, finish_interrupted
from pipeline.store.audit import verify_chain
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import AuditRow, EvidenceRow, IncidentRow

NOW = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
JPEG_BYTES = 1000
CLIP_BYTES = 2000
PER_INCIDENT = JPEG_BYTES + CLIP_BYTES
OPEN = ("new", "confirmed", "dispatched", "acknowledged", "resolved", "reopened")
# id -> (status, days since it was closed (reviewed / rectified), legal hold)
CLOSED_SEED = {
    "dis-old": ("dismissed", 40, False),
    "dis-new": ("dismissed", 10, False),
    "dis-noreview": ("dismissed", 31, False),  # no reviewed_at: the alert's age counts
    "rect-old": ("rectified", 400, False),
    "rect-new": ("rectified", 100, False),
    "held": ("dismissed", 90, True),
}
DUE_BY_AGE = {"dis-old", "dis-noreview", "rect-old"}


@dataclass
class World:
    engine: Engine
    evidence_dir: Path
    data_dir: Path

    def files(self) -> dict[str, str]:
        """Every file under the evidence folder (relative path -> SHA-256)."""
        return {
            p.relative_to(self.evidence_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in self.evidence_dir.rglob("*")
            if p.is_file()
        }

    def evidence_paths(self, incident_id: str) -> list[str]:
        with Session(self.engine) as session:
            query = select(EvidenceRow.path).where(EvidenceRow.incident_id == incident_id)
            return list(session.scalars(query))

    def incident(self, incident_id: str) -> IncidentRow:
        with Session(self.engine) as session:
            row = session.get(IncidentRow, incident_id)
            assert row is not None
            return row


def _record(incident_id: str, alert_at: datetime) -> IncidentRecord:
    return IncidentRecord(
        id=incident_id,
        camera="cam-a",
        zone="z1",
        type="illegal_parking",
        severity="medium",
        first_seen_s=0.0,
        alert_s=60.0,
        last_seen_s=70.0,
        first_seen_at=alert_at - timedelta(seconds=60),
        alert_at=alert_at,
        last_seen_at=alert_at + timedelta(seconds=10),
        box=(1.0, 2.0, 3.0, 4.0),
        confidence=0.9,
        object_classes=["car"],
    )


def _write_evidence(store: IncidentStore, evidence_dir: Path, incident_id: str) -> None:
    seed = incident_id.encode()
    jpeg = b"\xff\xd8" + (seed * JPEG_BYTES)[: JPEG_BYTES - 2]
    alert = EvidenceWriter(evidence_dir).write_image(
        incident_id, EvidenceKind.alert_annotated, jpeg=jpeg
    )
    clip_data = (b"clip-" + seed * CLIP_BYTES)[:CLIP_BYTES]
    relative = f"{incident_id[:2]}/{incident_id}/clip.mp4"
    (evidence_dir / relative).write_bytes(clip_data)
    digest = hashlib.sha256(clip_data).hexdigest()
    clip = EvidenceFile(EvidenceKind.clip, relative, digest, CLIP_BYTES, "video/mp4")
    store.add_evidence(incident_id, [alert, clip])


def add_incident(
    world: World,
    incident_id: str,
    status: str,
    closed_days_ago: float | None,
    legal_hold: bool = False,
    alert_days_ago: float = 500,
) -> None:
    store = IncidentStore(world.engine)
    store.add_incident(_record(incident_id, NOW - timedelta(days=alert_days_ago)))
    _write_evidence(store, world.evidence_dir, incident_id)
    closed = None if closed_days_ago is None else NOW - timedelta(days=closed_days_ago)
    with Session(world.engine) as session, session.begin():
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        row.status = status
        row.legal_hold = legal_hold
        if status == "dismissed":
            row.reviewed_at = closed
        elif status == "rectified":
            row.resolved_at = closed
            row.rectified_at = closed


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name in ("STREETWATCH_DATABASE_URL", "STREETWATCH_EVIDENCE_DIR", "STREETWATCH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    # The layout `--data-dir` gives the CLI: <dir>/streetwatch.db and <dir>/evidence.
    engine = make_engine(f"sqlite:///{tmp_path / 'streetwatch.db'}")
    migrate(engine)
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    w = World(engine, evidence_dir, tmp_path)
    for status in OPEN:
        add_incident(w, f"open-{status}", status, None)
    for incident_id, (status, days, hold) in CLOSED_SEED.items():
        # dis-noreview: dismissed without reviewed_at, alerted 31 days ago
        if incident_id == "dis-noreview":
            add_incident(w, incident_id, status, None, hold, alert_days_ago=days)
        else:
            add_incident(w, incident_id, status, days, hold)
    yield w
    engine.dispose()


def _incident_of(relative: str) -> str | None:
    parts = relative.split("/")  # <id[:2]>/<id>/<file>
    return parts[1] if len(parts) == 3 else None


def _plan(world: World, config: RetentionConfig | None = None) -> RetentionPlan:
    with Session(world.engine) as session:
        return plan_retention(session, world.evidence_dir, config or RetentionConfig(), NOW)


def test_plan_lists_due_incidents_and_deletes_nothing(world: World) -> None:
    before = world.files()
    plan = _plan(world)
    assert {p.incident_id for p in plan.incidents} == DUE_BY_AGE
    assert {p.reason for p in plan.incidents} == {"age"}
    assert plan.held == ("held",)
    by_id = {p.incident_id: p for p in plan.incidents}
    assert by_id["dis-old"].age_days == pytest.approx(40)
    assert by_id["dis-noreview"].age_days == pytest.approx(31)
    assert {f.kind for f in by_id["rect-old"].files} == {"alert_annotated", "clip"}
    assert plan.total_files == 2 * len(DUE_BY_AGE)
    assert plan.total_bytes == PER_INCIDENT * len(DUE_BY_AGE)
    assert plan.disk_used_bytes == PER_INCIDENT * (len(OPEN) + len(CLOSED_SEED))
    assert world.files() == before
    assert all(world.evidence_paths(i) for i in DUE_BY_AGE)


def test_apply_deletes_exactly_the_due_evidence_and_verify_passes(world: World) -> None:
    before = world.files()
    plan = _plan(world)
    result = apply_plan(world.engine, world.evidence_dir, plan)

    assert sorted(result.pruned) == sorted(DUE_BY_AGE)
    assert result.files_removed == 2 * len(DUE_BY_AGE)
    assert result.bytes_freed == PER_INCIDENT * len(DUE_BY_AGE)
    after = world.files()
    gone = {path for path in before if _incident_of(path) in DUE_BY_AGE}
    assert len(gone) == 2 * len(DUE_BY_AGE)
    assert after == {p: h for p, h in before.items() if p not in gone}
    for incident_id in DUE_BY_AGE:
        assert world.evidence_paths(incident_id) == []
        row = world.incident(incident_id)  # the incident itself stays
        assert row.evidence_pruned_at is not None
        assert not (world.evidence_dir / incident_id[:2] / incident_id).exists()
    for kept in {*(f"open-{s}" for s in OPEN), "held", "dis-new", "rect-new"}:
        assert len(world.evidence_paths(kept)) == 2
        assert world.incident(kept).evidence_pruned_at is None

    with Session(world.engine) as session:
        entries = list(session.scalars(select(AuditRow).where(AuditRow.action == PRUNE_ACTION)))
    assert {e.incident_id for e in entries} == DUE_BY_AGE
    for entry in entries:
        assert entry.incident_id is not None
        listed = {(f["kind"], f["path"], f["sha256"]) for f in entry.detail["files"]}
        assert {(k, p) for k, p, _ in listed} == {
            ("alert_annotated", f"{entry.incident_id[:2]}/{entry.incident_id}/alert_annotated.jpg"),
            ("clip", f"{entry.incident_id[:2]}/{entry.incident_id}/clip.mp4"),
        }
        assert all(before[p] == h for _, p, h in listed)
    assert verify_chain(world.engine) == []
    report = verify(world.engine, world.evidence_dir)
    assert report.problems == []
    assert report.files_checked == 2 * (len(OPEN) + len(CLOSED_SEED) - len(DUE_BY_AGE))
    assert _plan(world).incidents == ()  # nothing left to do


def test_disk_cap_prunes_longest_closed_first_and_stops_under_the_cap(world: World) -> None:
    used = folder_bytes(world.evidence_dir)
    cap = used - 2 * PER_INCIDENT + 1  # two incidents must go, not three
    config = RetentionConfig(dismissed_days=1000, closed_days=1000, disk_cap_gb=cap / GB)
    plan = _plan(world, config)
    # Closed the longest: rect-old (400 days), then rect-new (100); dis-old (40) not needed.
    assert [p.incident_id for p in plan.incidents] == ["rect-old", "rect-new"]
    assert {p.reason for p in plan.incidents} == {"disk_cap"}
    assert plan.over_cap_bytes == 0
    apply_plan(world.engine, world.evidence_dir, plan)
    assert folder_bytes(world.evidence_dir) <= cap
    assert folder_bytes(world.evidence_dir) == used - 2 * PER_INCIDENT
    assert world.evidence_paths("dis-old")
    assert verify(world.engine, world.evidence_dir).problems == []


def test_unreachable_cap_prunes_all_eligible_and_reports_the_excess(world: World) -> None:
    add_incident(world, "dis-just-now", "dismissed", 10 / (24 * 60))  # 10 minutes ago
    config = RetentionConfig(disk_cap_gb=1000 / GB)
    plan = _plan(world, config)
    eligible = {i for i, (_, _, hold) in CLOSED_SEED.items() if not hold}
    assert {p.incident_id for p in plan.incidents} == eligible
    kept = len(OPEN) + 2  # open ones, the held one and the one dismissed minutes ago
    assert plan.over_cap_bytes == kept * PER_INCIDENT - 1000
    apply_plan(world.engine, world.evidence_dir, plan)
    assert len(world.evidence_paths("held")) == 2
    assert len(world.evidence_paths("dis-just-now")) == 2
    assert all(len(world.evidence_paths(f"open-{s}")) == 2 for s in OPEN)


def test_legal_hold_or_reopening_after_the_plan_still_wins(world: World) -> None:
    plan = _plan(world)
    with Session(world.engine) as session, session.begin():
        held = session.get(IncidentRow, "dis-old")
        assert held is not None
        held.legal_hold = True
    result = apply_plan(world.engine, world.evidence_dir, plan)
    assert ("dis-old", "incident is on legal hold") in result.skipped
    assert len(world.evidence_paths("dis-old")) == 2
    assert all(p in world.files() for p in world.evidence_paths("dis-old"))
    assert "dis-old" not in result.pruned


def test_crash_between_commit_and_unlink_leaves_verify_clean_and_is_finished_later(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.retention_apply as retention_apply

    before = world.files()
    with monkeypatch.context() as patch:
        # As if the process died after each commit, before any file was unlinked.
        patch.setattr(retention_apply, "_unlink", lambda root, relative: None)
        apply_plan(world.engine, world.evidence_dir, _plan(world))
    assert world.files() == before
    assert verify(world.engine, world.evidence_dir).problems == []

    assert finish_interrupted(world.engine, world.evidence_dir) == []  # too young: spared
    old = (NOW - timedelta(days=1)).timestamp()
    for path in before:
        os.utime(world.evidence_dir / path, (old, old))
    removed = finish_interrupted(world.engine, world.evidence_dir)
    assert len(removed) == 2 * len(DUE_BY_AGE)
    assert {p.parent.name for p in removed} == DUE_BY_AGE
    assert verify(world.engine, world.evidence_dir).problems == []
    assert len(world.files()) == len(before) - 2 * len(DUE_BY_AGE)


def test_cli_dry_run_lists_the_plan_and_deletes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = world.files()
    args = ["retention", "--dry-run", "--now", "2026-11-27T07:00:00+07:00"]
    assert main([*args, "--data-dir", str(world.data_dir)]) == 0
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith(("dis-", "rect-"))}
    assert listed == DUE_BY_AGE
    assert "would remove 6 files, 9000 bytes (9.0 kB) of 3 incidents" in out
    assert "kept on legal hold although past retention: held" in out
    assert "dry run: nothing deleted" in out
    assert world.files() == before


def test_cli_real_run_with_config_prunes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "cameras:\n"
        "  - name: cam-a\n"
        "    source: a.mp4\n"
        "    zones:\n"
        "      - name: z1\n"
        "        polygon: [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]\n"
        "        rule: illegal_parking\n"
        "retention:\n"
        "  dismissed_days: 5\n"
        "  closed_days: 50\n",
        encoding="utf-8",
    )
    argv = ["retention", "--config", str(config), "--now", "2026-11-27T00:00:00Z"]
    assert main([*argv, "--data-dir", str(world.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "removed 10 files, 15000 bytes (15.0 kB) of 5 incidents" in out
    assert verify(world.engine, world.evidence_dir).problems == []


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", ""])
def test_cli_bad_now_is_a_clear_error(
    world: World, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = world.files()
    assert main(["retention", "--now", bad, "--data-dir", str(world.data_dir)]) == 2
    captured = capsys.readouterr()
    assert f"--now {bad!r} is not an ISO 8601 time" in captured.err
    assert "Traceback" not in captured.err
    assert world.files() == before
