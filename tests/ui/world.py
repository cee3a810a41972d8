"""A small seeded streetwatch world for the UI tests: a migrated SQLite database, a camera
catalog, demo users, incidents with real evidence files (JPEGs drawn with OpenCV and an
H.264 clip), fake running cameras, and the real `api` app served by uvicorn in a thread.

Run `python -m tests.ui.world` to browse the seeded UI by hand.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import uvicorn
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.demo_users import DEMO_USERS, ensure_demo_users
from api.events import make_incident_listener
from api.runtime import Runtime
from api.settings import ApiSettings
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig, CameraConfig, ZoneConfig
from pipeline.evidence import EvidenceWriter, annotate_alert
from pipeline.live import CameraState, CameraStatus
from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord
from pipeline.sink import AlertPictures, IncidentSink
from pipeline.store import catalog, users
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from pipeline.store.tables import IncidentRow

WIDTH, HEIGHT = 960, 540
PASSWORDS = {name: password for name, password, _role, _team in DEMO_USERS}

SIDEWALK = [[0.02, 0.62], [0.98, 0.62], [0.98, 0.95], [0.02, 0.95]]
ROADSIDE = [[0.05, 0.40], [0.60, 0.40], [0.60, 0.60], [0.05, 0.60]]
MARKET = [[0.40, 0.50], [0.95, 0.50], [0.95, 0.92], [0.40, 0.92]]
CONFIG: dict[str, Any] = {
    "cameras": [
        {
            "name": "hang-bong-01",
            "source": "rtsp://cameras.invalid/hang-bong-01",
            "timezone": "Asia/Ho_Chi_Minh",
            "zones": [
                {"name": "sidewalk-north", "polygon": SIDEWALK, "rule": "sidewalk_obstruction"},
                {
                    "name": "no-parking",
                    "polygon": ROADSIDE,
                    "rule": "illegal_parking",
                    "severity": "high",
                },
            ],
        },
        {
            "name": "dong-xuan-02",
            "source": "rtsp://cameras.invalid/dong-xuan-02",
            "timezone": "Asia/Ho_Chi_Minh",
            "zones": [
                {
                    "name": "market-gate",
                    "polygon": MARKET,
                    "rule": "street_vending",
                    "schedule": {
                        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                        "windows": ["06:00-18:00"],
                    },
                },
            ],
        },
        {
            "name": "tran-phu-03",
            "source": "rtsp://cameras.invalid/tran-phu-03",
            "timezone": "Asia/Ho_Chi_Minh",
            "zones": [
                {"name": "bus-stop", "polygon": ROADSIDE, "rule": "illegal_parking"},
                {
                    "name": "long-stay",
                    "polygon": SIDEWALK,
                    "rule": "abandoned_vehicle",
                    "severity": "low",
                },
            ],
        },
        {
            "name": "ly-thuong-kiet-04",
            "source": "rtsp://cameras.invalid/ly-thuong-kiet-04",
            "timezone": "Asia/Ho_Chi_Minh",
            "zones": [{"name": "crossing", "polygon": SIDEWALK, "rule": "sidewalk_obstruction"}],
        },
    ]
}


# ---------- pictures ----------


def street_scene(
    seed: int, objects: list[tuple[str, tuple[int, int, int, int]]]
) -> npt.NDArray[np.uint8]:
    """A synthetic street picture: buildings, sidewalk, road, and the given objects."""
    rng = random.Random(seed)
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    img[:] = (200, 185, 160)  # sky-ish facade colour (BGR)
    for x in range(0, WIDTH, 120):  # shop fronts
        colour = (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200))
        cv2.rectangle(img, (x + 6, 40), (x + 114, 300), colour, -1)
        cv2.rectangle(img, (x + 22, 170), (x + 98, 300), (60, 60, 60), -1)
        cv2.rectangle(img, (x + 14, 60), (x + 106, 110), (235, 235, 235), -1)
    cv2.rectangle(img, (0, 300), (WIDTH, 335), (170, 170, 175), -1)  # far sidewalk
    cv2.rectangle(img, (0, 335), (WIDTH, 330 + 0), (0, 0, 0), -1)
    cv2.rectangle(img, (0, 335), (WIDTH, int(HEIGHT * 0.62)), (85, 85, 90), -1)  # road
    for x in range(20, WIDTH, 110):
        cv2.rectangle(img, (x, 395), (x + 60, 401), (230, 230, 230), -1)
    cv2.rectangle(img, (0, int(HEIGHT * 0.62)), (WIDTH, HEIGHT), (165, 175, 185), -1)  # sidewalk
    for x in range(0, WIDTH, 48):
        cv2.line(img, (x, int(HEIGHT * 0.62)), (x - 30, HEIGHT), (140, 150, 160), 1)
    for kind, (x1, y1, x2, y2) in objects:
        if kind == "car":
            cv2.rectangle(img, (x1, y1 + (y2 - y1) // 3), (x2, y2 - 8), (40, 40, 170), -1)
            cv2.rectangle(img, (x1 + 20, y1), (x2 - 20, y1 + (y2 - y1) // 3), (50, 50, 150), -1)
            cv2.rectangle(
                img, (x1 + 28, y1 + 6), (x2 - 28, y1 + (y2 - y1) // 3), (210, 200, 170), -1
            )
            for cx in (x1 + 25, x2 - 25):
                cv2.circle(img, (cx, y2 - 8), 13, (20, 20, 20), -1)
        elif kind == "stall":
            cv2.rectangle(img, (x1, y1 + 30), (x2, y2), (60, 120, 200), -1)
            cv2.ellipse(
                img,
                ((x1 + x2) // 2, y1 + 30),
                ((x2 - x1) // 2 + 14, 30),
                0,
                180,
                360,
                (40, 40, 220),
                -1,
            )
            for i in range(4):
                cv2.circle(img, (x1 + 18 + i * 22, y1 + 50), 8, (0, 200, 255), -1)
        elif kind == "goods":
            for i in range(3):
                cv2.rectangle(
                    img, (x1 + i * 30, y1 + i * 8), (x1 + i * 30 + 40, y2), (70, 140, 160), -1
                )
                cv2.rectangle(
                    img, (x1 + i * 30, y1 + i * 8), (x1 + i * 30 + 40, y2), (30, 60, 80), 2
                )
    return img


def jpeg(image: npt.NDArray[np.uint8], quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(data.tobytes())


def clip_frames(
    seed: int, kind: str, box: tuple[int, int, int, int], n: int = 20
) -> list[tuple[float, bytes]]:
    """Frames of a clip: the object slides into place, then stays."""
    frames = []
    x1, y1, x2, y2 = box
    for i in range(n):
        shift = max(0, (n // 2 - i) * 18)
        image = street_scene(seed, [(kind, (x1 - shift, y1, x2 - shift, y2))])
        frames.append((i / 10.0, jpeg(image, 70)))
    return frames


# ---------- fake running camera ----------


@dataclass
class FakeCamera:
    """Stands in for `pipeline.live.LiveCamera` where the API looks at it."""

    camera: CameraConfig
    status: CameraStatus
    latest_jpeg: bytes | None = None
    replaced: list[list[ZoneConfig]] = field(default_factory=list)

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        self.replaced.append(list(zones))
        self.camera = self.camera.model_copy(update={"zones": list(zones)})


# ---------- the world ----------

KINDS = {
    "illegal_parking": ("car", ["car"]),
    "abandoned_vehicle": ("car", ["car"]),
    "street_vending": ("stall", ["umbrella", "dining table", "person"]),
    "sidewalk_obstruction": ("goods", ["goods"]),
}
BOXES = {
    "car": (230, 300, 430, 380),
    "stall": (560, 330, 700, 470),
    "goods": (120, 390, 260, 470),
}


@dataclass
class World:
    root: Path
    engine: Engine
    store: IncidentStore
    runtime: Runtime
    settings: ApiSettings
    config: AppConfig
    cameras: dict[str, FakeCamera]
    sink: IncidentSink
    clip_bytes: bytes = b""
    counter: int = 0
    url: str = ""
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def zone(self, camera: str, name: str) -> ZoneConfig:
        for zone in self.config.camera(camera).zones:
            if zone.name == name:
                return zone
        raise KeyError(name)

    def _record(
        self,
        camera: str,
        zone: str,
        alert_at: datetime,
        status: str = "new",
        severity: str | None = None,
    ) -> tuple[IncidentRecord, str]:
        self.counter += 1
        rule = self.zone(camera, zone).rule.value
        kind, classes = KINDS[rule]
        x1, y1, x2, y2 = BOXES[kind]
        record = IncidentRecord(
            id=f"inc-{alert_at:%Y%m%d}-{self.counter:04d}",
            camera=camera,
            zone=zone,
            type=rule,
            severity=severity or self.zone(camera, zone).severity.value,
            first_seen_s=100.0,
            alert_s=100.0 + self.zone(camera, zone).dwell,
            last_seen_s=110.0 + self.zone(camera, zone).dwell,
            first_seen_at=alert_at - timedelta(seconds=self.zone(camera, zone).dwell),
            alert_at=alert_at,
            last_seen_at=alert_at + timedelta(seconds=10),
            box=(float(x1), float(y1), float(x2), float(y2)),
            confidence=0.87,
            object_classes=classes,
            status=status,
        )
        return record, kind

    def _pictures(self, record: IncidentRecord, kind: str) -> AlertPictures:
        box = tuple(int(v) for v in record.box)
        seed = self.counter
        first = street_scene(seed, [(kind, box)])  # type: ignore[list-item]
        alert = street_scene(seed, [(kind, box)])  # type: ignore[list-item]
        polygon = np.array(
            [[x * WIDTH, y * HEIGHT] for x, y in self.zone(record.camera, record.zone).polygon],
            np.int32,
        )
        when = record.alert_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        labels = [f"{record.camera} / {record.zone}", f"{record.type}  {when}"]
        return AlertPictures(jpeg(first), jpeg(alert), alert, polygon, labels)

    def store_incident(
        self,
        camera: str,
        zone: str,
        alert_at: datetime,
        status: str = "new",
        severity: str | None = None,
        **columns: Any,
    ) -> str:
        """Write an incident with its pictures and clip straight to disk and database."""
        record, kind = self._record(camera, zone, alert_at, status, severity)
        writer = EvidenceWriter(self.runtime.evidence_dir)
        pictures = self._pictures(record, kind)
        files = [
            writer.write_image(record.id, EvidenceKind.first_seen, jpeg=pictures.first_seen_jpeg),
            writer.write_image(record.id, EvidenceKind.alert_clean, jpeg=pictures.alert_jpeg),
            writer.write_image(
                record.id,
                EvidenceKind.alert_annotated,
                image_bgr=annotate_alert(
                    pictures.alert_image, record.box, pictures.zone_polygon_px, pictures.label_lines
                ),
            ),
            self._copy_clip(record.id),
        ]
        record.evidence = files
        self.store.add_incident(record)
        if columns:
            with Session(self.engine) as session, session.begin():
                row = session.get(IncidentRow, record.id)
                assert row is not None
                for name, value in columns.items():
                    setattr(row, name, value)
        return record.id

    def _copy_clip(self, incident_id: str) -> EvidenceFile:
        # Encoding is the slow part: encode one clip, copy it for the other incidents.
        writer = EvidenceWriter(self.runtime.evidence_dir)
        if not self.clip_bytes:
            made = writer.write_clip(incident_id, clip_frames(1, "car", BOXES["car"]), 10.0)
            self.clip_bytes = (self.runtime.evidence_dir / made.path).read_bytes()
            return made
        folder = self.runtime.evidence_dir / incident_id[:2] / incident_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "clip.mp4").write_bytes(self.clip_bytes)
        digest = hashlib.sha256(self.clip_bytes).hexdigest()
        relative = f"{incident_id[:2]}/{incident_id}/clip.mp4"
        return EvidenceFile(EvidenceKind.clip, relative, digest, len(self.clip_bytes), "video/mp4")

    def publish_alert(self, camera: str, zone: str, severity: str | None = None) -> str:
        """A new incident through the real path: IncidentSink writes the evidence and the
        row, its listener publishes `incident.opened` on the AlertBus; then the clip."""
        record, kind = self._record(camera, zone, datetime.now(UTC), "new", severity)
        self.sink.opened(record, self._pictures(record, kind))
        self.sink.clip(record.id, clip_frames(self.counter, kind, BOXES[kind], n=12), 10.0)
        return record.id

    def wait_for_sink(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.sink.backlog and time.monotonic() < deadline:
            time.sleep(0.05)

    # ---------- server ----------

    def serve(self) -> str:
        app = create_app(self.settings, self.runtime)
        port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="ui-test-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.sink.close()
        self.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def build_world(root: Path) -> World:
    """Database, catalog, users, fake cameras and a few weeks of incidents under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{root / 'streetwatch.db'}")
    migrate(engine)
    config = AppConfig.model_validate(CONFIG)
    catalog.import_config(engine, config)
    ensure_demo_users(engine)
    with Session(engine) as session, session.begin():
        users.create_team(session, "team-2", [("dong-xuan-02", "market-gate")])
    evidence_dir = root / "evidence"
    evidence_dir.mkdir(exist_ok=True)
    store = IncidentStore(engine)
    settings = ApiSettings(data_dir=root, session_hours=1)
    runtime = Runtime(engine, store, evidence_dir, AlertBus(), config=config)
    sink = IncidentSink(EvidenceWriter(evidence_dir), store, [make_incident_listener(runtime)])

    now = datetime.now(UTC)
    cameras: dict[str, FakeCamera] = {}
    states = [CameraState.online, CameraState.online, CameraState.reconnecting, CameraState.online]
    for index, (camera, state) in enumerate(zip(config.cameras, states, strict=True)):
        status = CameraStatus(camera.name)
        status.state = state
        status.last_frame_at = now - timedelta(seconds=1 + index * 3)
        status.lag_s = 0.2 + index * 0.15
        status.frames_dropped = index * 2
        scene = street_scene(index + 7, [("car", BOXES["car"])] if index % 2 else [])
        cameras[camera.name] = FakeCamera(camera, status, jpeg(scene))
    runtime.cameras = cameras  # type: ignore[assignment]

    world = World(root, engine, store, runtime, settings, config, cameras, sink)
    seed_history(world, now)
    return world


