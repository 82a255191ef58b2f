"""``econt`` — one command with a subcommand per pipeline stage.

Each stage's CLI lives in ``econt/cli/<stage>.py`` and exposes
``register(subparsers)``; it adds its parser and sets ``func`` (taking the parsed
``argparse.Namespace`` and returning an exit code). User errors
(:class:`econt.errors.EcontError`) are printed as one clear message, not a traceback.

Global options: ``--workdir DIR`` (where build/ and reports/ go; default the current directory)
and ``--verbose`` (show TensorFlow's start-up logs and warnings, hidden by default).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import econt  # noqa: F401  (sets the TF/POT environment before anything imports them)
from econt.errors import EcontError

STAGES = ["data", "emd", "train", "export", "rtl", "verify", "asic", "conformance", "report", "run", "bench", "sweep", "faults"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="econt",
        description="Open ASIC autoencoder design kit for the CMS HGCAL ECON-T.",
    )
    parser.add_argument("--version", action="version", version=f"econt {econt.__version__}",
                        help="print the kit's version and exit")
    parser.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                        help="working folder for build/ and reports/ (default: the current directory; "
                             "ECONT_BUILD / ECONT_REPORTS override each folder)")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up logs and warnings (hidden by default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in STAGES:
        try:
            module = importlib.import_module(f"econt.cli.{stage}")
        except ModuleNotFoundError as exc:
            if exc.name == f"econt.cli.{stage}":
                continue  # stage not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from econt.cli.console import quiet_ml_noise

    quiet_ml_noise(args.verbose or None)
    if args.workdir is not None:
        if args.workdir.exists() and not args.workdir.is_dir():
            print(f"econt: error: --workdir {args.workdir} is an existing file; give a folder.", file=sys.stderr)
            return 2
        os.environ["ECONT_WORKDIR"] = str(args.workdir.resolve())  # inherited by pipeline stage processes
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EcontError as exc:
        print(f"econt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
