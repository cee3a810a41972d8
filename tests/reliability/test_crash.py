"""SIGKILL the pipeline again and again, aimed inside the evidence-and-row writing window and
at random moments: after each restart every incident has all its evidence with matching
SHA-256, nothing stray is left, and the database passes its integrity check."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from models.scripted import Scene, parked, write_bundle
from pipeline.records import EvidenceKind
from pipeline.recovery import recover, verify
from pipeline.store.db import make_engine
from pipeline.store.repository import IncidentStore

KILLS = 50
AIMED = ["before_files", "after_files", "after_row", "after_clip_file"]
PICTURES = {EvidenceKind.first_seen, EvidenceKind.alert_clean, EvidenceKind.alert_annotated}


def _bundle(folder: Path) -> tuple[Path, Path]:
    cars = [
        parked("car", (20 + 70 * k, 100, 80 + 70 * k, 140), arrive=1 + 2 * k, leave=19)
        for k in range(4)
    ]
    files = write_bundle(Scene(320, 180, 5.0, 20.0, cars, seed=8), folder, "crash")
    config = folder / "crash.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cameras": [
                    {
                        "name": "cam-1",
                        "source": str(files["video"]),
                        "zones": [
                            {
                                "name": "curb",
                                "rule": "illegal_parking",
                                "dwell_s": 3,
                                "polygon": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]],
                            }
                        ],
                    }
                ],
                "evidence": {"pre_s": 1, "post_s": 1},
                "detector": {"type": "replay", "model": str(files["detections"])},
            }
        )
    )
    return files["video"], config


def _run_once(
    video: Path, config: Path, data: Path, crash_at: str | None, kill_after: float | None
) -> int:
    env = {**os.environ, "STREETWATCH_CRASH_AT": crash_at or ""}
    cmd = [
        sys.executable,
        "-m",
        "cli.main",
        "process",
        str(video),
        "--config",
        str(config),
        "--data-dir",
        str(data),
        "--no-progress",
        "--start",
        "2026-11-23T10:00:00+07:00",
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=120)


def _check(data: Path) -> int:
    engine = make_engine(f"sqlite:///{data / 'streetwatch.db'}")
    evidence = data / "evidence"
    recover(engine, evidence)  # what the next start-up does
    report = verify(engine, evidence)
    assert report.problems == [], report.problems
    records = IncidentStore(engine).list_incidents()
    for rec in records:
        kinds = {e.kind for e in rec.evidence}
        assert kinds >= PICTURES, (rec.id, kinds)
    folders = {p.name for p in evidence.glob("??/*") if p.is_dir()}
    assert folders == {r.id for r in records}, "evidence folders without an incident remain"
    assert not list(evidence.rglob(".tmp-*"))
    engine.dispose()
    return len(records)


@pytest.mark.slow
def test_sigkill_during_evidence_writing_loses_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    video, config = _bundle(tmp_path / "scene")
    rng = random.Random(5)
    killed = 0
    for i in range(KILLS):
        data = tmp_path / f"run{i % 5}"  # five databases, each restarted ten times
        if i % 3 == 2:
            code = _run_once(video, config, data, None, kill_after=rng.uniform(1.5, 4.0))
        else:
            point = AIMED[i % len(AIMED)]
            code = _run_once(video, config, data, f"{point}:{rng.randint(1, 4)}", None)
        killed += code == -signal.SIGKILL
        _check(data)
    assert killed >= 30, f"only {killed} of {KILLS} runs were actually killed"
    # A last clean run on each database completes, and its incidents are all whole.
    for k in range(5):
        assert _run_once(video, config, tmp_path / f"run{k}", None, None) == 0
        assert _check(tmp_path / f"run{k}") >= 4
