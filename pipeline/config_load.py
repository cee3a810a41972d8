"""Read the YAML config and turn pydantic errors into lines that name file, field and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.config import AppConfig
from pipeline.errors import ConfigError


def load_config(path: str | Path) -> AppConfig:
    """Parse and validate; raises `ConfigError` listing every problem found."""
    path = Path(path)
    data = _read_yaml(path)
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path), describe_errors(exc, data)) from None
    _resolve_relative_paths(config, path.parent)
    return config


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except IsADirectoryError:
        raise ConfigError(str(path), ["is a folder, not a YAML file"]) from None
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        raise ConfigError(str(path), [f"{problem}; is this the YAML config?"]) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    if not text.strip():
        raise ConfigError(
            str(path), ["the file is empty; it must hold a mapping with a 'cameras' list"]
        )
    data = _parse_yaml(text, path)
    if not isinstance(data, dict):
        found = type(data).__name__
        raise ConfigError(
            str(path), [f"the file must hold a mapping with a 'cameras' list, not a {found}"]
        )
    return data


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), [f"malformed YAML: {where}{problem}"]) from None
    except RecursionError:
        # PyYAML's composer recurses once per nesting level.
        raise ConfigError(str(path), ["malformed YAML: nested too deeply"]) from None


SECRET_FIELDS = frozenset({"secret", "password"})


def describe_errors(exc: ValidationError, data: Any) -> list[str]:
    """One line per problem: `cameras[0].zones[1].polygon: <message> (got <value>)`."""
    lines = []
    for err in exc.errors():
        loc = _field_path(err["loc"], data)
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if err["type"] == "missing" else f" (got {_short(value)})"
        if err["loc"] and str(err["loc"][-1]) in SECRET_FIELDS:
            shown = " (value hidden)"  # a webhook secret or password never goes to a log
        lines.append(f"{loc or '(top level)'}: {message}{shown}")
    return lines


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    # pydantic adds union/literal tags ("str", "int", "function-after[...]") to the location;
    # keep only the steps that exist in the user's document.
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            parts.append(f"[{step}]")
            node = node[step]
        elif isinstance(step, str) and isinstance(node, dict) and step in node:
            parts.append(f".{step}" if parts else step)
            node = node[step]
        elif isinstance(step, str) and isinstance(node, dict) and not parts:
            parts.append(step)
            node = None
        elif isinstance(step, str) and isinstance(node, dict):
            parts.append(f".{step}")
            node = None
    return "".join(parts)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _resolve_relative_paths(config: AppConfig, base: Path) -> None:
    """Model and file-source paths in the YAML are relative to the YAML file's folder."""
    model = config.detector.model
    if model is not None and not model.is_absolute() and not model.exists():
        candidate = base / model
        if candidate.exists():
            config.detector.model = candidate
    for camera in config.cameras:
        source = camera.source
        if isinstance(source, str) and "://" not in source and not Path(source).is_absolute():
            candidate = base / source
            if not Path(source).exists() and candidate.exists():
                camera.source = str(candidate)
