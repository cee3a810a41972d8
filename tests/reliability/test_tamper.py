"""`streetwatch verify` as an auditor runs it: one changed byte in a picture, or one edited
audit entry, and it exits 1 naming what was changed; put back, and it passes again."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from cli.main import main
from models.scripted import Scene, parked, write_bundle
from pipeline.store.db import make_engine
from pipeline.store.tables import EvidenceRow
from pipeline.store.workflow import apply_action


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with one stored incident, confirmed by an operator (two audit entries)."""
    scene = Scene(320, 180, 10.0, 25.0, [parked("car", (40, 100, 110, 140), 2, 24)], seed=3)
    files = write_bundle(scene, tmp_path / "bundle", "street")
    zone = {
        "name": "curb",
        "rule": "illegal_parking",
        "dwell_s": 8,
        "polygon": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]],
    }
    config = {
        "cameras": [{"name": "gate-1", "source": str(files["video"]), "zones": [zone]}],
        "detector": {"type": "replay", "model": str(files["detections"])},
    }
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    data = tmp_path / "data"
    args = ["process", str(files["video"]), "--config", str(config_path), "--data-dir", str(data)]
    assert main([*args, "--no-progress"]) == 0
    engine = make_engine(f"sqlite:///{data / 'streetwatch.db'}")
    with Session(engine) as session, session.begin():
        [incident_id] = session.scalars(text("SELECT id FROM incidents")).all()
        apply_action(session, incident_id, "review", "confirmed", "operator")
        apply_action(session, incident_id, "dispatch", "dispatched", "operator", {"team": None})
    engine.dispose()
    return data


def _verify(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", "--data-dir", str(data)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_one_changed_byte_in_a_picture_is_named(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(data_dir, capsys)[0] == 0
    engine = make_engine(f"sqlite:///{data_dir / 'streetwatch.db'}")
    with Session(engine) as session:
        picture = session.scalars(
            text("SELECT path FROM evidence WHERE kind = 'alert_clean'")
        ).one()
        assert session.query(EvidenceRow).count() >= 3
    engine.dispose()
    path = data_dir / "evidence" / picture
    original = path.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    path.write_bytes(bytes(changed))

    code, output = _verify(data_dir, capsys)
    assert code == 1
    assert f"SHA-256 mismatch: {picture}" in output
    assert "1 problems" in output

    path.write_bytes(original)
    assert _verify(data_dir, capsys)[0] == 0


def test_one_edited_audit_entry_is_named(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'streetwatch.db'}")
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, actor FROM audit_log ORDER BY id"))
        entries = rows.all()
        assert len(entries) >= 2
        first_id, actor = entries[0]
        # Someone rewrites who confirmed the incident, leaving the hashes as they were.
        connection.execute(
            text("UPDATE audit_log SET actor = 'supervisor' WHERE id = :id"), {"id": first_id}
        )
    code, output = _verify(data_dir, capsys)
    assert code == 1
    assert f"audit log: entry {first_id} (" in output and "does not match its hash" in output

    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET actor = :actor WHERE id = :id"),
            {"actor": actor, "id": first_id},
        )
    engine.dispose()
    assert _verify(data_dir, capsys)[0] == 0
