"""Benchmark of the model/export stage → ``reports/export/summary.json`` (merged).

Figures: bit-exactness of the integer model vs QKeras on ≥100,000 stress samples
(random stress-weights model and both deployed encoders), integer-model throughput, and the
I2C byte comparison of the deployed ``encoder.hdf5`` exports with their ``init.yaml``.
"""
from __future__ import annotations

import json
import time

import numpy as np

import econt  # noqa: F401
from econt.paths import reports_dir, shared_path


def run_bench(quick: bool = False) -> dict:
    from econt.export.stage import DEPLOYED_CONFIGS, deployed_i2c_check
    from econt.model.config import load_encoder_config
    from econt.model.integer import IntegerEncoder, check_bit_exact, random_integer_weights, stress_codes
    from econt.model.qkeras_model import build_encoder, load_deployed_encoder, randomise_encoder_weights

    n = 10_000 if quick else 100_000
    cfg = load_encoder_config()
    out: dict = {}
    model = build_encoder(cfg)
    randomise_encoder_weights(model, cfg, seed=2024)
    t0 = time.perf_counter()
    res = check_bit_exact(model, cfg, n=n, seed=1)
    out["bit_exact_check_seconds"] = round(time.perf_counter() - t0, 2)
    out["bit_exact_mismatches"] = res["bit_exact_mismatches"]
    out["bit_exact_samples"] = res["bit_exact_samples"]
    for k, v in res.items():
        if k.startswith("exercised_"):
            out[f"bit_exact_{k}"] = v
    for name in DEPLOYED_CONFIGS:
        if shared_path("econt-vectors", name) is None:
            continue
        dmodel, dcfg = load_deployed_encoder(shared_path("econt-vectors", name), weights="chip")
        r = check_bit_exact(dmodel, dcfg, n=n, seed=2)
        out[f"bit_exact_mismatches_{name}"] = r["bit_exact_mismatches"]
        out[f"bit_exact_samples_{name}"] = r["bit_exact_samples"]
        c = deployed_i2c_check(name, "floor")
        out[f"i2c_{name}_fields_matching"] = c["i2c_fields_matching"]
        out[f"i2c_{name}_fields"] = c["i2c_fields"]
    enc = IntegerEncoder(random_integer_weights(cfg, 3))
    codes = stress_codes(n, cfg, seed=4)
    t0 = time.perf_counter()
    enc.encode_codes(codes)
    dt = time.perf_counter() - t0
    out["integer_model_samples_per_s"] = round(n / dt, 1)
    chip = IntegerEncoder(enc.w, arithmetic="chip")
    t0 = time.perf_counter()
    chip.encode_codes(codes)
    out["integer_model_chip_samples_per_s"] = round(n / (time.perf_counter() - t0), 1)
    out["bench_quick"] = quick
    path = reports_dir("export") / "summary.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc.update(out)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    return out


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_bench(), indent=1))
