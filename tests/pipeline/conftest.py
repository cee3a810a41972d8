"""Shared fixtures for the pipeline tests."""

from __future__ import annotations

import pytest

from tests.pipeline import harness


@pytest.fixture(params=["opencv", "pyav"])
def each_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a scripted-scene test once per source reader (OpenCV frames, PyAV packets)."""
    monkeypatch.setattr(harness, "READER", request.param)
    return str(request.param)
