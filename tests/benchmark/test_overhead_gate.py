"""`streetwatch bench --quick` fails the build on a low detector overhead ratio, once a second
measurement confirms it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import bench_cmd
from pipeline.benchmark import scene


def _gate(monkeypatch: pytest.MonkeyPatch, first: float, again: float) -> tuple[int, int]:
    calls = []

    def measured(_args: argparse.Namespace, _video: Path) -> dict[str, float]:
        calls.append(again)
        return {"ratio": again}

    monkeypatch.setattr(bench_cmd, "_overhead", measured)
    code = bench_cmd._overhead_gate(argparse.Namespace(), Path("v.mp4"), first)
    return code, len(calls)


def test_a_ratio_above_the_gate_passes_without_measuring_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _gate(monkeypatch, 0.95, 0.5) == (0, 0)


def test_a_low_ratio_confirmed_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _gate(monkeypatch, 0.85, 0.86) == (1, 1)


def test_a_low_ratio_not_confirmed_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _gate(monkeypatch, 0.85, 0.97) == (0, 1)


def test_a_run_without_the_overhead_section_is_not_gated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--only stages` once crashed with KeyError: the gate read a ratio this run never
    measured. It must judge only its own run's measurement."""
    out = tmp_path / "results.json"
    out.write_text("{}")
    monkeypatch.setattr(bench_cmd, "_stages", lambda _args, _video, _dets: {"inference": 1.0})
    monkeypatch.setattr(
        scene, "write_bench_video", lambda folder, seconds: (folder / "v.mp4", folder / "d.jsonl")
    )
    monkeypatch.setattr(bench_cmd, "_overhead", lambda *_: pytest.fail("overhead measured"))
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    args = argparse.Namespace(
        model=model,
        quick=False,
        only=["stages"],
        naive_python=None,
        out=out,
        work_dir=tmp_path / "work",
        crop_to_zones=False,
        write_docs=None,
        sessions=0,
        imgsz=640,
    )
    assert bench_cmd.run(args) == 0
    assert '"stages_ms"' in out.read_text()
