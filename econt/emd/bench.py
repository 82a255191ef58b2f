"""EMD benchmark (`make bench`): exact batched EMD vs a plain ``ot.emd2`` loop, same run.

Pairs are realistic: synthetic modules (``econt.data.synthetic``), half paired with another
module (``pair`` mode) and half with a reconstruction-like version of themselves (every cell
non-zero, as a sigmoid decoder produces: the module smeared with multiplicative noise plus a
small dense floor), so both sparse and dense sub-problems are timed. The plain loop is timed
on a subset (it is ~10x slower) and reported per second. Results are merged into
``reports/emd/summary.json``; every figure is the median of :data:`REPEATS` runs.
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

import econt  # noqa: F401
from econt.emd.evaluate import merge_json
from econt.emd.exact import emd_batch, emd_pot_loop
from econt.paths import reports_dir


def realistic_pairs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from econt.data.synthetic import generate

    rng = np.random.default_rng(seed)
    mods = generate(n + n // 10 + 100, seed).charges
    mods = mods[mods.sum(axis=1) > 0]
    a = mods[rng.integers(0, len(mods), n)]
    b = np.empty_like(a)
    half = n // 2
    b[:half] = mods[rng.integers(0, len(mods), half)]
    src = a[half:]
    norm = src / src.sum(axis=1, keepdims=True)
    b[half:] = norm * rng.lognormal(0.0, 0.3, norm.shape) + rng.uniform(1e-4, 5e-3, norm.shape)
    return a, b


#: Timed repeats; every reported rate and the ratio are medians over them.
REPEATS = 3


def _time_once(A: np.ndarray, B: np.ndarray, sub: np.ndarray, workers: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    fast = emd_batch(A, B, workers=workers)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = emd_pot_loop(A[sub], B[sub])
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    emd_batch(A[sub], B[sub], workers=1)
    t_single = time.perf_counter() - t0
    return {
        "fast": len(A) / t_fast,
        "loop": len(sub) / t_loop,
        "single": len(sub) / t_single,
        "diff": float(np.nanmax(np.abs(fast[sub] - ref))),
    }


def run_bench(quick: bool = False) -> dict[str, Any]:
    n = 20_000 if quick else 100_000
    n_loop = 2_000 if quick else 5_000
    workers = min(2, os.cpu_count() or 1)
    A, B = realistic_pairs(n)
    # warm-up: imports, the compiled kernel and the cached ground distance are not part of either rate
    emd_batch(A[:10], B[:10], workers=1)
    emd_pot_loop(A[:10], B[:10])
    # the loop's subset is spread evenly over both halves (sparse pairs, dense pairs)
    sub = np.linspace(0, n - 1, n_loop).astype(np.int64)
    runs = [_time_once(A, B, sub, workers) for _ in range(REPEATS)]
    med = {k: float(np.median([r[k] for r in runs])) for k in ("fast", "loop", "single")}
    result = {
        "exact_pairs_per_s": med["fast"],
        "pot_loop_pairs_per_s": med["loop"],
        "exact_single_process_pairs_per_s": med["single"],
        # each repeat's ratio uses the two rates measured back to back (robust to machine load)
        "exact_speedup_vs_pot_loop": float(np.median([r["fast"] / r["loop"] for r in runs])),
        "exact_single_speedup_vs_pot_loop": float(np.median([r["single"] / r["loop"] for r in runs])),
        "exact_vs_pot_max_abs_diff": max(r["diff"] for r in runs),
        "exact_bench_pairs": n,
        "exact_bench_loop_pairs": n_loop,
        "exact_bench_repeats": REPEATS,
        "exact_bench_workers": workers,
        "exact_bench_loadavg_1min": os.getloadavg()[0],
    }
    merge_json(reports_dir("emd") / "summary.json", result)
    return result


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run_bench(quick="--quick" in sys.argv), indent=1))
