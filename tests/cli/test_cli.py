"""The command line as a user meets it: configs, `process`, exit codes. (Bad input has its
own corpus in tests/reliability/test_bad_input.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli.main import main
from models.scripted import Scene, parked, write_bundle

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


def test_truncated_video_is_processed_up_to_the_damage(
    tmp_path: Path, bundle: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    import cv2

    avi = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
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
