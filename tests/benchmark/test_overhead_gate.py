"""`streetwatch bench --quick` fails the build on a low detector overhead ratio, once a second
measurement confirms it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import bench_cmd


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
