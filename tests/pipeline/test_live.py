"""Live cameras: reading paced frames, alerting, stopping cleanly, reconnecting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detector import DetectorConfig, create_detector
from detector.base import Detector
from detector.types import Detections, Frame
from models.scripted import Scene, parked, write_bundle
from pipeline.errors import InputError
from pipeline.evidence import EvidenceWriter
from pipeline.live import Backoff, CameraState, LiveCamera, Supervisor
from pipeline.sink import IncidentSink
from pipeline.sources import SourceInfo
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.pipeline.harness import app_config, zone


class ParkedCarDetector(Detector):
    """Sees one car standing at the same place in every frame."""

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("car",)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [Detections.from_lists([[40, 60, 120, 110]], [0.9], [0], ("car",)) for _ in frames]


# A textured picture: a flat grey one would rightly count as a covered lens.
STREET = np.random.default_rng(1).integers(0, 255, (180, 320, 3), dtype=np.uint8)


class _Grabbed:
    def __init__(self, index: int, t: float) -> None:
        self.index, self.t = index, t

    def retrieve(self) -> np.ndarray:
        return STREET.copy()


class PacedSource:
    """A live-like source: frames at `fps` in real time, ending after `seconds`."""

    def __init__(self, origin: float, fps: float = 10.0, seconds: float = 3.0) -> None:
        self.origin, self.fps, self.seconds = origin, fps, seconds
        self.info = SourceInfo(width=320, height=180, fps=fps, frame_count=0, live=True)

    def frames(self) -> Iterator[_Grabbed]:
        started = time.monotonic()
        index = 0
        while time.monotonic() - started < self.seconds:
            time.sleep(1.0 / self.fps)
            yield _Grabbed(index, time.monotonic() - self.origin)
            index += 1

    def __enter__(self) -> PacedSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _camera(tmp_path: Path, opener: Any) -> tuple[LiveCamera, IncidentSink, IncidentStore]:
    app = app_config([zone(dwell_s=2)], detect_fps=4.0)
    app.evidence.pre_s = app.evidence.post_s = 1.0
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    store = IncidentStore(engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    cam = LiveCamera(app, app.cameras[0], ParkedCarDetector(), sink, store, open_source=opener)
    return cam, sink, store


def _run_until(cam: LiveCamera, sink: IncidentSink, done: Any, timeout_s: float = 10) -> None:
    """Run the camera until `done()` or the timeout, then stop it and close its sink."""
    cam.start()
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    cam.stop()
    sink.close()


def test_live_camera_alerts_and_stops_cleanly_with_the_clip_written(tmp_path: Path) -> None:
    threads_before = threading.active_count()
    cam, sink, store = _camera(tmp_path, lambda spec, origin: PacedSource(origin, seconds=30))
    supervisor = Supervisor([cam])
    supervisor.start()
    deadline = time.monotonic() + 10
    while sink.stats.incidents_written == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cam.status.state is CameraState.online
    supervisor.stop()  # right after the alert: the clip's post-roll is still pending
    sink.close()
    [record] = store.list_incidents("cam-1")
    kinds = {e.kind.value for e in record.evidence}
    assert kinds == {"first_seen", "alert_clean", "alert_annotated", "clip"}
    assert cam.status.frames_detected >= 8
    assert cam.status.state is CameraState.stopped
    assert threading.active_count() == threads_before


def test_a_dropped_stream_is_retried_with_backoff(tmp_path: Path) -> None:
    opened: list[float] = []

    def flaky(spec: Any, origin: float) -> PacedSource:
        opened.append(time.monotonic())
        if len(opened) == 2:
            raise InputError("no decodable video in rtsp://camera")
        return PacedSource(origin, seconds=0.5)

    cam, sink, _ = _camera(tmp_path, flaky)
    cam.start()
    deadline = time.monotonic() + 8
    while len(opened) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cam.status.state in (CameraState.reconnecting, CameraState.online)
    cam.stop()
    sink.close()
    assert len(opened) >= 3
    assert cam.status.reconnects >= 2
    assert opened[2] - opened[1] >= 1.5  # the second wait doubled


def test_backoff_is_capped() -> None:
    backoff = Backoff(base=1, cap=8)
    assert [backoff.next() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    backoff.reset()
    assert backoff.next() == 1


def test_zone_edits_apply_to_a_running_camera(tmp_path: Path) -> None:
    cam, sink, store = _camera(tmp_path, lambda spec, origin: PacedSource(origin, seconds=30))
    elsewhere = zone(dwell_s=2, polygon=[[0.6, 0.6], [1, 0.6], [1, 1], [0.6, 1]])
    cam.replace_zones([type(cam.camera.zones[0]).model_validate(elsewhere)])
    cam.start()
    time.sleep(3.5)
    assert sink.stats.incidents_written == 0  # the car stands outside the only zone
    cam.replace_zones([type(cam.camera.zones[0]).model_validate(zone("new", dwell_s=2))])
    deadline = time.monotonic() + 8
    while sink.stats.incidents_written == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    cam.stop()
    sink.close()
    [record] = store.list_incidents("cam-1")
    assert record.zone == "new"


def test_live_camera_reading_packets_writes_a_clip_from_them(tmp_path: Path) -> None:
    from models.scripted import Scene, parked
    from pipeline.benchmark.paced import PacedLoop

    video = Scene(320, 180, 10.0, 12.0, [parked("car", (40, 60, 120, 110), 0, 12)]).render(
        tmp_path / "cam.mp4"
    )
    cam, sink, store = _camera(tmp_path, lambda spec, origin: PacedLoop(str(video), 4.0, origin))
    _run_until(cam, sink, lambda: sink.stats.clips_written > 0)
    records = store.list_incidents("cam-1")
    assert records, "no incident from the packet reader"
    assert "clip" in {e.kind.value for e in records[0].evidence}


def test_a_packet_readers_newest_frame_is_encoded_only_when_asked_for(tmp_path: Path) -> None:
    from pipeline.benchmark.paced import PacedLoop

    video = Scene(320, 180, 10.0, 3.0, []).render(tmp_path / "empty-street.mp4")
    cam, sink, _ = _camera(tmp_path, lambda spec, origin: PacedLoop(str(video), 4.0, origin))
    _run_until(cam, sink, lambda: cam.status.frames_detected >= 4)
    newest = cam._latest
    assert newest is not None and not newest.is_encoded  # nothing in the zone: no picture
    jpeg = cam.latest_jpeg
    assert jpeg is not None and newest.is_encoded
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (180, 320, 3)


def test_an_unreachable_camera_is_offline_and_shows_its_backoff(tmp_path: Path) -> None:
    """A stream that drops is `reconnecting`; once a reconnect fails it is `offline`, with
    the back-off it waits (given to the camera) in its status, until frames come again."""
    opened: list[float] = []

    def flaky(spec: Any, origin: float) -> PacedSource:
        opened.append(time.monotonic())
        if len(opened) in (2, 3):
            raise InputError("no decodable video in rtsp://camera")
        return PacedSource(origin, seconds=0.5 if len(opened) == 1 else 30)

    cam, sink, _ = _camera(tmp_path, flaky)
    cam.backoff = Backoff(base=0.1, cap=0.2)
    seen: list[tuple[CameraState, float]] = []
    cam.start()
    deadline = time.monotonic() + 8
    while len(opened) < 4 or cam.status.state is not CameraState.online:
        assert time.monotonic() < deadline, f"never back online: {seen}"
        now = (cam.status.state, cam.status.retry_delay_s)
        if not seen or seen[-1] != now:
            seen.append(now)
        time.sleep(0.01)
    cam.stop()
    sink.close()
    assert seen[0][0] in (CameraState.starting, CameraState.online)
    assert (CameraState.reconnecting, 0.1) in seen  # the drop: first delay
    assert (CameraState.offline, 0.2) in seen  # failed attempts: doubled, then capped
    assert cam.status.reconnects == 3
    assert opened[3] - opened[2] >= 0.2


class FailsOnce(ParkedCarDetector):
    """Raises on its second call, as a model or a store glitch might."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("inference failed: out of memory")
        return super().detect(frames)


