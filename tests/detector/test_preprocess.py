"""Letterboxing: geometry, pixel values, batching, and mapping boxes back."""

from __future__ import annotations

import numpy as np
import pytest

from detector.preprocess import PAD_VALUE, Letterbox, letterbox, letterbox_batch, stack_batch

PAD = np.float32(PAD_VALUE / 255.0)


@pytest.mark.parametrize(
    ("image_hw", "size", "expected"),
    [
        ((64, 128), 64, Letterbox(scale=0.5, pad_x=0, pad_y=16, width=128, height=64)),
        ((128, 64), 64, Letterbox(scale=0.5, pad_x=16, pad_y=0, width=64, height=128)),
        ((50, 50), 100, Letterbox(scale=2.0, pad_x=0, pad_y=0, width=50, height=50)),
        ((1080, 1920), 640, Letterbox(scale=1 / 3, pad_x=0, pad_y=140, width=1920, height=1080)),
        ((40, 40), (32, 64), Letterbox(scale=0.8, pad_x=16, pad_y=0, width=40, height=40)),
    ],
    ids=["landscape", "portrait", "upscale", "full-hd", "non-square-network"],
)
def test_letterbox_geometry(
    image_hw: tuple[int, int], size: int | tuple[int, int], expected: Letterbox
) -> None:
    tensor, box = letterbox(np.zeros((*image_hw, 3), np.uint8), size)
    out_hw = (size, size) if isinstance(size, int) else size
    assert tensor.shape == (3, *out_hw)
    assert tensor.dtype == np.float32
    assert box.pad_x == expected.pad_x and box.pad_y == expected.pad_y
    assert box.scale == pytest.approx(expected.scale)
    assert (box.width, box.height) == (expected.width, expected.height)


@pytest.mark.parametrize(
    ("image_hw", "rect_xyxy"),
    [((240, 320), (40, 60, 200, 180)), ((320, 240), (30, 50, 170, 290))],
    ids=["landscape", "portrait"],
)
def test_drawn_box_round_trips_through_the_letterbox(
    image_hw: tuple[int, int], rect_xyxy: tuple[int, int, int, int]
) -> None:
    x1, y1, x2, y2 = rect_xyxy
    image = np.zeros((*image_hw, 3), np.uint8)
    image[y1:y2, x1:x2] = 255
    tensor, box = letterbox(image, 160)
    ys, xs = np.nonzero(tensor[0] > 0.9)  # where the white rectangle landed
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    np.testing.assert_allclose(box.to_image(found)[0], rect_xyxy, atol=2.0)
    np.testing.assert_allclose(box.to_network(box.to_image(found)), found, atol=1e-4)


def test_to_image_clips_to_the_original_image() -> None:
    box = Letterbox(scale=0.5, pad_x=0, pad_y=16, width=128, height=64)
    inside_padding = np.array([[-10.0, 0.0, 70.0, 60.0]], np.float32)
    assert box.to_image(inside_padding).tolist() == [[0.0, 0.0, 128.0, 64.0]]


def test_pixels_are_rgb_scaled_and_padded_grey() -> None:
    image = np.zeros((32, 64, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    tensor, box = letterbox(image, 64)
    assert box.pad_y == 16
    np.testing.assert_array_equal(tensor[:, 0, 0], [PAD, PAD, PAD])
    np.testing.assert_array_equal(tensor[:, 63, 63], [PAD, PAD, PAD])
    np.testing.assert_array_equal(tensor[:, 32, 32], [0.0, 0.0, 1.0])


def test_grayscale_and_bgra_inputs_become_three_channels() -> None:
    gray, _ = letterbox(np.full((10, 10), 255, np.uint8), 10)
    bgra, _ = letterbox(np.full((10, 10, 4), 255, np.uint8), 10)
    assert gray.shape == bgra.shape == (3, 10, 10)
    assert gray.min() == bgra.min() == 1.0


def test_letterbox_batch_pads_empty_slots_with_zeros() -> None:
    images = [np.zeros((64, 128, 3), np.uint8), np.zeros((128, 64, 3), np.uint8)]
    batch, boxes = letterbox_batch(images, 64, batch_size=4)
    assert batch.shape == (4, 3, 64, 64)
    assert [(b.pad_x, b.pad_y) for b in boxes] == [(0, 16), (16, 0)]
    np.testing.assert_array_equal(batch[0], letterbox(images[0], 64)[0])
    assert not batch[2:].any()
    with pytest.raises(ValueError, match="smaller"):
        letterbox_batch(images, 64, batch_size=1)


def test_stack_batch() -> None:
    tensors = [np.ones((3, 4, 4), np.float32), np.full((3, 4, 4), 2, np.float32)]
    batch = stack_batch(tensors, batch_size=3)
    assert batch.shape == (3, 3, 4, 4)
    assert batch[:, 0, 0, 0].tolist() == [1.0, 2.0, 0.0]
