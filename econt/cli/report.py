"""``econt report``: build the static dashboard reports/index.html."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="build reports/index.html from the stages' summaries and plots")
    p.add_argument("--out", default=None, help="reports folder (default: reports/)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from econt.report.dashboard import build_dashboard

    path = build_dashboard(args.out)
    print(f"wrote {path}")
    return 0
