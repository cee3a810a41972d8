"""The camera/zone/rule config (YAML), validated once at start-up.

Deployment settings (database, evidence folder, secrets) live in `pipeline.settings`, not here.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from detector.config import DetectorConfig
from detector.priority import MAX_NICE
from pipeline.config_enforcement import IntegrationsConfig, RectificationConfig, RetentionConfig
from pipeline.geometry import crossing_edges, polygon_area


class Category(StrEnum):
    vehicle = "vehicle"
    vending = "vending"
    goods = "goods"
    person = "person"


class RuleType(StrEnum):
    illegal_parking = "illegal_parking"
    street_vending = "street_vending"
    sidewalk_obstruction = "sidewalk_obstruction"
    abandoned_vehicle = "abandoned_vehicle"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


# Which categories each rule may watch; person only ever joins a vending cluster.
ALLOWED_CATEGORIES: dict[RuleType, set[Category]] = {
    RuleType.illegal_parking: {Category.vehicle},
    RuleType.abandoned_vehicle: {Category.vehicle},
    RuleType.street_vending: {Category.vending, Category.goods, Category.person},
    RuleType.sidewalk_obstruction: {Category.vehicle, Category.vending, Category.goods},
}
DEFAULT_CATEGORIES: dict[RuleType, list[Category]] = {
    RuleType.illegal_parking: [Category.vehicle],
    RuleType.abandoned_vehicle: [Category.vehicle],
    RuleType.street_vending: [Category.vending, Category.person],
    RuleType.sidewalk_obstruction: [Category.vending, Category.goods],
}
DEFAULT_DWELL_S: dict[RuleType, float] = {
    RuleType.illegal_parking: 60.0,
    RuleType.street_vending: 120.0,
    RuleType.sidewalk_obstruction: 120.0,
    RuleType.abandoned_vehicle: 72 * 3600.0,
}

# COCO names (Ultralytics spelling) mapped to our categories: vehicles for parking, the
# umbrella / table / chair / bench composite for vending.
COCO_CLASS_MAP: dict[str, Category] = {
    "car": Category.vehicle,
    "truck": Category.vehicle,
    "bus": Category.vehicle,
    "motorcycle": Category.vehicle,
    "umbrella": Category.vending,
    "dining table": Category.vending,
    "chair": Category.vending,
    "bench": Category.vending,
    "person": Category.person,
}

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_WEEKDAYS: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


def check_simple_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A bow tie or a flat line is almost always points listed out of order, and would make a
    zone that covers something else than the drawing meant."""
    crossing = crossing_edges(points)
    if crossing is not None:
        i, j = crossing
        n = len(points)
        raise ValueError(
            f"polygon edges cross (points {i}-{(i + 1) % n} and {j}-{(j + 1) % n}); "
            "list the points in order around the area"
        )
    if polygon_area(points) < 1e-9:
        raise ValueError("polygon encloses no area (its points lie on one line)")
    return points


Polygon = Annotated[list[Point], Field(min_length=3), AfterValidator(check_simple_polygon)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Ho_Chi_Minh)"
        ) from None
    return name


class TimeWindow(_Strict):
    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


