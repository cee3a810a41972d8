"""The `Detector` interface and the backend registry keyed by config `type`."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from detector.config import DetectorConfig
from detector.types import Detections, Frame


class DetectorError(Exception):
    """A model that cannot be loaded or used; the message says what is wrong and what to do."""


class Detector(ABC):
    """Turns frames into detections, several frames per call where the backend can batch.

    >>> config = DetectorConfig(type="replay", model="recorded.jsonl")
    >>> detector = create_detector(config)  # doctest: +SKIP
    >>> [dets] = detector.detect([frame])  # doctest: +SKIP
    """

    @property
    @abstractmethod
    def class_names(self) -> tuple[str, ...]:
        """Names indexed by class id."""

    @abstractmethod
    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        """One `Detections` per frame, in the frames' pixel coordinates."""

    @property
    def reads_pixels(self) -> bool:
        """False for backends that look up boxes instead of reading the picture (replay):
        their boxes are whole-picture coordinates, so a cropped frame must not be shifted."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release sessions, files or threads the backend holds."""


BackendFactory = Callable[[DetectorConfig], Detector]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Class decorator adding a backend under its config `type` name."""

    def add(factory: BackendFactory) -> BackendFactory:
        _BACKENDS[name] = factory
        return factory

    return add


def create_detector(config: DetectorConfig) -> Detector:
    """Build the backend named by `config.type`; raises `DetectorError` with a reason."""
    _load_builtin_backends()
    try:
        factory = _BACKENDS[config.type]
    except KeyError:
        known = ", ".join(sorted(_BACKENDS))
        raise DetectorError(f"unknown detector type {config.type!r} (known: {known})") from None
    return factory(config)


def _load_builtin_backends() -> None:
    # Imported lazily so that `detector.types` stays cheap and the optional Ultralytics
    # backend only matters when it is asked for.
    from detector import onnx_backend, replay  # noqa: F401

    with contextlib.suppress(ImportError):
        from detector import ultralytics_backend  # noqa: F401
