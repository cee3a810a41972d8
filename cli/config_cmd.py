"""`streetwatch config import|export`: move cameras and zones between YAML and database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from cli.common import add_storage_args, open_storage
from pipeline.config import AppConfig
from pipeline.config_load import load_config
from pipeline.store.catalog import export_config, import_config


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="import or export the camera/zone catalog")
    actions = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="load cameras and zones from YAML into the database")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="replace a catalog that is not empty")
    add_storage_args(imp)
    imp.set_defaults(func=run_import)
    exp = actions.add_parser("export", help="write the database's cameras and zones as YAML")
    exp.add_argument("--out", required=True, type=Path)
    exp.add_argument(
        "--config", type=Path, help="YAML whose detector/evidence settings to keep (optional)"
    )
    add_storage_args(exp)
    exp.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    app = load_config(args.file)
    storage = open_storage(args.data_dir)
    if import_config(storage.engine, app, replace=args.replace):
        print(f"imported {len(app.cameras)} cameras from {args.file}")
        return 0
    print("the catalog already holds cameras; pass --replace to overwrite it")
    return 1


def run_export(args: argparse.Namespace) -> int:
    storage = open_storage(args.data_dir)
    base = load_config(args.config) if args.config else None
    placeholder = AppConfig(cameras=[{"name": "placeholder", "source": "none"}])  # type: ignore[list-item]
    exported = export_config(storage.engine, base or placeholder)
    if exported is placeholder:
        print("the catalog is empty; nothing exported")
        return 1
    data = exported.model_dump(mode="json", exclude_defaults=True)
    args.out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    print(f"wrote {len(exported.cameras)} cameras to {args.out}")
    return 0
