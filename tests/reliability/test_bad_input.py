"""Issue #7, bad input: a corpus of broken configs, arguments, videos, models and truth files,
each run through the real command line. Every case must be refused with exit code 2 and a
message that says what is wrong and names the input, with no traceback; its copy of a data
folder holding one incident, and its own inputs folder, must be exactly as before; and no file
descriptor or thread may be left behind."""

from __future__ import annotations

import gc
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from cli.main import main
from models.scripted import Scene, parked, write_bundle
from tests.reliability.bad_input_builders import (
    START,
    Build,
    CaseDirs,
    World,
    argument_case,
    camera_edit,
    camera_twice,
    config_case,
    config_names_disagree,
    config_path_case,
    cut_header_case,
    file_at,
    folder_at,
    half_a_model,
    model_case,
    second_camera,
    top_edit,
    truth_case,
    video_case,
    without_cameras,
    zone_edit,
    zone_twice,
)
from tests.reliability.bad_inputs import (
    audio_only,
    fingerprint,
    huge_frames,
    listing,
    onnx_file,
    rank3_input_model,
    still_image,
    uint8_input_model,
    unknown_codec,
)

SETTLE_S = 2.0  # time allowed for a thread or descriptor to go once a command has returned


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("good")
    car = parked("car", (40, 100, 110, 140), arrive=2, leave=14)
    files = write_bundle(Scene(320, 180, 10.0, 16.0, [car], seed=3), folder, "street")
    zone = {
        "name": "curb",
        "rule": "illegal_parking",
        "dwell_s": 5,
        "polygon": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]],
    }
    camera = {"name": "gate-1", "source": str(files["video"]), "timezone": "Asia/Ho_Chi_Minh"}
    good = {
        "cameras": [{**camera, "zones": [zone]}],
        "detector": {"type": "replay", "model": str(files["detections"])},
    }
    config = folder / "good.yaml"
    config.write_text(yaml.safe_dump(good))
    data = folder / "data"
    args = ["process", str(files["video"]), "--config", str(config), "--data-dir", str(data)]
    assert main([*args, "--start", START, "--no-progress"]) == 0
    stored = fingerprint(data)
    assert stored[0]["incidents"][0] == 1, "the good run did not store its incident"
    return World(files["video"], files["truth"], config, good, data, stored)


