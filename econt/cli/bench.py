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

BENCH_STAGES = ["data", "emd", "export", "train", "train-bound", "verify", "asic"]
#: benchmarks whose module is not ``econt.<stage>.bench``
BENCH_MODULES = {"train-bound": "econt.train.bench_bound"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmarks (results in reports/*/summary.json and reports/bench.json)")
    p.add_argument("stages", nargs="*", default=BENCH_STAGES, help=f"subset of {' '.join(BENCH_STAGES)}")
    p.add_argument("--quick", action="store_true", help="smaller problem sizes (smoke test of the benchmarks)")
    p.add_argument("--bound-samples", type=int, default=None,
                   help="train-bound: samples (default: the training job's 100k, 70%% train)")
    p.add_argument("--bound-epochs", type=int, default=None, help="train-bound: max epochs (default: the job's 80)")
    p.add_argument("--bound-data", choices=["stage", "synthetic"], default=None,
                   help="train-bound: data source (default: the training job's, the data stage's splits)")
    p.add_argument("--bound-emd-cnn", default=None, help="train-bound: EMD-CNN model folder (default: build/emd/cnn)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from econt.paths import reports_dir

    results = {}
    for stage in args.stages:
        name = BENCH_MODULES.get(stage, f"econt.{stage}.bench")
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                print(f"[bench] {stage}: no benchmark in this build")
                continue
            raise
        print(f"[bench] {stage}: running", flush=True)
        t0 = time.perf_counter()
        if stage == "train-bound":
            results[stage] = module.run_bench(quick=args.quick, n_samples=args.bound_samples,
                                              epochs=args.bound_epochs, data_source=args.bound_data,
                                              emd_cnn_model=args.bound_emd_cnn)
        else:
            results[stage] = module.run_bench(quick=args.quick)
        print(f"[bench] {stage}: {json.dumps(results[stage], default=str)[:500]} ({time.perf_counter() - t0:.0f} s)", flush=True)
    path = reports_dir() / "bench.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"[bench] results in {path} and {reports_dir()}/<stage>/summary.json")
    return 0
