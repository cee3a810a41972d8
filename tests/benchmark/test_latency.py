"""Alert latency measured to a real WebSocket client of the API, and to a bus subscriber."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from api.latency_probe import WebSocketDelivery
from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Scene
from pipeline.benchmark.latency import measure_latency

pytestmark = pytest.mark.slow


class NothingSeen(Detector):
    """Stands in for the model: the benchmark's scripted car supplies every detection."""

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [Detections.empty(("car",)) for _ in frames]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("latency")
    # 720p like the benchmark's source: the scripted car's boxes are in 1280x720 pixels.
    return Scene(1280, 720, 10.0, 3.0, []).render(folder / "street.mp4", gop=10)


@pytest.mark.parametrize("delivery", [None, WebSocketDelivery], ids=["bus", "websocket"])
def test_alerts_arrive_within_a_second_of_the_crossing_frame(
    video: Path, delivery: type[WebSocketDelivery] | None
) -> None:
    result = measure_latency(2, 13.0, video, NothingSeen(), delivery)
    # Each camera's car stands 6 s from t=0 with a 3 s dwell: one alert per camera at least.
    assert result["alerts"] >= 2, result
    assert 0.0 < result["p50_s"] <= result["p95_s"] < 1.5, result
