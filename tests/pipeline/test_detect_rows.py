"""Detection on the zones' band of rows: which rows, and boxes back in whole-picture pixels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Scene
from pipeline.detect_rows import RowBand, detect_in_rows, zone_rows
from pipeline.evidence import EvidenceWriter
from pipeline.process import process_video
from pipeline.readers import open_source
from pipeline.sink import IncidentSink
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.pipeline.harness import START, app_config, zone

WIDE = (1280, 720)


def _rect(top: float, bottom: float, width: float = 1280) -> np.ndarray:
    return np.array([[0, top], [width, top], [width, bottom], [0, bottom]], np.float64)


def test_band_covers_the_zones_with_room_above_and_below() -> None:
    band = zone_rows([_rect(400, 720)], WIDE)
    # 320 rows of zone: 160 above for objects standing on its top edge, the picture's end below.
    assert band == RowBand(240, 720)
    two = zone_rows([_rect(300, 400), _rect(450, 500)], WIDE)
    assert two == RowBand(200, 551)  # 200 rows of zones: 100 above, 50 below


def test_center_anchors_get_more_room_below() -> None:
    bottom_anchor = zone_rows([_rect(300, 400)], WIDE)
    center_anchor = zone_rows([_rect(300, 400)], WIDE, center_anchor=True)
    assert bottom_anchor is not None and center_anchor is not None
    assert center_anchor.bottom - bottom_anchor.bottom == 25


@pytest.mark.parametrize(
    ("polygons", "size"),
    [
        ([], WIDE),  # no zones: nothing to crop to
        ([_rect(100, 700)], WIDE),  # the band would be nearly the whole picture
        ([_rect(600, 700, width=720)], (720, 1280)),  # portrait: a crop would change the scale
    ],
    ids=["no-zones", "little-saving", "portrait"],
)
def test_no_band_where_it_would_not_pay(polygons: list[np.ndarray], size: tuple[int, int]) -> None:
    assert zone_rows(polygons, size) is None


class SeesOneCar(Detector):
    """Finds a 'car' wherever a bright block is in the picture it is given; records shapes."""

    def __init__(self, reads_pixels: bool = True) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self._reads_pixels = reads_pixels

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    @property
    def reads_pixels(self) -> bool:
        return self._reads_pixels

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            self.shapes.append(frame.image.shape)
            ys, xs = np.nonzero(frame.image[:, :, 0] > 128)
            box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            out.append(Detections.from_lists(box, [0.9], [0], ("car",)))
        return out


def test_boxes_found_in_the_band_come_back_in_picture_pixels() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[500:600, 200:400] = 255
    frame = Frame(image, 1.0, 25)
    detector = SeesOneCar()
    whole = detect_in_rows(detector, frame, None)
    banded = detect_in_rows(detector, frame, RowBand(240, 720))
    assert detector.shapes == [(720, 1280, 3), (480, 1280, 3)]
    np.testing.assert_allclose(banded.xyxy, whole.xyxy)
    np.testing.assert_allclose(banded.xyxy, [[200, 500, 400, 600]])


def test_a_detector_that_does_not_read_pixels_gets_the_whole_frame() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[500:600, 200:400] = 255
    detector = SeesOneCar(reads_pixels=False)
    dets = detect_in_rows(detector, Frame(image, 1.0, 25), RowBand(240, 720))
    assert detector.shapes == [(720, 1280, 3)]
    np.testing.assert_allclose(dets.xyxy, [[200, 500, 400, 600]])


class RecordsShapes(Detector):
    """Sees nothing; remembers the picture sizes it was given."""

    def __init__(self) -> None:
        self.shapes: set[tuple[int, ...]] = set()

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.shapes.update(f.image.shape for f in frames)
        return [Detections.empty(("car",)) for _ in frames]


@pytest.mark.parametrize(("crop", "rows"), [(False, 180), (True, 122)], ids=["whole", "band"])
def test_process_detects_in_the_zones_band_only_when_asked(
    tmp_path: Path, crop: bool, rows: int
) -> None:
    video = Scene(320, 180, 10.0, 2.0, []).render(tmp_path / "v.mp4", gop=10)
    # Zone rows 99-180: 40 more above them (half its height) for objects standing in it.
    app = app_config([zone(polygon=[[0, 0.55], [1, 0.55], [1, 1], [0, 1]])], crop_to_zones=crop)
    store = IncidentStore(make_engine(f"sqlite:///{tmp_path / 'sw.db'}"))
    migrate(store.engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    detector = RecordsShapes()
    with open_source(app.cameras[0], str(video)) as source:
        process_video(source, app, app.cameras[0], detector, sink, START, store)
    sink.close()
    assert detector.shapes == {(rows, 320, 3)}