def test_a_frame_that_fails_analysis_does_not_end_the_camera(tmp_path: Path) -> None:
    cam, sink, store = _camera(tmp_path, lambda spec, origin: PacedSource(origin, seconds=4.0))
    cam.detector = FailsOnce()
    _run_until(cam, sink, lambda: cam.status.frames_detected >= 14)
    assert cam.status.analysis_errors == 1
    assert "out of memory" in cam.status.last_error
    assert cam.status.frames_detected >= 14  # it went on detecting after the failure
    assert len(store.list_incidents("cam-1")) == 1  # and the car still became an incident


def test_a_recorded_file_is_read_once_then_the_camera_stops(tmp_path: Path) -> None:
    """A file is not a stream: at its end the camera stops instead of reconnecting, which
    would analyse the same footage again and store its violations twice."""
    scene = Scene(320, 180, 10.0, 8.0, [parked("car", (60, 100, 160, 150), 1, 8)], seed=2)
    files = write_bundle(scene, tmp_path / "scene", "scene", 1)
    app = app_config([zone(dwell_s=2)], files["detections"])
    camera = app.cameras[0].model_copy(update={"source": str(files["video"])})
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    store = IncidentStore(engine)
    sink = IncidentSink(EvidenceWriter(tmp_path / "evidence"), store)
    detector = create_detector(DetectorConfig(type="replay", model=files["detections"]))
    cam = LiveCamera(app, camera, detector, sink, store)
    cam.start()
    deadline = time.monotonic() + 30
    while cam.status.state is not CameraState.stopped and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a reconnect, if there were one, would start meanwhile
    cam.stop()
    sink.close()
    assert cam.status.last_error == "file ended"
    assert cam.status.reconnects == 0
    assert cam.status.frames_read == 80
    assert len(store.list_incidents("cam-1")) == 1