@pytest.fixture(scope="module")
def frozen_heap(world: World) -> Iterator[None]:
    """Collect once and freeze what survives: the `gc.collect()` before each case is then
    cheap, and no earlier garbage (the good run's database engine) closes descriptors while a
    case is being counted."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


BOW_TIE = [[0, 0.4], [1, 1], [1, 0.4], [0, 1]]
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
FLAT_OUTPUT = np.zeros((1, 3), np.float32)
BAD_JSONL = b'{"t": 0, "detections": [}\n'


def _case(case_id: str, build: Build, expected: str) -> Any:
    return pytest.param(build, expected, id=case_id)


CASES = [
    # configs, mostly through `process`; a few through check-config, run and eval
    _case(
        "config-malformed-yaml",
        config_case("cameras: [\n  - name: x\n   bad"),
        "malformed YAML: line 2, column 3",
    ),
    _case(
        "config-nested-too-deep",
        config_case("a: " + "[" * 1000 + "]" * 1000),
        "malformed YAML: nested too deeply",
    ),
    _case("config-is-a-list", config_case("- gate-1\n- gate-2\n"), "a 'cameras' list, not a list"),
    _case("config-empty-file", config_case(""), "the file is empty"),
    _case("config-binary", config_case(PNG_HEAD), "not UTF-8 text (byte 0x89 at offset 0)"),
    _case("config-missing", config_path_case(file_at("nowhere.yaml", None)), "file not found"),
    _case(
        "config-is-a-folder", config_path_case(folder_at("c.yaml")), "is a folder, not a YAML file"
    ),
    _case("config-no-cameras-key", config_case(without_cameras), "cameras: Field required"),
    _case(
        "config-empty-camera-list",
        config_case(top_edit(cameras=[])),
        "cameras: List should have at least 1 item",
    ),
    _case(
        "config-duplicate-camera",
        config_case(camera_twice, "check-config"),
        "camera names repeat: gate-1",
    ),
    _case(
        "config-duplicate-zone",
        config_case(zone_twice),
        "zone names repeat within camera gate-1: curb",
    ),
    _case(
        "config-polygon-two-points",
        config_case(zone_edit(polygon=[[0, 0], [1, 1]])),
        "zones[0].polygon: List should have at least 3 items",
    ),
    _case(
        "config-polygon-outside-frame",
        config_case(zone_edit(polygon=[[0, 0], [1.5, 0], [1, 1]])),
        "zones[0].polygon[1][0]: Input should be less than or equal to 1",
    ),
    _case(
        "config-polygon-bow-tie",
        config_case(zone_edit(polygon=BOW_TIE)),
        "zones[0].polygon: polygon edges cross (points 0-1 and 2-3)",
    ),
    _case(
        "config-polygon-flat",
        config_case(zone_edit(polygon=[[0, 0], [0.5, 0.5], [1, 1]])),
        "zones[0].polygon: polygon encloses no area",
    ),
    _case(
        "config-dwell-zero",
        config_case(zone_edit(dwell_s=0)),
        "dwell_s: Input should be greater than 0 (got 0)",
    ),
    _case(
        "config-dwell-negative",
        config_case(zone_edit(dwell_s=-5)),
        "dwell_s: Input should be greater than 0 (got -5)",
    ),
    _case(
        "config-dwell-not-a-number",
        config_case(zone_edit(dwell_s="ten")),
        "dwell_s: Input should be a valid number",
    ),
    _case(
        "config-unknown-rule",
        config_case(zone_edit(rule="no_spitting")),
        "zones[0].rule: Input should be 'illegal_parking'",
    ),
    _case(
        "config-unknown-category",
        config_case(zone_edit(categories=["spaceship"])),
        "zones[0].categories[0]: Input should be 'vehicle'",
    ),
    _case(
        "config-rule-cannot-watch",
        config_case(zone_edit(categories=["vending"])),
        "rule illegal_parking cannot watch vending",
    ),
    _case(
        "config-schedule-syntax",
        config_case(zone_edit(schedule={"windows": ["8am-6pm"]})),
        "window '8am-6pm' is not HH:MM-HH:MM",
    ),
    _case(
        "config-schedule-impossible",
        config_case(zone_edit(schedule={"windows": ["25:00-26:00"]})),
        "'25:00-26:00' has an impossible time",
    ),
    _case(
        "config-unknown-weekday",
        config_case(zone_edit(schedule={"weekdays": ["funday"]})),
        "weekdays[0]: Input should be 'mon'",
    ),
    _case(
        "config-unknown-timezone-run",
        config_case(camera_edit(timezone="Mars/Olympus"), "run"),
        "unknown time zone 'Mars/Olympus'",
    ),
    _case(
        "config-unknown-top-level-key",
        config_case(top_edit(surprise=1)),
        "surprise: Extra inputs are not permitted",
    ),
    _case(
        "config-unknown-zone-key-eval",
        config_case(zone_edit(dwell_minutes=3), "eval"),
        "zones[0].dwell_minutes: Extra inputs are not permitted",
    ),
    _case(
        "config-bad-camera-name",
        config_case(camera_edit(name="gate 1/x")),
        "cameras[0].name: String should match pattern",
    ),
    _case(
        "config-detect-fps-zero",
        config_case(camera_edit(detect_fps=0)),
        "detect_fps: Input should be greater than 0",
    ),
    _case(
        "config-analysis-nice-out-of-range",
        config_case(top_edit(analysis_nice=25)),
        "analysis_nice: Input should be less than or equal to 19",
    ),
    _case(
        "config-unknown-detector",
        config_case(top_edit(detector={"type": "tflite"})),
        "detector.type: Input should be 'onnx', 'ultralytics' or 'replay'",
    ),
    # command-line arguments
    _case(
        "args-unknown-camera",
        argument_case("--camera", "gate-9", culprit="gate-9"),
        "no camera named 'gate-9'",
    ),
    _case(
        "args-bad-start",
        argument_case("--start", "yesterday", culprit="yesterday"),
        "is not an ISO 8601 date-time",
    ),
    _case(
        "args-camera-not-chosen",
        argument_case(culprit="gate-2", edit=second_camera),
        "several cameras; choose one with --camera",
    ),
    # videos, through both readers where they fail differently
    _case("video-missing", video_case(file_at("gone.mp4", None)), "video not found"),
    _case("video-zero-byte", video_case(file_at("empty.mp4", b"")), "the file is empty (0 bytes)"),
    _case(
        "video-zero-byte-pyav",
        video_case(file_at("empty.mp4", b""), "pyav"),
        "the file is empty (0 bytes)",
    ),
    _case(
        "video-text-file",
        video_case(file_at("notes.mp4", b"not a video\n" * 100)),
        "not a video, damaged, or a codec",
    ),
    _case(
        "video-text-file-pyav",
        video_case(file_at("notes.mp4", b"not a video\n" * 100), "pyav"),
        "Invalid data found",
    ),
    _case("video-truncated-header", cut_header_case("opencv"), "not a video, damaged, or a codec"),
    _case("video-truncated-header-pyav", cut_header_case("pyav"), "Invalid data found"),
    _case(
        "video-png-image",
        video_case(lambda d: still_image(d / "frame.png", ".png")),
        "is a PNG still image, not a video",
    ),
    _case(
        "video-jpeg-named-mp4-pyav",
        video_case(lambda d: still_image(d / "frame.mp4", ".jpg"), "pyav"),
        "is a JPEG still image, not a video",
    ),
    _case(
        "video-audio-only",
        video_case(lambda d: audio_only(d / "tone.wav")),
        "not a video, damaged, or a codec",
    ),
    _case(
        "video-audio-only-pyav",
        video_case(lambda d: audio_only(d / "tone.wav"), "pyav"),
        "it has no video stream",
    ),
    _case(
        "video-unknown-codec",
        video_case(lambda d: unknown_codec(d / "qz.avi")),
        "a codec FFmpeg cannot decode",
    ),
    _case(
        "video-unknown-codec-pyav",
        video_case(lambda d: unknown_codec(d / "qz.avi"), "pyav"),
        "FFmpeg has no decoder for its codec",
    ),
    _case(
        "video-huge-resolution",
        video_case(lambda d: huge_frames(d / "huge.y4m")),
        "is 10000x6000 (60 megapixels); streetwatch reads at most 8192x4320",
    ),
    _case(
        "video-huge-resolution-pyav",
        video_case(lambda d: huge_frames(d / "huge.y4m"), "pyav"),
        "is 10000x6000 (60 megapixels)",
    ),
    _case("video-is-a-folder", video_case(folder_at("clips.mp4")), "is a folder, not a video file"),
    # models
    _case("model-missing", model_case(file_at("gone.onnx", None)), "model file not found"),
    _case("model-zero-byte", model_case(file_at("empty.onnx", b"")), "is empty (0 bytes)"),
    _case(
        "model-corrupt-bytes",
        model_case(file_at("bad.onnx", b"\x08\x01garbage" * 50)),
        "cannot load ONNX model",
    ),
    _case(
        "model-text-renamed",
        model_case(file_at("notes.onnx", b"just text\n" * 20)),
        "Protobuf parsing failed",
    ),
    _case("model-truncated", model_case(half_a_model), "cannot load ONNX model"),
    _case(
        "model-output-layout",
        model_case(lambda d: onnx_file(d / "flat.onnx", FLAT_OUTPUT)),
        "unsupported detector output shape (1, 3)",
    ),
    _case(
        "model-input-rank",
        model_case(lambda d: rank3_input_model(d / "r3.onnx")),
        "model input shape [1, 7, 32] is not (B, 3, H, W)",
    ),
    _case(
        "model-uint8-input",
        model_case(lambda d: uint8_input_model(d / "u8.onnx")),
        "model input 'images' is tensor(uint8)",
    ),
    _case(
        "model-names-disagree",
        model_case(lambda d: onnx_file(d / "two.onnx", names="{0: 'car', 1: 'bus'}")),
        "'names' metadata lists 2 names but the model outputs 3",
    ),
    _case(
        "model-config-names-disagree",
        config_names_disagree,
        "detector.class_names lists 2 names but the model outputs 3",
    ),
    _case(
        "model-class-names-unknown",
        model_case(lambda d: onnx_file(d / "three.onnx")),
        "set detector.class_names to its 3 names",
    ),
    _case(
        "model-segmentation-run",
        model_case(lambda d: onnx_file(d / "seg.onnx", task="segment"), "run"),
        "only detection models are supported",
    ),
    _case(
        "model-is-a-folder", model_case(folder_at("weights.onnx")), "is a folder, not a model file"
    ),
    _case(
        "model-recording-bad-json",
        model_case(file_at("rec.jsonl", BAD_JSONL)),
        "line 1: invalid JSON",
    ),
    # truth files for `eval`
    _case("truth-missing", truth_case(None), "cannot read truth file"),
    _case("truth-no-events", truth_case("video: street.mp4\n"), "has no 'events' list"),
    _case(
        "truth-event-malformed", truth_case("events:\n  - zone: curb\n"), "events[0] is malformed"
    ),
]

Resources = tuple[int, int, int]


def _resources() -> Resources:
    """Open file descriptors, Python threads, and native threads (ONNX Runtime's pools)."""
    fds = len(os.listdir("/proc/self/fd"))
    return fds, threading.active_count(), len(os.listdir("/proc/self/task"))


def _settled(before: Resources) -> Resources:
    """Resources once none is above `before`, or as they are after `SETTLE_S`."""
    deadline = time.monotonic() + SETTLE_S
    now = _resources()
    while any(n > b for n, b in zip(now, before, strict=True)) and time.monotonic() < deadline:
        gc.collect()  # a failed constructor's half-built object may hold a session or file
        time.sleep(0.05)
        now = _resources()
    return now


@pytest.mark.parametrize(("build", "expected"), CASES)
@pytest.mark.usefixtures("frozen_heap")
def test_bad_input_is_refused_with_its_message_and_leaves_no_trace(
    world: World, build: Build, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = CaseDirs(tmp_path / "inputs", tmp_path / "data")
    dirs.inputs.mkdir()
    shutil.copytree(world.data, dirs.data)
    argv, culprit = build(world, dirs)
    made = listing(dirs.inputs)
    capsys.readouterr()
    gc.collect()
    before = _resources()

    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert expected in err
    assert culprit in err, "the message does not name the bad input"
    assert fingerprint(dirs.data) == world.stored, "the data folder changed"
    assert listing(dirs.inputs) == made, "the command wrote beside its inputs"
    after = _settled(before)
    assert all(a <= b for a, b in zip(after, before, strict=True)), (
        f"(file descriptors, threads, native threads) grew from {before} to {after}"
    )


def test_the_corpus_is_large_and_its_cases_distinct() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
