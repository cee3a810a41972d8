"""`streetwatch user add`, `serve`'s runtime, demo users and camera status events."""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.demo_users import ensure_demo_users
from api.runtime import Runtime
from api.security import verify_password
from cli.main import main
from cli.serve_cmd import add_cameras, build_runtime
from detector import DetectorConfig
from detector.priority import MAX_NICE
from pipeline.alerts import AlertBus
from pipeline.config import AppConfig
from pipeline.live import CameraState
from pipeline.store import users
from pipeline.store.catalog import import_config
from pipeline.store.db import make_engine, migrate
from pipeline.store.repository import IncidentStore
from tests.api.conftest import CONFIG, Api
from tests.api.test_live import receive_within, wait_for_subscriber
from tests.api.test_zones import attach
from tests.detector.onnx_models import constant_model, save_model, yolov8_output
from tests.detector.test_priority import nice_of
from tests.pipeline.harness import app_config, zone
from tests.pipeline.test_live import PacedSource


def test_user_add_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        main(
            [
                "user",
                "add",
                "ann",
                "--role",
                "operator",
                "--password-stdin",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        main(
            [
                "user",
                "add",
                "bob",
                "--role",
                "admin",
                "--password-stdin",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        main(
            [
                "user",
                "add",
                "cat",
                "--role",
                "patrol",
                "--password-stdin",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 2
    )  # patrol needs a team


def test_serve_runtime_imports_the_yaml_once(tmp_path: Path) -> None:
    config = tmp_path / "cams.yaml"
    config.write_text(yaml.safe_dump(cast(dict[str, Any], CONFIG)))
    args = argparse.Namespace(
        config=config, data_dir=tmp_path / "data", model=None, no_cameras=True
    )
    settings, runtime = build_runtime(args)
    assert runtime.cameras == {}
    assert runtime.config is not None and [c.name for c in runtime.config.cameras] == [
        "cam-a",
        "cam-b",
    ]
    with TestClient(create_app(settings, runtime)) as client:
        assert client.get("/api/health").status_code == 200
    # A second start keeps the database's catalog even if the YAML changed.
    config.write_text(yaml.safe_dump({"cameras": [{"name": "other", "source": "x.mp4"}]}))
    _, again = build_runtime(args)
    assert again.config is not None and [c.name for c in again.config.cameras] == ["cam-a", "cam-b"]


def test_demo_users_can_sign_in(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate(engine)
    import_config(engine, AppConfig.model_validate(CONFIG))
    created = ensure_demo_users(engine)
    assert {role for _, _, role, _ in created} == {
        "admin",
        "supervisor",
        "monitor",
        "operator",
        "patrol",
    }
    with Session(engine) as session:
        for username, password, role, _team in created:
            user = users.find_user(session, username)
            assert user is not None and user.role == role
            assert verify_password(user.password_hash, password)
        team = users.find_team(session, "team-1")
        assert team is not None
        assert users.team_zones(session, team.id) == [
            ("cam-a", "z1"),
            ("cam-a", "z2"),
            ("cam-b", "z1"),
        ]
    assert ensure_demo_users(engine) == created  # idempotent
    engine.dispose()


def test_camera_state_changes_are_published(api: Api) -> None:
    fake = attach(api.runtime, "cam-a")
    app = create_app(api.client.app.state.settings, api.runtime)  # type: ignore[attr-defined]
    with (
        TestClient(app) as client,
        client.websocket_connect("/api/live", headers=api.auth("monitor")) as ws,
    ):
        wait_for_subscriber(api)
        time.sleep(1.2)  # the start-up event went out before we subscribed
        fake.status.state = CameraState.online
        started = time.monotonic()
        event = receive_within(ws, 3.0)
        assert event["type"] == "camera.status" and event["camera"]["name"] == "cam-a"
        assert event["camera"]["state"] == "online"
        assert time.monotonic() - started < 2.0


def _paced(camera: Any) -> Any:
    return lambda spec, origin: PacedSource(origin)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_serve_runs_the_cameras_below_the_api_and_the_alert_writer_beside_it(
    tmp_path: Path,
) -> None:
    base = nice_of(threading.get_native_id())
    if base > MAX_NICE - 6:
        pytest.skip("the tests already run near the lowest priority: nothing left to lower")
    output = yolov8_output([[8, 8, 24, 24]], [[0.9]])
    model = constant_model(output, batch="batch", names="{0: 'car'}")
    model_path = save_model(model, tmp_path / "m.onnx")
    app = app_config([zone(dwell_s=2)], detect_fps=4.0).model_copy(update={"analysis_nice": 6})
    engine = make_engine(f"sqlite:///{tmp_path / 'sw.db'}")
    migrate(engine)
    runtime = Runtime(engine, IncidentStore(engine), tmp_path / "evidence", AlertBus(), config=app)
    threads_before = set(threading.enumerate())
    add_cameras(runtime, app, DetectorConfig(model=model_path, imgsz=64, sessions=2), _paced)
    background = ("read-", "analyse-", "batching-detector-", "clip-writer")
    runtime.start()
    try:
        # Each background thread lowers itself as it starts: wait until all have.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            started = [t for t in threading.enumerate() if t not in threads_before]
            nice = {t.name: nice_of(t.native_id) for t in started if t.native_id}
            lowered = {n: v for n, v in nice.items() if n.startswith(background)}
            if len(lowered) == 5 and set(lowered.values()) == {base + 6}:
                break
            time.sleep(0.05)
    finally:
        runtime.stop()
    assert sorted(lowered) == [
        "analyse-cam-1",
        "batching-detector-0",
        "batching-detector-1",
        "clip-writer",
        "read-cam-1",
    ]
    assert set(lowered.values()) == {base + 6}, lowered
    # Alerts are on the monitoring center's clock; the pending-writes queue carries them.
    others = {n: v for n, v in nice.items() if n not in lowered}
    assert others == {"alert-writer": base, "pending-writes": base}
    assert nice_of(threading.get_native_id()) == base
