"""Sampled frames are JPEG-encoded only when a picture is needed, and a kept first-seen
picture holds a JPEG, not a raw frame."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import cv2
import numpy as np

from pipeline.config import Category, TrackingConfig, ZoneConfig
from pipeline.geometry import Box
from pipeline.picture import FramePicture
from pipeline.rules import ZoneRule
from pipeline.tracking import Track
from tests.pipeline.harness import zone

SIZE = (320, 180)
NOON = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _frame(shade: int) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), shade, np.uint8)
    cv2.rectangle(image, (20, 20), (120, 90), (0, 0, 255), -1)
    return image


def test_a_picture_is_encoded_once_and_lets_the_frame_go() -> None:
    picture = FramePicture(_frame(90), quality=85)
    assert not picture.is_encoded
    first = picture.jpeg()
    assert picture.is_encoded and picture._image is None
    assert picture.jpeg() is first
    decoded = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (SIZE[1], SIZE[0], 3)
    assert abs(int(decoded[50, 70, 2]) - 255) < 10  # the red box is in the picture


def test_threads_asking_at_once_get_the_same_bytes() -> None:
    picture = FramePicture(_frame(40), quality=85)
    results: list[bytes] = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        results.append(picture.jpeg())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_an_already_encoded_picture_is_not_encoded_again() -> None:
    picture = FramePicture(_frame(10), 85, b"\xff\xd8 clip frame")
    assert picture.is_encoded and picture._image is None
    assert picture.jpeg() == b"\xff\xd8 clip frame"


def _rule() -> ZoneRule:
    return ZoneRule(ZoneConfig.model_validate(zone(dwell_s=5)), "UTC", SIZE, TrackingConfig())


def _car(track_id: int, box: Box, born_t: float = 0.0) -> Track:
    return Track(track_id, box, Category.vehicle, "car", 0.9, born_t)


def test_moving_traffic_never_costs_an_encoding() -> None:
    rule = _rule()
    pictures = [FramePicture(_frame(k * 20), 85) for k in range(6)]
    for k, picture in enumerate(pictures):  # 40 px further on at every sample
        rule.evaluate([_car(1, (40 * k, 100, 40 * k + 60, 140))], float(k), NOON, picture)
    # The car left the zone; the timer it left behind keeps its picture, and only that one.
    rule.evaluate([], 6.0, NOON, FramePicture(_frame(200), 85))
    assert [p.is_encoded for p in pictures] == [False] * 5 + [True]


def test_a_parked_cars_first_seen_picture_is_kept_encoded_and_alerts_with_it() -> None:
    rule = _rule()
    first = FramePicture(_frame(70), 85)
    rule.evaluate([_car(1, (40, 100, 100, 140))], 0.0, NOON, first)
    assert not first.is_encoded  # one sample: it may yet drive on
    later = [FramePicture(_frame(71), 85) for _ in range(6)]
    outputs = [
        rule.evaluate([_car(1, (40, 100, 100, 140))], float(k + 1), NOON, picture)
        for k, picture in enumerate(later)
    ]
    assert first.is_encoded and not any(p.is_encoded for p in later)
    violation = outputs[-1].violations[0]
    assert violation.first_seen_snapshot is first
