"""``econt bench``: the speed and memory benchmarks of every stage (what `make bench` calls).

Each stage's ``econt/<stage>/bench.py`` exposes ``run_bench(quick=False) -> dict`` and merges its
figures into ``reports/<stage>/summary.json``; this command runs them in turn and collects the
results in ``reports/bench.json``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import time

BENCH_STAGES = ["data", "emd", "export", "train", "verify", "asic"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmarks (results in reports/*/summary.json and reports/bench.json)")
    p.add_argument("stages", nargs="*", default=BENCH_STAGES, help=f"subset of {' '.join(BENCH_STAGES)}")
    p.add_argument("--quick", action="store_true", help="smaller problem sizes (smoke test of the benchmarks)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from econt.paths import reports_dir

    results = {}
    for stage in args.stages:
        try:
            module = importlib.import_module(f"econt.{stage}.bench")
        except ModuleNotFoundError as exc:
            if exc.name == f"econt.{stage}.bench":
                print(f"[bench] {stage}: no benchmark in this build")
                continue
            raise
        print(f"[bench] {stage}: running", flush=True)
        t0 = time.perf_counter()
        results[stage] = module.run_bench(quick=args.quick)
        print(f"[bench] {stage}: {json.dumps(results[stage], default=str)[:500]} ({time.perf_counter() - t0:.0f} s)", flush=True)
    (reports_dir() / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    return 0
