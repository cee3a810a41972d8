"""`streetwatch verify`: recompute evidence hashes and the audit chain; exit 1 on mismatch."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.common import add_storage_args, open_storage
from pipeline.recovery import verify


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="check every evidence file's SHA-256 and the audit chain")
    add_storage_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    storage = open_storage(args.data_dir, writer=False)
    report = verify(storage.engine, storage.evidence_dir)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    status = "ok" if not report.problems else f"{len(report.problems)} problems"
    print(f"verified {report.files_checked} evidence files and the audit log: {status}")
    return 1 if report.problems else 0
