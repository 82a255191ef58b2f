"""``econt`` — one command with a subcommand per pipeline stage.

Each stage's CLI lives in ``econt/cli/<stage>.py`` and exposes
``register(subparsers)``; it adds its parser and sets ``func`` (taking the parsed
``argparse.Namespace`` and returning an exit code). User errors
(:class:`econt.errors.EcontError`) are printed as one clear message, not a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

import econt  # noqa: F401  (sets the TF/POT environment before anything imports them)
from econt.errors import EcontError

STAGES = ["data", "emd", "train", "export", "rtl", "verify", "asic", "conformance", "report", "run", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="econt",
        description="Open ASIC autoencoder design kit for the CMS HGCAL ECON-T.",
    )
    parser.add_argument("--version", action="version", version=f"econt {econt.__version__}")
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
