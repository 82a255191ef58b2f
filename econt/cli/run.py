"""``econt run``: the main job (what `make all`, `make train`, `make asic` call)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run pipeline stages (skips stages whose inputs are unchanged)",
                       description="Run the pipeline: targets all, train, asic, or stage names "
                                   "(data emd train rtl asic conformance report).")
    p.add_argument("targets", nargs="*", default=["all"], help="targets or stages (default: all)")
    p.add_argument("--force", action="store_true", help="rerun even when inputs are unchanged")
    p.add_argument("--quick", action="store_true", help="reduced sizes (for smoke runs)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from econt.pipeline import run_pipeline

    doc = run_pipeline(args.targets, force=args.force, quick=args.quick)
    ran = [k for k, v in doc["stages"].items() if not v.get("skipped")]
    from econt.paths import build_root, reports_root

    print(f"[econt] done in {doc['total_seconds']:.0f} s; stages run: {', '.join(ran) or 'none'}; "
          f"reports in {reports_root()} (timings.json), artifacts in {build_root()}")
    return 0
