"""`streetwatch check-config FILE...`: validate configs and print every problem."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.config_load import load_config
from pipeline.errors import ConfigError


def register(sub: Any) -> None:
    parser = sub.add_parser("check-config", help="validate config files and list every problem")
    parser.add_argument("configs", nargs="+", help="YAML config files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.configs:
        try:
            config = load_config(path)
        except ConfigError as exc:
            failed += 1
            for problem in exc.problems:
                print(f"{exc.path}: {problem}", file=sys.stderr)
            continue
        zones = sum(len(c.zones) for c in config.cameras)
        print(f"{path}: ok ({len(config.cameras)} cameras, {zones} zones)")
    return 2 if failed else 0
