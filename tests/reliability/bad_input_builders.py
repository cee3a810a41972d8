"""Builders for the bad-input corpus (`test_bad_input.py`): each case is a function that puts
its broken input in the case's own folder and returns the command line to run and the input
the error message must name."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.reliability.bad_inputs import DataFingerprint, onnx_file

START = "2026-11-23T10:00:00+07:00"


@dataclass(frozen=True)
class World:
    """Good inputs, and a data folder holding one incident that no bad input may touch."""

    video: Path
    truth: Path
    config: Path
    good: dict[str, Any]
    data: Path
    stored: DataFingerprint


@dataclass(frozen=True)
class CaseDirs:
    """Where one case runs: a folder for its inputs, and its own copy of the data folder, so
    that a case which does write cannot spoil the cases after it."""

    inputs: Path
    data: Path


Built = tuple[list[str], str]  # the command line, and the input its message must name
Build = Callable[[World, CaseDirs], Built]


def _process(
    world: World,
    dirs: CaseDirs,
    *extra: str,
    video: Path | None = None,
    config: Path | None = None,
) -> list[str]:
    # --json points into the inputs folder, so a run that got as far as writing it shows there.
    where = ["--data-dir", str(dirs.data), "--json", str(dirs.inputs / "incidents.json")]
    args = ["process", str(video or world.video), "--config", str(config or world.config)]
    return [*args, *where, "--start", START, "--no-progress", *extra]


def _command(command: str, world: World, dirs: CaseDirs, config: Path) -> list[str]:
    if command == "check-config":
        return ["check-config", str(config)]
    if command == "run":
        return ["run", "--config", str(config), "--data-dir", str(dirs.data)]
    if command == "eval":
        args = ["eval", str(world.video), "--config", str(config), "--truth", str(world.truth)]
        return [*args, "--data-dir", str(dirs.data), "--start", START, "--no-progress"]
    return _process(world, dirs, config=config)


# --- configs ------------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], Any]


def zone_edit(**changes: object) -> Edit:
    def edit(config: dict[str, Any]) -> Any:
        config["cameras"][0]["zones"][0].update(changes)
        return config

    return edit


def camera_edit(**changes: object) -> Edit:
    def edit(config: dict[str, Any]) -> Any:
        config["cameras"][0].update(changes)
        return config

    return edit


def top_edit(**changes: object) -> Edit:
    def edit(config: dict[str, Any]) -> Any:
        config.update(changes)
        return config

    return edit


def without_cameras(config: dict[str, Any]) -> Any:
    del config["cameras"]
    return config


def camera_twice(config: dict[str, Any]) -> Any:
    config["cameras"].append(copy.deepcopy(config["cameras"][0]))
    return config


def zone_twice(config: dict[str, Any]) -> Any:
    zones = config["cameras"][0]["zones"]
    zones.append(copy.deepcopy(zones[0]))
    return config


def second_camera(config: dict[str, Any]) -> Any:
    config["cameras"].append({**copy.deepcopy(config["cameras"][0]), "name": "gate-2"})
    return config


def config_case(content: str | bytes | Edit, command: str = "process") -> Build:
    """A config file with `content`: text, bytes, or an edit of the good config."""

    def build(world: World, dirs: CaseDirs) -> Built:
        path = dirs.inputs / "config.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(yaml.safe_dump(content(copy.deepcopy(world.good))))
        return _command(command, world, dirs, path), str(path)

    return build


def config_path_case(make: Callable[[Path], Path]) -> Build:
    """A config path that is no file; `make` creates it (or not) in the inputs folder."""

    def build(world: World, dirs: CaseDirs) -> Built:
        path = make(dirs.inputs)
        return _command("process", world, dirs, path), str(path)

    return build


def argument_case(*extra: str, culprit: str, edit: Edit | None = None) -> Build:
    """The good inputs with extra command-line arguments (and optionally an edited config)."""

    def build(world: World, dirs: CaseDirs) -> Built:
        if edit is None:
            return _process(world, dirs, *extra), culprit
        config = dirs.inputs / "config.yaml"
        config.write_text(yaml.safe_dump(edit(copy.deepcopy(world.good))))
        return _process(world, dirs, *extra, config=config), culprit

    return build


def folder_at(name: str) -> Callable[[Path], Path]:
    def make(inputs: Path) -> Path:
        (inputs / name).mkdir()
        return inputs / name

    return make


def file_at(name: str, content: bytes | None) -> Callable[[Path], Path]:
    """A file with `content` in the inputs folder; None leaves it missing."""

    def make(inputs: Path) -> Path:
        if content is not None:
            (inputs / name).write_bytes(content)
        return inputs / name

    return make


# --- videos, models, truth ----------------------------------------------------------------


def video_case(make: Callable[[Path], Path], reader: str = "opencv") -> Build:
    def build(world: World, dirs: CaseDirs) -> Built:
        video = make(dirs.inputs)
        return _process(world, dirs, "--reader", reader, video=video), str(video)

    return build


def cut_header_case(reader: str) -> Build:
    """The good video's first kilobyte: a container header with no index and no frames."""

    def build(world: World, dirs: CaseDirs) -> Built:
        video = file_at("cut.mp4", world.video.read_bytes()[:1024])(dirs.inputs)
        return _process(world, dirs, "--reader", reader, video=video), str(video)

    return build


def model_case(make: Callable[[Path], Path], command: str = "process") -> Build:
    def build(world: World, dirs: CaseDirs) -> Built:
        model = make(dirs.inputs)
        if command == "run":
            args = ["run", "--config", str(world.config), "--data-dir", str(dirs.data)]
            return [*args, "--model", str(model)], str(model)
        return _process(world, dirs, "--model", str(model)), str(model)

    return build


def half_a_model(inputs: Path) -> Path:
    whole = onnx_file(inputs / "whole.onnx")
    content = whole.read_bytes()
    whole.unlink()
    return file_at("half.onnx", content[: len(content) // 2])(inputs)


def config_names_disagree(world: World, dirs: CaseDirs) -> Built:
    model = onnx_file(dirs.inputs / "three.onnx")
    edited = copy.deepcopy(world.good)
    edited["detector"] = {"type": "onnx", "model": str(model), "class_names": ["car", "bus"]}
    config = dirs.inputs / "config.yaml"
    config.write_text(yaml.safe_dump(edited))
    return _process(world, dirs, config=config), str(model)


def truth_case(content: str | None) -> Build:
    def build(world: World, dirs: CaseDirs) -> Built:
        truth = file_at("truth.yaml", None if content is None else content.encode())(dirs.inputs)
        args = ["eval", str(world.video), "--config", str(world.config), "--truth", str(truth)]
        return [*args, "--data-dir", str(dirs.data), "--start", START, "--no-progress"], str(truth)

    return build
