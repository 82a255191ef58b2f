"""Benchmark: simulated samples per second of the full default encoder in Icarus (cocotb bench).

``run_bench(quick=False)`` streams 10,000 synthetic samples (quick: 1,000) through
``econt_default`` after loading one weight set through the register port, checks 0
mismatches against the golden model, and merges ``sim_samples_per_second`` (simulation
only, excluding compilation) and ``sim_10k_wall_seconds`` into reports/rtl/summary.json.
"""
from __future__ import annotations

import json
import time

from econt.paths import reports_dir, work_dir


def run_bench(quick: bool = False) -> dict:
    from econt.model.config import load_encoder_config
    from econt.rtl.config import load_rtl_config
    from econt.rtl.generator import generate_design
    from econt.verify.sim import StreamChunk, simulate
    from econt.verify.stimulus import synthetic_calq
    from econt.verify.weights import trained_like_weights

    n = 1_000 if quick else 10_000
    cfg = load_rtl_config("econt_default")
    design = generate_design(cfg, work_dir("bench", "rtl", cfg.name))
    ecfg = load_encoder_config(cfg.model_config)
    calq = synthetic_calq(n, seed=123)
    t0 = time.perf_counter()
    res = simulate(design, [trained_like_weights(ecfg, 1)], [StreamChunk(0, calq, "bench")],
                   work_dir("bench", "rtl", "sim"))
    wall = time.perf_counter() - t0
    out = {"sim_bench_samples": res.samples, "sim_bench_mismatches": res.mismatches,
           "sim_samples_per_second": round(res.samples_per_second, 1),
           "sim_bench_wall_seconds": round(wall, 1), "sim_bench_design": cfg.name,
           "sim_bench_simulator": "Icarus Verilog 11 + cocotb 2.1 (stream preloaded with $readmemh)"}
    path = reports_dir("rtl") / "summary.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update(out)
    path.write_text(json.dumps(old, indent=2, default=str))
    return out
