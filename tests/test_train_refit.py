"""Active refit of the EMD-CNN surrogate on an encoder's own reconstructions, and checkpoint
selection by the exact EMD (econt.train.refit). Real POT labels, real (small) networks."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import econt  # noqa: F401

from econt.config import build_dataclass
from econt.train.config import TrainConfig


@pytest.fixture(scope="module")
def small_emd_cnn(tmp_path_factory) -> Path:
    """A small EMD-CNN fitted on module-vs-module pairs only (never on reconstructions)."""
    from econt.data.synthetic import generate
    from econt.emd.cnn import EmdCnnConfig, train_emd_cnn
    from econt.emd.exact import emd_batch

    a = generate(1500, seed=3).charges
    a = a[a.sum(axis=1) > 0]
    b = a[np.random.default_rng(0).permutation(len(a))]
    y = emd_batch(a, b, workers=1)
    cfg = build_dataclass(EmdCnnConfig, {"arch": {"filters": 8, "kernel_size": 3, "conv_layers": 2,
                                                  "dense_units": 32}, "fit": {"epochs": 4, "batch_size": 64}})
    out = tmp_path_factory.mktemp("emd_cnn_pairs")
    train_emd_cnn(cfg, (a, b, y), out_dir=out, verbose=0)
    return out


def _reconstructions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, reconstructions) of a briefly MSE-trained kit autoencoder."""
    from econt.data.normalise import normalise_float
    from econt.data.synthetic import generate
    from econt.model.config import load_encoder_config
    from econt.model.qkeras_model import build_autoencoder
    from econt.train.fit import cells_model
    from econt.train.losses import weighted_mse

    import tf_keras as keras

    charges = generate(n, seed=seed).charges
    charges = charges[charges.sum(axis=1) > 0]
    enc_cfg = load_encoder_config("econt_default",
                                  {"decoder_output_activation": "relu"})
    x, _ = normalise_float(charges, enc_cfg.input_frac + 1)
    x = x.astype(np.float32)
    keras.utils.set_random_seed(seed)
    model = cells_model(build_autoencoder(enc_cfg))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=weighted_mse)
    model.fit(x, x, epochs=2, batch_size=64, verbose=0)
    rec = np.clip(model.predict(x, verbose=0).astype(np.float64), 0.0, None)
    return x.astype(np.float64), rec


def test_refit_lowers_surrogate_error_on_reconstruction_pairs(small_emd_cnn: Path) -> None:
    from econt.emd.cnn import load_emd_cnn
    from econt.emd.exact import emd_batch
    from econt.train.refit import refit_surrogate, surrogate_relative_error, trainable_copy

    x, rec = _reconstructions(1600, seed=11)
    y = emd_batch(x, rec, workers=1)
    n = len(x) // 2   # refit on the first half, judge on the held-out second half
    surrogate = load_emd_cnn(small_emd_cnn)
    frozen_before = [w.copy() for w in surrogate.get_weights()]
    before = surrogate_relative_error(surrogate, x[n:], rec[n:], y[n:])
    refit_surrogate(surrogate, trainable_copy(small_emd_cnn), x[:n], rec[:n], y[:n], epochs=8,
                    learning_rate=2e-3, batch_size=64, seed=0)
    after = surrogate_relative_error(surrogate, x[n:], rec[n:], y[n:])
    assert any(not np.array_equal(a, b) for a, b in zip(frozen_before, surrogate.get_weights()))
    assert after["abs_log_mean"] < 0.9 * before["abs_log_mean"], (before, after)
    assert after["rel_rms"] < before["rel_rms"], (before, after)


def test_tiny_run_with_surrogate_refit_and_exact_emd_selection(tmp_path: Path, small_emd_cnn: Path) -> None:
    from econt.train.stage import run_training

    cfg = build_dataclass(TrainConfig, {
        "seed": 5, "losses": ["mse", "emd_cnn"],
        "out_dir": str(tmp_path / "build" / "train"), "reports_dir": str(tmp_path / "reports"),
        "data": {"source": "synthetic", "n_samples": 600},
        "model_overrides": {"decoder_output_activation": "relu"},
        "fit": {"epochs": 3, "batch_size": 64, "learning_rate": 0.003, "patience": 3, "monitor": "exact_emd"},
        "emd_cnn": {"model_path": str(small_emd_cnn), "mse_weight_start": 1.0, "mse_decay_epochs": 1,
                    "refit_every": 1, "refit_start": 1, "refit_pairs": 300, "refit_anchor_pairs": 200,
                    "refit_epochs": 1},
        "regions": {"enabled": False},
        "evaluation": {"n_displays": 0, "bit_exact_samples": 200, "use_real_vectors": False},
        "progress": False,
    }, source="test")
    summary = run_training(cfg)
    build = tmp_path / "build" / "train"
    for loss in ("mse", "emd_cnn"):
        hist = json.loads((build / loss / "history.json").read_text())
        assert hist["monitor"] == "val_exact_emd"
        vals = hist["history"]["val_exact_emd"]
        assert len(vals) == summary["losses"][loss]["epochs_run"] and all(np.isfinite(vals))
        # the restored (best) epoch is the one with the lowest validation exact EMD (for
        # emd_cnn, from the end of the MSE-mix phase on)
        first = 1 if loss == "emd_cnn" else 0
        assert hist["best_epoch"] == first + int(np.argmin(vals[first:]))
        assert summary["losses"][loss]["final_val"] == pytest.approx(vals[hist["best_epoch"]])
    refits = summary["losses"]["emd_cnn"]["surrogate_refits"]
    assert [r["epoch"] for r in refits] == [2, 3]          # after epochs 2 and 3 (refit_start 1, every 1)
    assert refits[-1]["n_pairs"] > refits[0]["n_pairs"]    # earlier pairs are kept
    assert (build / "emd_cnn" / "surrogate" / "model.h5").is_file()
    assert "surrogate_refits" not in summary["losses"]["mse"]
    assert summary["bit_exact_mismatches"] == 0
