"""Object detection: the shared `Detections` type, the `Detector` interface and its backends."""

from detector.base import Detector, DetectorError, create_detector, register_backend
from detector.config import DetectorConfig
from detector.types import Detections, Frame

__all__ = [
    "Detections",
    "Detector",
    "DetectorConfig",
    "DetectorError",
    "Frame",
    "create_detector",
    "register_backend",
]
