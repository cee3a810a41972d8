"""`streetwatch sample`: write the scripted sample street (video, detections, truth)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from models.scripted import sample_street, write_bundle


def register(sub: Any) -> None:
    p = sub.add_parser("sample", help="write a scripted sample street video with its detections")
    p.add_argument("--out", type=Path, default=Path("sample"), help="folder (default: ./sample)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = write_bundle(sample_street(args.seed), args.out, "street", every_n_frames=3)
    for kind, path in files.items():
        print(f"{kind:10} {path}")
    print(
        f"next: streetwatch process {files['video']} --config configs/sample.yaml "
        f"--model {files['detections']} --json incidents.json"
    )
    return 0
