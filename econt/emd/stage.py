"""The EMD stage end to end: pairs → EMD-CNN (trained, or reused when its inputs are unchanged)
→ evaluation, peers, plots → ``reports/emd/summary.json``.

Reuse rule: the model folder's ``emd_cnn.json`` records the config hash and the hash of the
training pairs; if both match the current config and (cached) pairs, the model is reused.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import econt  # noqa: F401
from econt.config import write_resolved_config
from econt.emd.cnn import (
    EmdCnnConfig,
    load_emd_cnn,
    load_emd_config,
    pairs_data_hash,
    predict_emd,
    read_model_meta,
    train_emd_cnn,
)
from econt.emd.evaluate import full_report, inference_pairs_per_s, merge_json, peers_block, save_plots
from econt.emd.pairs import KIND_AE, build_pairs
from econt.paths import reports_dir

#: Reduced run for CI / `--quick`: same pipeline, small pair counts and epochs.
QUICK_OVERRIDES: dict[str, Any] = {
    "pairs.n_events": 6000,
    "pairs.train_pairs": 20000,
    "pairs.val_pairs": 2000,
    "pairs.test_pairs": 3000,
    "pairs.ae.snapshot_steps": [0, 30, 100, 400],
    "fit.epochs": 4,
}


def _usable(y: np.ndarray, min_emd: float) -> np.ndarray:
    return np.isfinite(y) & (y >= min_emd)


def train_or_reuse(cfg: EmdCnnConfig, force: bool = False, verbose: int = 1, log=print):
    """Build/load the pairs, then train the model unless an identical one is saved."""
    t0 = time.perf_counter()
    sets = build_pairs(cfg.pairs, cfg.seed, verbose=bool(verbose))
    pairs_s = time.perf_counter() - t0
    out = cfg.resolved_out_dir()
    tr = sets["train"]
    keep = _usable(tr.emd, cfg.fit.min_emd)
    want_hash = pairs_data_hash(tr.a[keep], tr.b[keep], tr.emd[keep])
    meta = read_model_meta(out) if (out / "model.h5").is_file() else None
    if not force and meta and meta.get("config_hash") == cfg.model_hash() and meta.get("data_hash") == want_hash:
        log(f"EMD-CNN: reusing {out} (config and training pairs unchanged)")
        return load_emd_cnn(out), meta, sets, {"pairs_seconds": pairs_s, "fit_seconds": 0.0, "reused": True}
    va = sets["val"]
    t1 = time.perf_counter()
    model, meta = train_emd_cnn(cfg, (tr.a, tr.b, tr.emd), (va.a, va.b, va.emd), out_dir=out, verbose=2 if verbose else 0)
    return model, meta, sets, {"pairs_seconds": pairs_s, "fit_seconds": time.perf_counter() - t1, "reused": False}


def evaluate_stage(cfg: EmdCnnConfig, model, sets, outdir: Path, log=print) -> dict[str, Any]:
    """Held-out evaluation, peers and plots; returns the summary keys of the EMD-CNN."""
    test = sets["test"]
    min_emd = cfg.fit.min_emd
    pred = predict_emd(model, test.a, test.b)
    ae = test.kind == KIND_AE
    detail = {
        "synthetic_ae": full_report(test.emd[ae], pred[ae], test.occupancy()[ae], min_emd),
        "synthetic_pair": full_report(test.emd[~ae], pred[~ae], test.occupancy()[~ae], min_emd),
    }
    peers, curves = peers_block(model, test, min_emd, workers=cfg.pairs.workers, log=log)
    captions = save_plots(outdir, test, pred, curves, min_emd)
    merge_json(outdir / "captions.json", captions)
    (outdir / "cnn_eval.json").write_text(json.dumps({"detail": detail, "peers": peers}, indent=1))
    ae_overall = detail["synthetic_ae"]["overall"]
    return {
        "cnn_rel_err_mean": ae_overall["mean"],
        "cnn_rel_err_std": ae_overall["std"],
        "cnn_rel_err_pair_mean": detail["synthetic_pair"]["overall"]["mean"],
        "cnn_rel_err_pair_std": detail["synthetic_pair"]["overall"]["std"],
        "cnn_eval_pairs_ae": ae_overall["n"],
        "cnn_pairs_per_s": inference_pairs_per_s(model, test),
        "peers": peers,
    }


def run_stage(quick: bool = False, config: str | Path | None = None, force: bool = False, verbose: int = 1) -> dict[str, Any]:
    """`make all` entry: train (or reuse) the EMD-CNN, evaluate, compare with peers, write
    ``reports/emd/summary.json`` (merged) and return the keys written."""
    cfg = load_emd_config(config, QUICK_OVERRIDES if quick else None)
    outdir = reports_dir("emd")
    write_resolved_config(outdir, cfg, seed=cfg.seed, name="cnn_resolved_config.yaml")
    model, meta, sets, timing = train_or_reuse(cfg, force=force, verbose=verbose)
    summary = evaluate_stage(cfg, model, sets, outdir)
    summary.update(
        {
            "cnn_model_dir": str(cfg.resolved_out_dir()),
            "cnn_data_hash": meta["data_hash"],
            "cnn_config_hash": meta["config_hash"],
            "cnn_train_pairs": meta.get("n_train_pairs"),
            "cnn_pairs_seconds": timing["pairs_seconds"],
            "cnn_fit_seconds": meta.get("train_seconds") if timing["reused"] else timing["fit_seconds"],
            "cnn_reused": timing["reused"],
            "cnn_quick": quick,
        }
    )
    merge_json(outdir / "summary.json", summary)
    return summary