def seed_history(world: World, now: datetime) -> None:
    """Three weeks of handled incidents plus a few open ones in every queue."""
    rng = random.Random(42)
    spots = [
        ("hang-bong-01", "sidewalk-north"),
        ("hang-bong-01", "no-parking"),
        ("dong-xuan-02", "market-gate"),
        ("tran-phu-03", "bus-stop"),
        ("tran-phu-03", "long-stay"),
        ("ly-thuong-kiet-04", "crossing"),
    ]
    weights = [5, 7, 9, 4, 1, 3]
    last: dict[tuple[str, str], str] = {}
    for day in range(20, 0, -1):
        for _ in range(rng.randint(0, 3)):
            camera, zone = rng.choices(spots, weights)[0]
            alert_at = now - timedelta(days=day, minutes=rng.randint(0, 600))
            reviewed = alert_at + timedelta(seconds=rng.randint(20, 900))
            if rng.random() < 0.25:
                world.store_incident(
                    camera,
                    zone,
                    alert_at,
                    "dismissed",
                    reviewed_at=reviewed,
                    review_reason="false_detection",
                )
                continue
            last[camera, zone] = world.store_incident(
                camera,
                zone,
                alert_at,
                "resolved",
                team="team-1",
                reviewed_at=reviewed,
                repeat_of=last.get((camera, zone)),
                dispatched_at=reviewed + timedelta(seconds=30),
                resolved_at=reviewed + timedelta(minutes=rng.randint(10, 150)),
                resolution_note="cleared",
            )
    # Open work: new incidents for review, confirmed ones to dispatch, the patrol queue.
    world.store_incident("hang-bong-01", "no-parking", now - timedelta(minutes=95), "new")
    world.store_incident("dong-xuan-02", "market-gate", now - timedelta(minutes=50), "new")
    world.store_incident("tran-phu-03", "bus-stop", now - timedelta(minutes=31), "new", "critical")
    world.store_incident(
        "hang-bong-01",
        "sidewalk-north",
        now - timedelta(minutes=70),
        "confirmed",
        reviewed_at=now - timedelta(minutes=65),
    )
    world.store_incident(
        "dong-xuan-02",
        "market-gate",
        now - timedelta(minutes=240),
        "dispatched",
        team="team-1",
        repeat_of=last.get(("dong-xuan-02", "market-gate")),
        reviewed_at=now - timedelta(minutes=230),
        dispatched_at=now - timedelta(minutes=229),
    )
    world.store_incident(
        "tran-phu-03",
        "long-stay",
        now - timedelta(hours=26),
        "acknowledged",
        "low",
        team="team-1",
        reviewed_at=now - timedelta(hours=25),
        dispatched_at=now - timedelta(hours=25),
        acknowledged_at=now - timedelta(hours=2),
    )


def main() -> None:  # pragma: no cover - manual browsing
    import signal
    import tempfile

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    root = Path(tempfile.mkdtemp(prefix="streetwatch-ui-"))
    world = build_world(root)
    url = world.serve()
    print(f"serving {url}  (data in {root}); users: {PASSWORDS}")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        world.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
