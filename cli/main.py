"""`streetwatch` entry point: one sub-command per job, errors for people, exit code 2 on bad
input."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from detector.base import DetectorError
from pipeline.errors import ConfigError, InputError

log = logging.getLogger("streetwatch")

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    from cli import (
        bench_cmd,
        check_config_cmd,
        config_cmd,
        demo_cmd,
        eval_cmd,
        loadtest_cmd,
        model_cmd,
        process_cmd,
        report_cmd,
        retention_cmd,
        run_cmd,
        sample_cmd,
        serve_cmd,
        user_cmd,
        verify_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="streetwatch",
        description="Street-camera violations (parking, vending, obstruction) "
        "as evidence-backed incidents.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        demo_cmd,
        check_config_cmd,
        bench_cmd,
        loadtest_cmd,
        process_cmd,
        run_cmd,
        eval_cmd,
        sample_cmd,
        config_cmd,
        user_cmd,
        serve_cmd,
        verify_cmd,
        model_cmd,
        report_cmd,
        retention_cmd,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    command: Command = args.func
    try:
        return command(args)
    except ConfigError as exc:
        print(f"error: {exc.path}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (InputError, DetectorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
