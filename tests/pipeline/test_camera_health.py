"""A covered, turned or blurred camera is reported and raises no false alarms meanwhile."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.scripted import Scene, parked, sample_street
from pipeline.camera_health import CameraHealth, Fault
from tests.pipeline.harness import run_scene, zone


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    scene = sample_street()
    return scene._draw(scene._background(), 30.0)


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda img: np.zeros_like(img), Fault.covered),
        (lambda img: np.full_like(img, 200), Fault.covered),
        (lambda img: cv2.GaussianBlur(img, (31, 31), 0), Fault.blurred),
        (lambda img: np.roll(img, img.shape[1] // 6, axis=1), Fault.moved),
        (lambda img: cv2.flip(img, 0), Fault.moved),
        (lambda img: (img * 0.3).astype(np.uint8), None),  # dusk is not a fault
        (lambda img: cv2.add(img, np.full_like(img, 40)), None),  # nor a brighter day
    ],
)
def test_faults_are_recognised_and_confirmed(
    street: np.ndarray, spoil, expected: Fault | None
) -> None:
    health = CameraHealth()
    assert health.check(street) is None
    spoiled = spoil(street)
    results = [health.check(spoiled) for _ in range(3)]
    assert results[0] is None  # one odd picture is not yet a fault
    assert results[-1] == expected
    for _ in range(3):
        health.check(street)
    assert health.fault is None  # and it clears once the picture is back


def test_rules_pause_while_the_camera_is_covered(tmp_path: Path) -> None:
    # The detector keeps "seeing" a parked car, but from 12 s on the lens is covered:
    # a covered camera must not raise the parking alert that would fall due at 15 s.
    class CoveredScene(Scene):
        def _draw(self, background: np.ndarray, t: float) -> np.ndarray:
            return np.zeros_like(background) if t >= 12 else super()._draw(background, t)

    scene = CoveredScene(480, 270, 10.0, 30.0, [parked("car", (60, 150, 160, 200), 5, 30)], seed=3)
    assert run_scene(scene, [zone(dwell_s=10)], tmp_path / "a").records == []
    plain = Scene(480, 270, 10.0, 30.0, [parked("car", (60, 150, 160, 200), 5, 30)], seed=3)
    assert len(run_scene(plain, [zone(dwell_s=10)], tmp_path / "b").records) == 1


def test_a_healthy_camera_is_checked_every_other_sample_and_a_suspect_one_every_sample(
    street: np.ndarray,
) -> None:
    health = CameraHealth()
    pattern = []
    for _ in range(6):
        due = health.due()
        pattern.append(due)
        if due:
            health.check(street)
    assert pattern == [True, False, True, False, True, False]
    covered = np.zeros_like(street)
    samples = 0
    while health.fault is None:
        samples += 1
        assert samples <= 1 + health.settings.confirm  # a sample late at most, then confirmed
        if health.due():
            health.check(covered)
    assert health.fault is Fault.covered
    assert all(health.due() for _ in range(3))  # while faulty, every sample: it may clear
