"""Redaction blurs exactly the given regions, leaves every other pixel alone and never
touches the evidence file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.reports.pictures import PictureSource, decode, load_picture, redacted
from pipeline.reports.redact import (
    PLATE_BAND_FRACTION,
    Region,
    available_cascades,
    find_regions,
    plate_band,
    redact,
)
from tests.reports.conftest import CAR_BOX, noise_picture, write_jpeg

FACE = Region(400, 60, 460, 130, "face")
PLATE = Region(150, 260, 250, 290, "plate")


def outside_mask(shape: tuple[int, ...], regions: list[Region]) -> np.ndarray:
    mask = np.ones(shape[:2], dtype=bool)
    for r in regions:
        mask[max(0, r.y1) : r.y2, max(0, r.x1) : r.x2] = False
    return mask


def patch(image: np.ndarray, r: Region) -> np.ndarray:
    return image[r.y1 : r.y2, r.x1 : r.x2].astype(np.float64)


def test_known_face_and_plate_boxes_are_blurred_and_nothing_else_changes() -> None:
    image = noise_picture(1)
    before = image.copy()
    out = redact(image, [FACE, PLATE])
    assert np.array_equal(image, before), "the input array must not be modified"
    outside = outside_mask(image.shape, [FACE, PLATE])
    assert np.array_equal(out[outside], image[outside])
    for region in (FACE, PLATE):
        original_std = patch(image, region).std()
        assert patch(out, region).std() < 0.2 * original_std, region
        assert not np.array_equal(patch(out, region), patch(image, region))


def test_regions_are_clipped_to_the_picture() -> None:
    image = noise_picture(2)
    edge = Region(600, 320, 700, 400, "plate")  # runs past the right and bottom edges
    out = redact(image, [edge, Region(-50, -50, -10, -10, "face")])
    inside = Region(600, 320, 640, 360, "plate")
    assert np.array_equal(
        out[outside_mask(image.shape, [inside])], image[outside_mask(image.shape, [inside])]
    )
    assert patch(out, inside).std() < 0.3 * patch(image, inside).std()


def test_plate_band_is_the_lower_part_of_a_vehicle_box_only() -> None:
    band = plate_band(CAR_BOX, ("car",))
    assert band is not None
    x1, y1, x2, y2 = CAR_BOX
    assert (band.x1, band.x2, band.y2) == (x1, x2, y2)
    assert band.y1 == int(y2 - (y2 - y1) * PLATE_BAND_FRACTION)
    assert plate_band(CAR_BOX, (), rule="abandoned_vehicle") is not None
    assert plate_band(CAR_BOX, ("umbrella", "chair"), rule="street_vending") is None
    assert plate_band(None, ("car",)) is None


def test_the_bundled_cascades_load_and_run_offline() -> None:
    names = available_cascades()
    assert "frontal_face" in names
    # A flat picture has no faces or plates: only the plate band of the incident remains.
    flat = np.full((360, 640, 3), 128, dtype=np.uint8)
    regions = find_regions(flat, CAR_BOX, ("car",))
    assert [r.kind for r in regions] == ["plate_band"]


def test_public_picture_blurs_the_plate_band_and_keeps_the_file(tmp_path: Path) -> None:
    file = write_jpeg(tmp_path, "car/alert.jpg", noise_picture(3))
    path = tmp_path / file.path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    source = PictureSource("car", path, CAR_BOX, ("car",), "illegal_parking")
    original = decode(path)
    assert original is not None
    out, regions = redacted(original, source)
    band = plate_band(CAR_BOX, ("car",))
    assert band in regions
    outside = outside_mask(original.shape, regions)
    assert np.array_equal(out[outside], original[outside])
    assert band is not None and patch(out, band).std() < 0.2 * patch(original, band).std()
    public = load_picture(source, public=True)
    internal = load_picture(source, public=False)
    assert public is not None and internal is not None and public.regions_blurred >= 1
    assert public.jpeg != internal.jpeg
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, "evidence was modified"


@pytest.mark.parametrize("content", [b"", b"not a jpeg"])
def test_unreadable_pictures_are_skipped(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    assert load_picture(PictureSource("x", path, None, (), "illegal_parking"), True) is None
    assert decode(tmp_path / "missing.jpg") is None


def test_big_pictures_are_shrunk_for_the_report(tmp_path: Path) -> None:
    big = cv2.resize(noise_picture(4), (1920, 1080), interpolation=cv2.INTER_NEAREST)
    file = write_jpeg(tmp_path, "big.jpg", big)
    picture = load_picture(PictureSource("b", tmp_path / file.path, None, (), "x"), False)
    assert picture is not None and (picture.width, picture.height) == (960, 540)
