"""`streetwatch demo --headless`: the one-command offline demo meets its event-level targets on
the demo scenario, fast, with no network."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cli.demo_cmd import DEMO_MODEL, DEMO_SEED, run_demo, targets_met
from cli.main import main

pytestmark = pytest.mark.skipif(
    not DEMO_MODEL.is_file(), reason=f"demo model missing: {DEMO_MODEL}"
)


def test_demo_headless_meets_its_targets_in_under_five_minutes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = main(["demo", "--headless", "--no-progress", "--work-dir", str(tmp_path)])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 0, out
    assert "recall 1.000" in out
    assert "targets (recall 1.0, precision >= 0.9, median delay <= 2.0 s): met" in out
    assert elapsed < 300


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 11, 31337])
def test_further_seeds_meet_the_targets(tmp_path: Path, seed: int) -> None:
    assert seed != DEMO_SEED
    report, _ = run_demo(seed, tmp_path, show_progress=False)
    assert targets_met(report), report.as_dict()
