"""The surrogate's bound as a benchmark (``econt bench train-bound``, part of ``make bench``).

The EMD-CNN loss is a learned approximation of the exact EMD. How much does its imperfection
cost? This benchmark trains the same encoder twice on the same split with the same schedule
(the default training job's: learning rate, epochs, patience, LR plateau, the decaying
weighted-MSE warm-up, checkpoint chosen on validation exact EMD):

* ``emd_cnn``: the EMD-CNN surrogate loss (the EMD stage's model, or ``model_path``);
* ``exact_emd``: the exact EMD itself with its exact gradient (the optimal dual potential of
  the output distribution, :func:`econt.train.losses.exact_emd`) — what a perfect surrogate
  would give;

and reports ``emd_cnn_over_exact_gradient`` = mean test EMD of the EMD-CNN-trained encoder /
that of the exact-gradient-trained one (target ≤ :data:`TARGET_RATIO`: the surrogate loses at
most 2 %). The size is a parameter: the full benchmark uses the default job's data (100k
samples, 70k train, ≤ 80 epochs); ``n_samples`` / ``epochs`` shrink it (both are recorded),
``quick`` is a smoke-test size. Results: ``reports/train_bound/summary.json`` and the
``train_bound_*`` keys of ``reports/train/summary.json``; models in ``build/train_bound/``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from econt.paths import reports_dir
from econt.summary import merge_json

#: Target of the EMD-CNN / exact-gradient mean test EMD ratio (issue 18).
TARGET_RATIO = 1.02
LOSSES = ("emd_cnn", "exact_emd")
#: Smoke-test size (``quick``): synthetic modules and epochs.
QUICK_SAMPLES, QUICK_EPOCHS = 600, 2


def bound_config(n_samples: int | None = None, epochs: int | None = None, quick: bool = False,
                 emd_cnn_model: str | None = None, config: str | Path | None = None, data_source: str | None = None):
    """The default training job's config restricted to the two losses (no per-region fine-tunes).

    ``n_samples`` caps the samples (with ``data.source: stage`` the data stage's splits are cut,
    otherwise that many synthetic modules are generated); ``epochs`` caps the epochs.
    """
    from econt.train.config import load_train_config

    overrides: dict[str, Any] = {"losses": list(LOSSES), "regions.enabled": False, "output_name": "train_bound",
                                 "emd_cnn.refit_every": 0}
    if quick:
        overrides.update({"data.source": "synthetic", "data.n_samples": QUICK_SAMPLES, "fit.epochs": QUICK_EPOCHS,
                          "progress": False})
    if n_samples is not None:
        overrides["data.n_samples"] = int(n_samples)
    if epochs is not None:
        overrides["fit.epochs"] = int(epochs)
    if data_source is not None:
        overrides["data.source"] = data_source
    if emd_cnn_model is not None:
        overrides["emd_cnn.model_path"] = str(emd_cnn_model)
    return load_train_config(config, overrides)


def run_bound(cfg) -> dict[str, Any]:
    """Train both losses under ``cfg`` and compare their mean exact test EMD."""
    from econt.model.config import load_encoder_config
    from econt.train import evaluate as ev
    from econt.train.fit import predict_cells
    from econt.train.config import resolve
    from econt.train.stage import _emd_cnn_fn, load_data, output_dirs, train_loss

    out_root, rep = output_dirs(cfg)
    enc_cfg = load_encoder_config(resolve(cfg.model_config), dict(cfg.model_overrides))
    train, val, test, data_info = load_data(cfg, enc_cfg)
    emd_fn, emd_path = _emd_cnn_fn(cfg)
    rows: dict[str, dict[str, Any]] = {}
    for name in LOSSES:
        t0 = time.perf_counter()
        ae, fit = train_loss(name, cfg, enc_cfg, train, val, Path(out_root) / name, emd_fn)
        emd = ev.emd_per_sample(test.charges, predict_cells(ae, test.x), workers=cfg.evaluation.workers)
        stats = ev.emd_stats(emd)
        rows[name] = {"mean_emd_test": stats["mean"], "median_emd_test": stats["median"], "n_test": stats["n"],
                      "epochs_run": fit.epochs_run, "best_epoch": fit.best_epoch + 1,
                      "seconds": round(time.perf_counter() - t0, 1)}
    ratio = rows["emd_cnn"]["mean_emd_test"] / rows["exact_emd"]["mean_emd_test"]
    result = {
        "emd_cnn_over_exact_gradient": ratio,
        "target": TARGET_RATIO,
        "within_target": bool(ratio <= TARGET_RATIO),
        "mean_emd_test_emd_cnn": rows["emd_cnn"]["mean_emd_test"],
        "mean_emd_test_exact_gradient": rows["exact_emd"]["mean_emd_test"],
        "losses": rows,
        "data": data_info,
        "epochs_max": cfg.fit.epochs,
        "learning_rate": cfg.fit.learning_rate,
        "batch_size": cfg.fit.batch_size,
        "seed": cfg.seed,
        "emd_cnn_model": str(emd_path),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    Path(rep).mkdir(parents=True, exist_ok=True)
    (Path(rep) / "summary.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def run_bench(quick: bool = False, n_samples: int | None = None, epochs: int | None = None,
              emd_cnn_model: str | None = None, data_source: str | None = None) -> dict[str, Any]:
    result = run_bound(bound_config(n_samples, epochs, quick=quick, emd_cnn_model=emd_cnn_model,
                                    data_source=data_source))
    figures = {f"train_bound_{k}": v for k, v in result.items() if k not in ("losses", "data")}
    figures["emd_cnn_over_exact_gradient"] = result["emd_cnn_over_exact_gradient"]
    merge_json(reports_dir("train") / "summary.json", figures)
    return result
