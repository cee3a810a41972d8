"""The command line as a user meets it: configs, `process`, bad input, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli.main import main
from models.scripted import Scene, parked, write_bundle
from pipeline.store.db import make_engine
from pipeline.store.repository import IncidentStore
from tests.detector.onnx_models import constant_model, save_model

ROOT = Path(__file__).resolve().parents[2]
START = "2026-11-23T10:00:00+07:00"


def test_every_shipped_config_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert configs, "configs/ holds no YAML"
    assert main(["check-config", *map(str, configs)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (") == len(configs)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bundle")
    scene = Scene(
        320, 180, 10.0, 30.0, [parked("car", (40, 100, 110, 140), arrive=3, leave=28)], seed=2
    )
    files = write_bundle(scene, folder, "street")
    config = {
        "cameras": [
            {
                "name": "gate-1",
                "source": str(files["video"]),
                "timezone": "Asia/Ho_Chi_Minh",
                "zones": [
                    {
                        "name": "curb",
                        "rule": "illegal_parking",
                        "dwell_s": 10,
                        "polygon": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]],
                    }
                ],
            }
        ],
        "detector": {"type": "replay", "model": str(files["detections"])},
    }
    files["config"] = folder / "config.yaml"
    files["config"].write_text(yaml.safe_dump(config))
    return files


def _process(
    bundle: dict[str, Path], data_dir: Path, *extra: str, video: Path | None = None
) -> int:
    args = ["process", str(video or bundle["video"]), "--config", str(bundle["config"])]
    return main([*args, "--data-dir", str(data_dir), "--start", START, "--no-progress", *extra])


def test_process_writes_incidents_json_and_prints_speed(
    bundle: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "incidents.json"
    assert _process(bundle, tmp_path / "data", "--json", str(out_json)) == 0
    printed = capsys.readouterr().out
    assert "x real time" in printed
    for stage in ("decode", "detect", "track", "rules", "evidence"):
        assert stage in printed.split("ms/frame", 1)[1].splitlines()[0]
    [incident] = json.loads(out_json.read_text())
    for key in (
        "id",
        "camera",
        "zone",
        "type",
        "first_seen_s",
        "alert_s",
        "last_seen_s",
        "box",
        "confidence",
        "object_classes",
        "evidence",
    ):
        assert key in incident
    assert incident["camera"] == "gate-1" and incident["zone"] == "curb"
    assert incident["alert_s"] == pytest.approx(13.0, abs=1.0)
    assert {e["kind"] for e in incident["evidence"]} >= {"first_seen", "alert_annotated", "clip"}
    assert all(len(e["sha256"]) == 64 for e in incident["evidence"])


def _bad_configs(tmp: Path, good: dict) -> dict[str, tuple[Path, str]]:
    """name -> (config file, text the error must contain)."""
    cases: dict[str, tuple[dict | str, str]] = {}
    zone = good["cameras"][0]["zones"][0]

    def with_zone(**changes: object) -> dict:
        cfg = json.loads(json.dumps(good))
        cfg["cameras"][0]["zones"][0] = {**zone, **changes}
        return cfg

    cases["malformed-yaml"] = ("cameras: [\n  - name: x\n   bad", "malformed YAML")
    cases["two-points"] = (with_zone(polygon=[[0, 0], [1, 1]]), "cameras[0].zones[0].polygon")
    cases["outside-frame"] = (
        with_zone(polygon=[[0, 0], [1.5, 0], [1, 1]]),
        "less than or equal to 1",
    )
    cases["unknown-category"] = (with_zone(categories=["spaceship"]), "categories[0]")
    cases["unknown-rule"] = (with_zone(rule="no_spitting"), "cameras[0].zones[0].rule")
    cases["bad-schedule"] = (with_zone(schedule={"windows": ["8am-6pm"]}), "not HH:MM-HH:MM")
    cases["extra-field"] = (with_zone(dwell_minutes=3), "dwell_minutes")
    out = {}
    for name, (content, expected) in cases.items():
        path = tmp / f"{name}.yaml"
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        out[name] = (path, expected)
    return out


def _fingerprint(data_dir: Path) -> tuple[dict[str, int], list[tuple[str, int]]]:
    store = IncidentStore(make_engine(f"sqlite:///{data_dir / 'streetwatch.db'}"))
    files = sorted(
        (str(p.relative_to(data_dir)), p.stat().st_size)
        for p in data_dir.rglob("*")
        if p.is_file() and not p.name.startswith("streetwatch.db")
    )
    return store.count_rows(), files


def test_bad_input_gives_one_line_error_exit_2_and_writes_nothing(
    bundle: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert _process(bundle, data) == 0  # a database with one incident to protect
    before = _fingerprint(data)
    assert before[0]["incidents"] == 1
    capsys.readouterr()
    good = yaml.safe_load(bundle["config"].read_text())

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    wrong_layout = save_model(constant_model(np.zeros((1, 3), np.float32)), tmp_path / "bad.onnx")
    corrupt_model = tmp_path / "corrupt.onnx"
    corrupt_model.write_bytes(b"\x08\x01garbage" * 50)

    runs: list[tuple[list[str], str]] = [
        (["--video", str(tmp_path / "missing.mp4")], "video not found"),
        (["--video", str(empty)], "no decodable video"),
        (["--video", str(text)], "no decodable video"),
        (["--model", str(tmp_path / "nope.onnx")], "model file not found"),
        (["--model", str(wrong_layout)], "(1, 3)"),
        (["--model", str(corrupt_model)], "cannot load ONNX model"),
        (["--camera", "gate-9"], "no camera named 'gate-9'"),
        (["--start", "yesterday"], "is not an ISO 8601"),
    ]
    for path, expected in _bad_configs(tmp_path, good).values():
        runs.append((["--config", str(path)], expected))
    for extra, expected in runs:
        video = None
        if extra[0] == "--video":
            video, extra = Path(extra[1]), []
        if extra and extra[0] == "--config":
            code = main(
                [
                    "process",
                    str(bundle["video"]),
                    "--config",
                    extra[1],
                    "--data-dir",
                    str(data),
                    "--no-progress",
                ]
            )
        else:
            code = _process(bundle, data, *extra, video=video)
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        assert expected in err, (extra, err)
        assert "Traceback" not in err
        assert _fingerprint(data) == before, extra


def test_truncated_video_is_processed_up_to_the_damage(
    tmp_path: Path, bundle: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    import cv2

    avi = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(100):
        writer.write(np.full((120, 160, 3), i * 2, np.uint8))
    writer.release()
    data = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    assert _process(bundle, tmp_path / "d", video=cut) == 0
    assert "truncated or damaged" in caplog.text


def test_eval_scores_the_pipeline_against_truth(
    bundle: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = tmp_path / "truth.yaml"
    truth.write_text(
        yaml.safe_dump(
            {
                "video": "street.mp4",
                "events": [
                    {
                        "zone": "curb",
                        "type": "illegal_parking",
                        "arrive_s": 3.0,
                        "leave_s": 28.0,
                        "box": [40, 100, 110, 140],
                    },
                    {
                        "zone": "curb",
                        "type": "illegal_parking",
                        "arrive_s": 5.0,
                        "leave_s": 8.0,
                    },  # too short
                ],
            }
        )
    )
    report = tmp_path / "report.json"
    args = [
        "eval",
        str(bundle["video"]),
        "--config",
        str(bundle["config"]),
        "--truth",
        str(truth),
        "--no-progress",
        "--start",
        START,
        "--report",
        str(report),
    ]
    assert main(args) == 0
    assert "recall 1.000" in capsys.readouterr().out
    metrics = json.loads(report.read_text())
    assert metrics["events"] == 1 and metrics["matched"] == 1 and metrics["precision"] == 1.0
    assert abs(metrics["median_alert_delay_s"]) <= 1.0


def test_check_config_never_prints_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "cameras": [{"name": "cam-1", "source": "a.mp4"}],
        "integrations": {"webhooks": [{"url": "http://127.0.0.1:9/h", "secret": "short-s3cr3t"}]},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["check-config", str(path)]) != 0
    out = capsys.readouterr()
    assert "integrations.webhooks[0].secret" in out.out + out.err
    assert "short-s3cr3t" not in out.out + out.err
