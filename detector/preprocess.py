"""Letterboxing: frames to network input tensors, and network boxes back to frame pixels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from detector.types import FloatArray

logger = logging.getLogger(__name__)

PAD_VALUE = 114  # Ultralytics pads with this grey; matching it keeps exported models' accuracy
_INV_255 = np.float32(1.0 / 255.0)
_PAD = np.float32(PAD_VALUE / 255.0)

Size = int | tuple[int, int]  # square side, or (height, width)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one image was fitted into the network input: uniform scale, then centred padding.

    `width` and `height` are the original image's, used to clip boxes mapped back onto it.

    >>> lb = Letterbox(scale=0.5, pad_x=0, pad_y=16, width=128, height=64)
    >>> lb.to_image(np.array([[22.0, 27.0, 42.0, 37.0]], np.float32)).tolist()
    [[44.0, 22.0, 84.0, 42.0]]
    """

    scale: float
    pad_x: int
    pad_y: int
    width: int
    height: int

    def to_image(self, xyxy: FloatArray) -> FloatArray:
        """Network-space (N, 4) xyxy boxes in original image pixels, clipped to the image."""
        offset = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)
        boxes = (np.asarray(xyxy, np.float32).reshape(-1, 4) - offset) / np.float32(self.scale)
        limit = np.array([self.width, self.height, self.width, self.height], np.float32)
        return np.clip(boxes, 0.0, limit).astype(np.float32, copy=False)

    def to_network(self, xyxy: FloatArray) -> FloatArray:
        """Original-image (N, 4) xyxy boxes in network input pixels (the inverse of `to_image`)."""
        offset = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)
        boxes = np.asarray(xyxy, np.float32).reshape(-1, 4) * np.float32(self.scale) + offset
        return boxes.astype(np.float32, copy=False)


def _hw(size: Size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def _as_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    return image


def letterbox(
    image_bgr: npt.NDArray[np.uint8], size: Size, out: FloatArray | None = None
) -> tuple[FloatArray, Letterbox]:
    """Fit a BGR uint8 image into `size` keeping its aspect ratio, centred on grey padding.

    Returns the (3, H, W) float32 RGB tensor scaled to 0..1 and the `Letterbox` that maps
    boxes back. `out`, when given, is a (3, H, W) float32 buffer (e.g. one slot of a batch)
    written in place so batching needs no extra copy.
    """
    out_h, out_w = _hw(size)
    image = _as_bgr(image_bgr)
    h, w = image.shape[:2]
    scale = min(out_h / h, out_w / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (out_w - new_w) // 2, (out_h - new_h) // 2
    if (new_w, new_h) != (w, h):
        image = np.asarray(
            cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR), np.uint8
        )
    if out is None:
        out = np.empty((3, out_h, out_w), np.float32)
    elif out.shape != (3, out_h, out_w) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 (3, {out_h}, {out_w}), got {out.dtype} {out.shape}")
    _fill_padding(out, pad_x, pad_y, new_w, new_h)
    # Splitting into contiguous planes first (cv2.split is vectorised) and scaling each plane
    # into its RGB slot is ~40 % faster than one multiply over a strided HWC->CHW view.
    region = out[:, pad_y : pad_y + new_h, pad_x : pad_x + new_w]
    for rgb_index, plane in enumerate(reversed(cv2.split(image))):
        np.multiply(plane, _INV_255, out=region[rgb_index])
    return out, Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y, width=w, height=h)


def _fill_padding(out: FloatArray, pad_x: int, pad_y: int, new_w: int, new_h: int) -> None:
    # Only the bands around the image are painted; the image region is overwritten anyway.
    out[:, :pad_y, :] = _PAD
    out[:, pad_y + new_h :, :] = _PAD
    out[:, pad_y : pad_y + new_h, :pad_x] = _PAD
    out[:, pad_y : pad_y + new_h, pad_x + new_w :] = _PAD


def letterbox_batch(
    images: Sequence[npt.NDArray[np.uint8]],
    size: Size,
    batch_size: int | None = None,
    out: FloatArray | None = None,
) -> tuple[FloatArray, list[Letterbox]]:
    """Letterbox several images straight into one (B, 3, H, W) float32 batch.

    `batch_size` larger than the number of images pads the batch with zero slots, for models
    whose batch dimension is fixed; the returned `Letterbox` list has one entry per image.
    `out`, when its shape fits, is filled in place instead of a new array.
    """
    out_h, out_w = _hw(size)
    slots = len(images) if batch_size is None else batch_size
    if slots < len(images):
        raise ValueError(f"batch_size {slots} is smaller than the {len(images)} images")
    shape = (slots, 3, out_h, out_w)
    # Reusing the caller's buffer saves allocating (and page-faulting) ~5 MB per call.
    batch = out if out is not None and out.shape == shape else np.empty(shape, np.float32)
    batch[len(images) :] = 0.0
    boxes = [letterbox(image, (out_h, out_w), out=batch[i])[1] for i, image in enumerate(images)]
    return batch, boxes


def stack_batch(tensors: Sequence[FloatArray], batch_size: int | None = None) -> FloatArray:
    """Stack (3, H, W) tensors into (B, 3, H, W), zero-padding up to `batch_size` slots."""
    if not tensors:
        raise ValueError("stack_batch needs at least one tensor")
    slots = len(tensors) if batch_size is None else batch_size
    if slots < len(tensors):
        raise ValueError(f"batch_size {slots} is smaller than the {len(tensors)} tensors")
    batch = np.zeros((slots, *tensors[0].shape), np.float32)
    for i, tensor in enumerate(tensors):
        batch[i] = tensor
    return batch