def parse_window(text: str) -> TimeWindow:
    match = _WINDOW.match(text.strip())
    if not match:
        raise ValueError(f"time window {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"time window {text!r} has an impossible time")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return TimeWindow(start=time(h1, m1), end=end)


class Schedule(_Strict):
    """When a rule is active: weekdays and time windows (a window may cross midnight; it
    belongs to the weekday it starts on). No schedule means always active."""

    weekdays: list[Weekday] = Field(default_factory=lambda: list(ALL_WEEKDAYS))
    windows: list[str] = Field(default_factory=lambda: ["00:00-24:00"])
    timezone: str | None = Field(default=None, description="defaults to the camera's time zone")

    @field_validator("windows")
    @classmethod
    def _windows_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_window(text)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz_known(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    def parsed_windows(self) -> list[TimeWindow]:
        return [parse_window(text) for text in self.windows]


class ZoneConfig(_Strict):
    """A polygon on the camera picture (0-1 coordinates) with the rule that applies there."""

    name: str = Field(min_length=1, max_length=80)
    polygon: Polygon
    rule: RuleType
    categories: list[Category] | None = None
    dwell_s: float | None = Field(default=None, gt=0)
    schedule: Schedule | None = None
    min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    min_box_size: float = Field(
        default=0.0, ge=0.0, le=1.0, description="shorter box side as a fraction of frame height"
    )
    severity: Severity = Severity.medium
    ignore: list[Polygon] = Field(
        default_factory=list, description="regions whose objects never count (benches, stalls)"
    )
    anchor: Literal["bottom_center", "center"] = "bottom_center"
    max_gap_s: float = Field(default=10.0, ge=0, description="detection gap the timer survives")
    merge_window_s: float = Field(default=60.0, ge=0)
    stationary_tolerance: float = Field(
        default=0.25, gt=0, le=2.0, description="allowed anchor movement, fraction of box height"
    )

    @model_validator(mode="after")
    def _defaults_and_categories(self) -> ZoneConfig:
        if self.categories is None:
            self.categories = list(DEFAULT_CATEGORIES[self.rule])
        allowed = ALLOWED_CATEGORIES[self.rule]
        wrong = [c.value for c in self.categories if c not in allowed]
        if wrong:
            raise ValueError(
                f"rule {self.rule.value} cannot watch {', '.join(wrong)} "
                f"(allowed: {', '.join(sorted(c.value for c in allowed))})"
            )
        if self.dwell_s is None:
            self.dwell_s = DEFAULT_DWELL_S[self.rule]
        return self

    @property
    def dwell(self) -> float:
        assert self.dwell_s is not None  # filled by the validator
        return self.dwell_s

    @property
    def watched(self) -> list[Category]:
        assert self.categories is not None
        return self.categories


class CameraConfig(_Strict):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str | int = Field(description="file path, rtsp:// or http(s):// URL, or device index")
    detect_fps: float = Field(default=1.0, gt=0, le=30, description="detections per second")
    reader: Literal["opencv", "pyav"] = Field(
        default="opencv",
        description="opencv decodes every frame; pyav reads packets and can decode keyframes only",
    )
    decode: Literal["auto", "keyframes", "all"] = Field(
        default="auto", description="pyav only: keyframes when they come often enough (auto)"
    )
    tamper_check: bool = Field(
        default=True, description="pause rules while the camera is covered, moved or blurred"
    )
    crop_to_zones: bool = Field(
        default=False,
        description="detect only in the band of rows the zones need (less inference with a "
        "dynamic-size model); check accuracy with `streetwatch eval` before turning it on",
    )
    timezone: str = "UTC"
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    zones: list[ZoneConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz_known(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _unique_zone_names(self) -> CameraConfig:
        names = [z.name for z in self.zones]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"zone names repeat within camera {self.name}: {', '.join(dupes)}")
        return self


class EvidenceConfig(_Strict):
    pre_s: float = Field(default=5.0, ge=0, le=60, description="clip seconds before the alert")
    post_s: float = Field(default=5.0, ge=0, le=60, description="clip seconds after the alert")
    clip_fps: float = Field(
        default=10.0, ge=1, le=30, description="clip frame rate (capped at source)"
    )
    jpeg_quality: int = Field(default=85, ge=30, le=100)
    clip_max_width: int = Field(default=1280, ge=160, le=3840)


class TrackingConfig(_Strict):
    iou_threshold: float = Field(
        default=0.4, gt=0, lt=1, description="minimum box IoU to continue a track"
    )
    duplicate_overlap: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="intersection over the smaller box that marks a duplicate",
    )
    vending_cluster_gap: float = Field(
        default=0.5, ge=0, description="vending parts join a cluster within this gap (box heights)"
    )


class AppConfig(_Strict):
    """The whole YAML file."""

    cameras: list[CameraConfig] = Field(min_length=1)
    class_map: dict[str, Category] = Field(default_factory=lambda: dict(COCO_CLASS_MAP))
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    rectification: RectificationConfig = Field(default_factory=RectificationConfig)
    integrations: IntegrationsConfig = Field(default_factory=IntegrationsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    analysis_nice: int = Field(
        default=10,
        ge=0,
        le=MAX_NICE,
        description="nice levels below the API at which `serve`'s cameras (reading, analysis, "
        "inference, clip encoding) run on Linux, so that busy cores answer requests first; "
        "0: the same priority",
    )

    @model_validator(mode="after")
    def _unique_camera_names(self) -> AppConfig:
        names = [c.name for c in self.cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names repeat: {', '.join(dupes)}")
        return self

    def camera(self, name: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        known = ", ".join(c.name for c in self.cameras)
        raise KeyError(f"no camera named {name!r} in the config (cameras: {known})")
