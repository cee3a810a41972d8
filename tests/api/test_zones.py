"""Zone editing: validation like the YAML, storage in the catalog, live hand-over."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from api.runtime import Runtime
from cli.main import main
from pipeline.config import AppConfig, ZoneConfig
from pipeline.live import CameraStatus, LiveCamera
from pipeline.store.catalog import export_config
from tests.api.conftest import CONFIG, SQUARE, Api

URL = "/api/cameras/cam-a/zones"
ZONE = {"name": "z3", "polygon": SQUARE, "rule": "sidewalk_obstruction", "dwell_s": 30}


class FakeCamera:
    """Stands in for a running LiveCamera: records the zones it is handed."""

    def __init__(self, name: str) -> None:
        self.status = CameraStatus(name)
        self.camera = AppConfig.model_validate(CONFIG).camera(name)
        self.latest_jpeg: bytes | None = b"\xff\xd8\xff fake"
        self.replaced: list[list[ZoneConfig]] = []

    def replace_zones(self, zones: list[ZoneConfig]) -> None:
        self.replaced.append(list(zones))


def attach(runtime: Runtime, name: str) -> FakeCamera:
    fake = FakeCamera(name)
    runtime.cameras[name] = cast(LiveCamera, fake)
    return fake


def test_list_zones(api: Api) -> None:
    zones = api.client.get(URL, headers=api.auth("patrol")).json()
    assert [z["name"] for z in zones] == ["z1", "z2"]
    assert zones[0]["dwell_s"] == 60.0 and zones[0]["categories"] == ["vehicle"]
    assert api.client.get("/api/cameras/nope/zones", headers=api.auth("admin")).status_code == 404


def test_create_update_delete_reach_the_running_camera(api: Api) -> None:
    fake = attach(api.runtime, "cam-a")
    headers = api.auth("supervisor")
    created = api.client.post(URL, json=ZONE, headers=headers)
    assert created.status_code == 201, created.text
    assert [z.name for z in fake.replaced[-1]] == ["z1", "z2", "z3"]
    assert api.client.post(URL, json=ZONE, headers=headers).status_code == 409

    changed = {**ZONE, "dwell_s": 45, "severity": "high"}
    updated = api.client.put(f"{URL}/z3", json=changed, headers=headers)
    assert updated.status_code == 200 and updated.json()["dwell_s"] == 45
    assert fake.replaced[-1][2].severity == "high"

    assert api.client.delete(f"{URL}/z3", headers=headers).status_code == 200
    assert [z.name for z in fake.replaced[-1]] == ["z1", "z2"]
    assert api.client.delete(f"{URL}/z3", headers=headers).status_code == 404
    actions = [
        a["action"] for a in api.client.get("/api/incidents", headers=headers).json()["items"]
    ]
    assert actions == []  # zone edits do not touch incidents


def test_validation_errors_name_the_field_path_and_value(api: Api) -> None:
    headers = api.auth("admin")
    bad = {**ZONE, "polygon": [[0.1, 0.1], [1.5, 0.2], [0.3, 0.9]]}
    response = api.client.post(URL, json=bad, headers=headers)
    assert response.status_code == 422
    messages = [d["msg"] for d in response.json()["detail"]]
    assert any(m.startswith("polygon[1]") and "1.5" in m for m in messages), messages
    wrong_rule = api.client.post(
        URL, json={**ZONE, "rule": "illegal_parking", "categories": ["goods"]}, headers=headers
    )
    assert wrong_rule.status_code == 422
    assert "cannot watch goods" in wrong_rule.json()["detail"][0]["msg"]
    extra = api.client.post(URL, json={**ZONE, "colour": "red"}, headers=headers)
    assert extra.json()["detail"][0]["msg"].startswith("colour:")


def test_operator_cannot_edit_zones(api: Api) -> None:
    assert api.client.post(URL, json=ZONE, headers=api.auth("operator")).status_code == 403


def test_cameras_list_and_snapshot(api: Api) -> None:
    headers = api.auth("monitor")
    cameras = api.client.get("/api/cameras", headers=headers).json()
    assert [(c["name"], c["state"], c["zones"]) for c in cameras] == [
        ("cam-a", "offline", ["z1", "z2"]),
        ("cam-b", "offline", ["z1"]),
    ]
    assert api.client.get("/api/cameras/cam-a/snapshot", headers=headers).status_code == 404
    fake = attach(api.runtime, "cam-a")
    fake.status.state = fake.status.state.online
    snap = api.client.get("/api/cameras/cam-a/snapshot", headers=headers)
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    cameras = api.client.get("/api/cameras", headers=headers).json()
    assert cameras[0]["state"] == "online"


def test_export_and_cli_round_trip(api: Api, tmp_path: Path) -> None:
    api.client.post(URL, json=ZONE, headers=api.auth("admin"))
    exported = export_config(api.engine, AppConfig.model_validate(CONFIG))
    assert [z.name for z in exported.camera("cam-a").zones] == ["z1", "z2", "z3"]

    data_dir = tmp_path / "cli"
    source = tmp_path / "in.yaml"
    source.write_text(yaml.safe_dump(cast(dict[str, Any], CONFIG)))
    assert main(["config", "import", str(source), "--data-dir", str(data_dir)]) == 0
    assert main(["config", "import", str(source), "--data-dir", str(data_dir)]) == 1
    out = tmp_path / "out.yaml"
    assert main(["config", "export", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    again = AppConfig.model_validate(yaml.safe_load(out.read_text()))
    assert [c.name for c in again.cameras] == ["cam-a", "cam-b"]
    assert again.camera("cam-a").zones == AppConfig.model_validate(CONFIG).camera("cam-a").zones


def test_export_keeps_the_yamls_reading_settings_of_each_camera(api: Api) -> None:
    base = AppConfig.model_validate(CONFIG)
    settings = {"reader": "pyav", "decode": "keyframes", "tamper_check": False}
    tuned = base.camera("cam-a").model_copy(update={**settings, "crop_to_zones": True})
    yaml_config = base.model_copy(
        update={"cameras": [tuned if c.name == "cam-a" else c for c in base.cameras]}
    )
    exported = export_config(api.engine, yaml_config)
    cam_a, cam_b = exported.camera("cam-a"), exported.camera("cam-b")
    assert (cam_a.reader, cam_a.decode, cam_a.tamper_check, cam_a.crop_to_zones) == (
        "pyav",
        "keyframes",
        False,
        True,
    )
    # Not set in the YAML: the defaults, not cam-a's.
    assert (cam_b.reader, cam_b.tamper_check, cam_b.crop_to_zones) == ("opencv", True, False)
