"""The benchmark's own parts: paced looping sources and the sustained-or-not verdict."""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from models.scripted import Scene, parked
from pipeline.benchmark.density import Trial, confirm_density, find_density
from pipeline.benchmark.paced import PacedLoop
from pipeline.benchmark.report import performance_markdown


def test_paced_loop_runs_at_real_time_and_keeps_time_going_across_loops(tmp_path: Path) -> None:
    video = Scene(160, 90, 10.0, 1.0, [parked("car", (10, 10, 50, 40), 0, 1)]).render(
        tmp_path / "v.mp4", gop=10
    )
    origin = time.monotonic()
    source = PacedLoop(str(video), 1.0, origin, max_loops=2)
    times = [item.packet.t for item in source.items()]
    elapsed = time.monotonic() - origin
    assert len(times) == 20
    assert all(b > a for a, b in itertools.pairwise(times))  # no jump back at the loop
    assert times[-1] > 1.8
    assert 1.7 < elapsed < 3.0  # two 1-second loops, paced
    assert source.behind_s < 0.5


def _trial(n: int, growth: float = 0.1, rate: float = 1.0) -> Trial:
    return Trial(n, 60.0, growth, 0.5, rate, cpu_cores=1.0, rss_mb=100.0)


def test_sustained_needs_steady_lag_and_full_detection_rate() -> None:
    assert _trial(4).sustained
    assert not _trial(4, growth=2.5).sustained
    assert not _trial(4, rate=0.7).sustained


def test_density_search_finds_the_largest_sustained_count() -> None:
    best, trials = find_density(
        lambda n: _trial(n, growth=0.1 if n <= 13 else 5.0), start=4, limit=64
    )
    assert best == 13
    assert [t.cameras for t in trials][:3] == [4, 8, 16]


def _holds_up_to(limit: int) -> Any:
    return lambda n: _trial(n, growth=0.1 if n <= limit else 5.0)


def test_confirmation_steps_down_then_bisects_to_the_exact_count() -> None:
    # The minute-long search said 46; five minutes hold 44: 46 and 41 (a tenth below) are
    # tried, then 43 and 44 between them, and 45 fails, all within the six tries.
    confirmed, trials = confirm_density(_holds_up_to(44), 46)
    assert confirmed == 44
    assert [t.cameras for t in trials] == [46, 41, 43, 44, 45]


def test_confirmation_of_a_count_that_holds_runs_one_trial() -> None:
    confirmed, trials = confirm_density(_holds_up_to(50), 46)
    assert (confirmed, [t.cameras for t in trials]) == (46, [46])


def test_confirmation_gives_zero_when_nothing_holds_within_its_tries() -> None:
    confirmed, trials = confirm_density(_holds_up_to(0), 10, tries=3)
    assert confirmed == 0
    assert [t.cameras for t in trials] == [10, 9, 8]


def _results(**extra: Any) -> dict[str, Any]:
    """A bench run's results with one float density of 13 cameras, plus `extra` sections."""
    return {
        "machine": {"date": "2026-11-26", "cpus": 2, "processor": "x86_64", "python": "3.11"},
        "model": "m.onnx",
        "overhead": {"bare_fps": 25.0, "backend_fps": 24.5, "ratio": 0.98},
        "density": {"cameras": 13, "trials": [_trial(13).as_dict()]},
        "latency": {"p50_s": 0.3, "p95_s": 0.6, "alerts": 20, "sampling_interval_s": 1.0},
        "stages_ms": {"inference": 40.0},
        **extra,
    }


def test_performance_markdown_shows_the_command_and_figures() -> None:
    text = performance_markdown(_results(), "streetwatch bench")
    assert "`streetwatch bench`" in text and "| detector overhead ratio | 0.98 |" in text
    assert "| cameras sustained (720p 25 fps H.264, 1 detection/s) | 13 |" in text


def test_performance_markdown_reports_the_int8_density_beside_the_float_one() -> None:
    results = _results(
        density_int8={"cameras": 20, "trials": [_trial(20).as_dict()]},
        naive={"cameras": 10},
        stages_ms={"inference": 40.0, "inference_int8": 25.0},
        runs=[
            {"command": "streetwatch bench", "sections": ["density"], "date": "2026-11-26"},
            {"command": "streetwatch bench --only density_int8", "sections": ["density_int8"]},
        ],
    )
    text = performance_markdown(results, "streetwatch bench")
    assert "- `streetwatch bench` (density), 2026-11-26" in text
    assert "- `streetwatch bench --only density_int8` (density_int8)\n" in text
    assert "Figures from different runs are comparable only if" in text
    assert "| cameras sustained with the int8 model | 20 |" in text
    assert "| naive Ultralytics loop, cameras sustained | 10 (ours: 1.3 x, 2.0 x int8) |" in text
    int8_table = text.split("## Density trials, int8 model")[1]
    assert "| 20 (60 s) | True |" in int8_table.split("##")[0]


def test_performance_markdown_shows_the_sessions_comparison() -> None:
    results = _results(
        density_int8={"cameras": 20, "trials": [_trial(20).as_dict()]},
        sessions={
            "cameras": 20,
            "one_session": {
                **_trial(20, growth=3.0, rate=0.8).as_dict(),
                "sessions": 1,
                "threads": 2,
            },
            "default_sessions": {**_trial(20).as_dict(), "sessions": 2, "threads": 1},
        },
    )
    text = performance_markdown(results, "streetwatch bench")
    assert (
        "| int8, 20 cameras, 1 session(s) of 2 thread(s) (60 s) | not sustained: "
        "min 0.8 detections/s" in text
    )
    assert "| int8, 20 cameras, 2 session(s) of 1 thread(s) (60 s) | sustained: " in text


def test_the_sessions_comparison_needs_the_int8_density() -> None:
    from cli import bench_cmd
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="needs the int8 density"):
        bench_cmd._sessions(argparse.Namespace(), Path("v.mp4"), {})


def test_the_sessions_comparison_can_be_asked_for_alone() -> None:
    import argparse as ap

    from cli import bench_cmd

    parser = ap.ArgumentParser()
    bench_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "--only", "sessions", "--sessions", "2"])
    assert args.only == ["sessions"] and args.sessions == 2
