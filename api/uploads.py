"""Checks for uploaded photos: size limit, and JPEG / PNG by their magic bytes."""

from __future__ import annotations

import cv2
import numpy as np
from fastapi import HTTPException, UploadFile, status

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_photo(upload: UploadFile, max_bytes: int) -> bytes:
    """The photo as JPEG bytes (PNG is re-encoded); 413 if too big, 415 if not an image."""
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"photo is larger than {max_bytes // (1024 * 1024)} MB",
        )
    # The declared content type is the client's claim; the first bytes are the file's.
    if data.startswith(JPEG_MAGIC):
        if _decode(data) is None:
            raise _unsupported("the JPEG photo cannot be decoded")
        return data
    if data.startswith(PNG_MAGIC):
        image = _decode(data)
        if image is None:
            raise _unsupported("the PNG photo cannot be decoded")
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise _unsupported("the PNG photo cannot be converted")
        return bytes(encoded.tobytes())
    raise _unsupported("photo must be a JPEG or PNG image")


def _decode(data: bytes) -> np.ndarray | None:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image)


def _unsupported(message: str) -> HTTPException:
    return HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, message)
