"""Analysis of one camera's sampled frames: tracker, zone rules, incidents, evidence hand-off.

Reading the source is someone else's job (a file loop or a live reader), so the same analysis
serves `process`, `run` and batched multi-camera inference.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from detector.types import Detections, Frame
from pipeline.camera_health import CameraHealth, Fault
from pipeline.clips import FinishedClip, PendingClips, PrerollBuffer
from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.detect_rows import RowBand, zone_rows
from pipeline.incidents import IncidentManager, IncidentOpened, PresenceChanged
from pipeline.long_timers import LONG_RULES, LongTimers
from pipeline.packet_source import CodecInfo, SourcePacket
from pipeline.picture import FramePicture
from pipeline.rectification import RectificationWatcher
from pipeline.rules import RuleOutput, ZoneRule
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store.rectification_store import RectificationStore
from pipeline.store.repository import IncidentStore
from pipeline.timing import StageTimes
from pipeline.tracking import ObjectTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """A frame chosen for detection, with its picture for evidence (encoded if needed)."""

    frame: Frame
    picture: FramePicture


class CameraAnalyzer:
    """Feed it clip frames and detections in stream order; it emits incidents to the sink.

    >>> analyzer = CameraAnalyzer(app, camera, (1280, 720), start, sink)  # doctest: +SKIP
    >>> analyzer.on_detections(sampled, detections)  # doctest: +SKIP
    """

    def __init__(
        self,
        app: AppConfig,
        camera: CameraConfig,
        frame_size: tuple[int, int],
        wall_origin: datetime,
        sink: IncidentSink,
        store: IncidentStore | None = None,
        clip_fps: float = 10.0,
        times: StageTimes | None = None,
        packet_codec: CodecInfo | None = None,
    ) -> None:
        self.camera = camera
        self.sink = sink
        self.clip_fps = clip_fps
        self.times = times or StageTimes()
        max_gap = max((z.max_gap_s for z in camera.zones), default=10.0)
        self.tracker = ObjectTracker(
            app.class_map, camera.detect_fps, app.tracking.iou_threshold, memory_s=max_gap
        )
        self.frame_size = frame_size
        self.tracking = app.tracking
        self._lock = threading.Lock()
        self.rules = [self._make_rule(z) for z in camera.zones]
        self.incidents = IncidentManager(
            camera,
            wall_origin,
            store,
            duplicate_overlap=app.tracking.duplicate_overlap,
            recurrence_window=timedelta(days=app.rectification.anti_recurrence_days),
        )
        # Clips come from JPEG frames (OpenCV readers) or the stream's own packets (PyAV).
        self.packet_codec = packet_codec
        is_key = (lambda p: p.is_key) if packet_codec else None
        self.preroll: PrerollBuffer[Any] = PrerollBuffer(app.evidence.pre_s, is_key)
        self.pending: PendingClips[Any] = PendingClips(app.evidence.post_s)
        self.incident_count = 0
        self.last_t = 0.0
        self.health = CameraHealth() if camera.tamper_check else None
        self.fault: Fault | None = None
        self.long_timers = (
            LongTimers(store, camera.name, self.rules, self.incidents) if store else None
        )
        if self.long_timers:
            self.long_timers.restore()
        self.rectification = (
            RectificationWatcher(
                camera.name,
                RectificationStore(store.engine),
                app.rectification,
                lambda: self.rules,
            )
            if store
            else None
        )

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        """Apply edited zones while running: unchanged zones keep their timers, changed or new
        ones start afresh, removed ones stop. Safe to call from another thread."""
        with self._lock:
            old = {r.zone.name: r for r in self.rules}
            self.rules = [
                old[z.name] if z.name in old and old[z.name].zone == z else self._make_rule(z)
                for z in zones
            ]
            self.camera = self.camera.model_copy(update={"zones": list(zones)})
            self.incidents.zones = {z.name: z for z in zones}
            if self.long_timers:
                self.long_timers.rules = [r for r in self.rules if r.zone.rule in LONG_RULES]
        log.info("camera %s: zones now %s", self.camera.name, ", ".join(z.name for z in zones))

    @property
    def detect_band(self) -> RowBand | None:
        """The rows the detector needs to see for the current zones (None: all of them)."""
        if not self.camera.crop_to_zones:
            return None
        with self._lock:
            rules = list(self.rules)
        center = any(r.zone.anchor == "center" for r in rules)
        return zone_rows([r.polygon for r in rules], self.frame_size, center)

    def _make_rule(self, zone: ZoneConfig) -> ZoneRule:
        return ZoneRule(zone, self.camera.timezone, self.frame_size, self.tracking)

    def on_clip_frame(self, t: float, jpeg: bytes) -> None:
        """A JPEG frame at the clip rate (OpenCV readers)."""
        self._clip_item(t, jpeg)

    def on_packet(self, packet: SourcePacket) -> None:
        """Every compressed packet of the stream (PyAV readers)."""
        self._clip_item(packet.t, packet)

    def _clip_item(self, t: float, item: Any) -> None:
        self.preroll.add(t, item)
        for clip in self.pending.add(t, item):
            self._send_clip(clip)

    def _send_clip(self, clip: FinishedClip[Any]) -> None:
        if self.packet_codec is None:
            self.sink.clip(clip.incident_id, clip.items, self.clip_fps)
        else:
            self.sink.packet_clip(
                clip.incident_id, self.packet_codec, clip.items, self.clip_fps, clip.from_t
            )

    def on_detections(self, sampled: SampledFrame, detections: Detections) -> None:
        with self._lock:
            self._analyse(sampled, detections)

    def _analyse(self, sampled: SampledFrame, detections: Detections) -> None:
        frame = sampled.frame
        self.last_t = frame.t
        if self._camera_fault(frame):
            return
        with self.times.measure("track"):
            tracks = self.tracker.update(detections, frame.t)
        with self.times.measure("rules"):
            moment = self.incidents.wall(frame.t)
            outputs = [
                rule.evaluate(tracks, frame.t, moment, sampled.picture) for rule in self.rules
            ]
            violations = [v for out in outputs for v in out.violations]
            ended = self._ended_keys(outputs)
            events = self.incidents.observe(violations, ended, frame.t)
        for event in events:
            if isinstance(event, IncidentOpened):
                self._opened(event, sampled)
            else:
                self.sink.presence(event)
        if self.rectification:
            for outcome in self.rectification.observe(tracks, frame.t, moment, sampled.picture):
                self.sink.rectification(outcome)
        if self.long_timers:
            self.long_timers.save(frame.t)

    def _camera_fault(self, frame: Frame) -> bool:
        """True while the camera is covered, moved or blurred: its rules pause meanwhile."""
        if self.health is None:
            return False
        if not self.health.due():
            return self.fault is not None
        fault = self.health.check(frame.image)
        if fault != self.fault:
            if fault is None:
                log.warning(
                    "camera %s: picture back to normal at %.1f s; rules resume",
                    self.camera.name,
                    frame.t,
                )
            else:
                log.warning(
                    "camera %s: camera fault '%s' at %.1f s; rules paused",
                    self.camera.name,
                    fault.value,
                    frame.t,
                )
            self.fault = fault
        return fault is not None

    def finish(self) -> None:
        """End of stream: cut pending clips short and close incidents."""
        self.flush_clips()
        if self.long_timers:
            self.long_timers.save(self.last_t, force=True)
        keep = frozenset(r.value for r in LONG_RULES)
        for event in self.incidents.finish(self.last_t, keep_rules=keep):
            if isinstance(event, PresenceChanged):
                self.sink.presence(event)

    def flush_clips(self) -> None:
        """Send clips still waiting for post-roll with what they have (stream end, stop)."""
        for clip in self.pending.flush():
            self._send_clip(clip)

    def _ended_keys(self, outputs: list[RuleOutput]) -> list[tuple[str, str]]:
        return [
            (rule.zone.name, key)
            for rule, out in zip(self.rules, outputs, strict=True)
            for key in out.ended_keys
        ]

    def _opened(self, event: IncidentOpened, sampled: SampledFrame) -> None:
        record = event.record
        self.incident_count += 1
        rule = next(r for r in self.rules if r.zone.name == record.zone)
        labels = [
            f"{self.camera.name} / {record.zone} / {record.type}",
            f"first seen {record.first_seen_at:%Y-%m-%d %H:%M:%S}",
            f"alert      {record.alert_at:%Y-%m-%d %H:%M:%S}",
        ]
        first_seen = event.first_seen_snapshot
        pictures = AlertPictures(
            first_seen_jpeg=first_seen.jpeg() if first_seen is not None else None,
            alert_jpeg=sampled.picture.jpeg(),
            alert_image=sampled.frame.image,
            zone_polygon_px=np.round(rule.polygon).astype(np.int32),
            label_lines=labels,
        )
        self.sink.opened(record, pictures)
        from_t = record.alert_s - self.preroll.seconds
        self.pending.start(record.id, record.alert_s, self.preroll.since(from_t), from_t)
        log.info(
            "incident %s: %s in %s at %.1fs (first seen %.1fs)",
            record.id[:8],
            record.type,
            record.zone,
            record.alert_s,
            record.first_seen_s,
        )
