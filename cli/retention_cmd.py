"""`streetwatch retention`: delete the evidence of closed incidents past their retention.

streetwatch retention --config site.yaml --dry-run      # list what would go
streetwatch retention --config site.yaml                # do it (e.g. hourly from cron)
streetwatch retention --dry-run --now 2027-01-01T00:00Z # what would go at another time

Exit status: 0 done, 1 the evidence folder is still over `disk_cap_gb` after pruning
everything allowed or a file could not be removed (real runs only), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cli.common import add_storage_args, open_storage
from pipeline.config_enforcement import RetentionConfig
from pipeline.config_load import load_config
from pipeline.errors import InputError
from pipeline.retention import CAP_SETTLE, RetentionPlan, plan_retention
from pipeline.retention_apply import RetentionResult, apply_plan
from pipeline.store.tables import utc_now


def register(sub: Any) -> None:
    p = sub.add_parser(
        "retention", help="delete evidence of closed incidents past retention (or --dry-run)"
    )
    p.add_argument("--config", type=Path, help="YAML with a retention: section (default policy)")
    p.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    p.add_argument(
        "--now", help="evaluate ages at this ISO 8601 time instead of now (UTC if no offset)"
    )
    add_storage_args(p)
    p.set_defaults(func=run)


def parse_now(text: str | None) -> datetime:
    if text is None:
        return utc_now()
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--now {text!r} is not an ISO 8601 time (e.g. 2026-11-27T08:00:00+07:00)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    now = parse_now(args.now)  # bad input fails before anything is opened
    config = load_config(args.config).retention if args.config else RetentionConfig()
    storage = open_storage(args.data_dir, writer=False)
    with Session(storage.engine) as session:
        plan = plan_retention(session, storage.evidence_dir, config, now)
    print_plan(plan, storage.evidence_dir, dry_run=args.dry_run)
    if args.dry_run:
        print("dry run: nothing deleted")
        return 0
    result = apply_plan(storage.engine, storage.evidence_dir, plan)
    print_result(result)
    return 1 if plan.over_cap_bytes or result.errors else 0


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def print_plan(plan: RetentionPlan, evidence_dir: Path, dry_run: bool) -> None:
    cfg = plan.config
    cap = "none" if cfg.disk_cap_gb is None else f"{cfg.disk_cap_gb:g} GB"
    print(
        f"retention at {plan.now.isoformat(timespec='seconds')}: dismissed "
        f"{cfg.dismissed_days:g} days, rectified {cfg.closed_days:g} days, disk cap {cap}"
    )
    print(f"evidence folder {evidence_dir}: {_size(plan.disk_used_bytes)}")
    if plan.incidents:
        print(f"{'INCIDENT':<38} {'STATUS':<10} {'AGE':>9} {'WHY':<9} {'FILES':>5} {'BYTES':>12}")
    for item in plan.incidents:
        print(
            f"{item.incident_id:<38} {item.status:<10} {item.age_days:>7.1f} d "
            f"{item.reason:<9} {len(item.files):>5} {item.size_bytes:>12}"
        )
    verb = "would remove" if dry_run else "removing"
    print(
        f"{verb} {plan.total_files} files, {plan.total_bytes} bytes "
        f"({_size(plan.total_bytes)}) of {len(plan.incidents)} incidents"
    )
    if plan.held:
        print(f"kept on legal hold although past retention: {', '.join(plan.held)}")
    if plan.over_cap_bytes:
        print(
            f"warning: the evidence folder stays {_size(plan.over_cap_bytes)} over the disk "
            f"cap of {cap}: the rest belongs to open incidents, incidents on legal hold or "
            f"incidents closed less than {CAP_SETTLE} ago; raise disk_cap_gb, close "
            "incidents or add disk",
            file=sys.stderr,
        )


def print_result(result: RetentionResult) -> None:
    for incident_id, why in result.skipped:
        print(f"kept {incident_id}: {why}")
    for problem in result.errors:
        print(f"error: could not remove {problem}", file=sys.stderr)
    if result.leftovers_removed:
        print(f"removed {len(result.leftovers_removed)} files left by an interrupted run")
    print(
        f"removed {result.files_removed} files, {result.bytes_freed} bytes "
        f"({_size(result.bytes_freed)}) of {len(result.pruned)} incidents"
    )
