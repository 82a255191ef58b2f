"""Training benchmark: wall time of the training job against the issue's budget.

``run_bench(quick=False)`` runs the default job (three losses + per-region sets,
evaluation, export: what ``make train`` runs after data and EMD) and records its wall
time against the 40-minute target of ``make train``; ``quick=True`` runs the quick
config (no target applies). Results are merged into ``reports/train/summary.json``
under ``bench_*`` keys, beside the quality figures of that same run.
"""
from __future__ import annotations

import json
import os
import time

from econt.paths import reports_dir

#: `make train` budget from the issue (seconds).
TARGET_SECONDS = 40 * 60


def run_bench(quick: bool = False) -> dict:
    from econt.train.stage import run_stage

    t0 = time.perf_counter()
    summary = run_stage(quick=quick)
    wall = time.perf_counter() - t0
    out = {
        "bench_config": "quick" if quick else "default",
        "bench_train_wall_seconds": round(wall, 1),
        "bench_cpu_count": os.cpu_count(),
        "bench_load_average_1min": round(os.getloadavg()[0], 2),
        "bench_mean_emd_test": {k: v["mean_emd_test"] for k, v in summary.get("losses", {}).items()},
    }
    if not quick:
        out["bench_train_target_seconds"] = TARGET_SECONDS
        out["bench_train_within_target"] = bool(wall <= TARGET_SECONDS)
    path = reports_dir("train") / "summary.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc.update(out)
    path.write_text(json.dumps(doc, indent=1))
    return out
