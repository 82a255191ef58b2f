"""Tiny end-to-end training runs: one per loss, a few hundred samples, 1-2 epochs.

Each run goes through the whole job (data → fit → evaluation with exact EMD → per-region
fine-tunes → bit-exactness of the integer model → export → summary). The EMD-CNN loss
uses a small EMD-CNN trained here on exact-EMD pairs (seconds), so the test does not
depend on the EMD stage's build output.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import econt  # noqa: F401

from econt.config import build_dataclass, load_config
from econt.errors import ConfigError
from econt.train.config import TrainConfig
from econt.train.stage import run_training


@pytest.fixture(scope="module")
def tiny_emd_cnn(tmp_path_factory) -> Path:
    """A small EMD-CNN fitted to exact EMDs of synthetic pairs."""
    from econt.data.synthetic import generate
    from econt.emd.cnn import ArchConfig, EmdCnnConfig, FitConfig, train_emd_cnn
    from econt.emd.exact import emd_batch

    a = generate(600, seed=3).charges
    rng = np.random.default_rng(0)
    # partners: the same module with charge moved around (small EMDs) and other modules (large)
    b = np.where(rng.random(a.shape) < 0.3, np.roll(a, 1, axis=1), a)
    b[::2] = a[rng.permutation(len(a))][::2]
    y = emd_batch(a, b, workers=1)
    cfg = build_dataclass(EmdCnnConfig, {"arch": {"filters": 8, "kernel_size": 3, "conv_layers": 1,
                                                  "dense_units": 32}, "fit": {"epochs": 3, "batch_size": 64}})
    out = tmp_path_factory.mktemp("emd_cnn")
    train_emd_cnn(cfg, (a, b, y), out_dir=out, verbose=0)
    return out


def _cfg(tmp: Path, loss: str, emd_path: Path | None, real: bool, regions: bool = False) -> TrainConfig:
    return build_dataclass(TrainConfig, {
        "seed": 5,
        "losses": [loss],
        "out_dir": str(tmp / "build" / "train"),
        "reports_dir": str(tmp / "reports"),
        "data": {"source": "synthetic", "n_samples": 600},
        "model_overrides": {"decoder_output_activation": "relu"},
        "fit": {"epochs": 2, "batch_size": 64, "learning_rate": 0.003, "patience": 2},
        "emd_cnn": {"model_path": str(emd_path) if emd_path else None, "mse_weight_start": 1.0,
                    "mse_decay_epochs": 1},
        "regions": {"enabled": regions, "epochs": 1, "patience": 1},
        "evaluation": {"n_displays": 1, "bit_exact_samples": 300, "bit_exact_samples_region": 300, "use_real_vectors": real},
        "progress": False,
    }, source="test")


def _check_outputs(tmp: Path, loss: str, summary: dict, regions: bool) -> None:
    entry = summary["losses"][loss]
    assert np.isfinite(entry["mean_emd_test"]) and entry["mean_emd_test"] > 0
    assert entry["emd_test_q16"] <= entry["median_emd_test"] <= entry["emd_test_q84"]
    assert summary["bit_exact_mismatches"] == 0
    n_models = 4 if regions else 1   # global + one per region
    assert summary["bit_exact_models"] == n_models
    assert summary["bit_exact_samples"] >= n_models * 300 + summary["data"]["n_test"]
    build = tmp / "build"
    folders = [build / "train" / loss]
    exports = ["global"]
    if regions:
        assert len(summary["regions"]) >= 3
        for region in summary["regions"]:
            row = summary["per_region"][loss][region]
            assert np.isfinite(row["mean_emd_own"]) and np.isfinite(row["mean_emd_global"])
            # a region's weights are never worse than the global ones on its validation samples
            assert row["kept_global_weights"] == (not row["val_mean_emd_finetuned"] < row["val_mean_emd_global"])
            if row["kept_global_weights"]:
                assert row["mean_emd_own"] == pytest.approx(row["mean_emd_global"])
            folders.append(build / "train" / loss / "regions" / region)
            exports.append(region)
    for folder in folders:
        assert (folder / "encoder.weights.h5").is_file() and (folder / "model_config.yaml").is_file()
    assert (build / "train" / loss / "training_curve.png").stat().st_size > 1000
    assert (build / "train" / "resolved_config.yaml").is_file()
    # the next stage exports every saved encoder
    from econt.export.stage import export_all

    results = export_all(build / "train", build / "export")
    assert all(r["round_trip_ok"] for r in results)
    for region in exports:
        exp = build / "export" / loss / region
        assert (exp / "weights.json").is_file() and (exp / "init.yaml").is_file()
        assert json.loads((exp / "weights.json").read_text())["region"] == region
    rep = tmp / "reports"
    on_disk = json.loads((rep / "summary.json").read_text())
    assert on_disk["losses"][loss]["mean_emd_test"] == pytest.approx(entry["mean_emd_test"])
    captions = json.loads((rep / "captions.json").read_text())
    for png in captions:
        assert (rep / png).is_file(), png


def test_tiny_training_run_mse_with_regions(tmp_path: Path) -> None:
    summary = run_training(_cfg(tmp_path, "mse", None, real=False, regions=True))
    _check_outputs(tmp_path, "mse", summary, regions=True)
    assert summary["real_vectors"].startswith("disabled")
    assert (tmp_path / "reports" / "per_region_emd.png").is_file()


def test_tiny_training_run_telescope(tmp_path: Path) -> None:
    summary = run_training(_cfg(tmp_path, "telescope", None, real=False))
    _check_outputs(tmp_path, "telescope", summary, regions=False)


def test_tiny_training_run_emd_cnn(tmp_path: Path, tiny_emd_cnn: Path) -> None:
    summary = run_training(_cfg(tmp_path, "emd_cnn", tiny_emd_cnn, real=False))
    _check_outputs(tmp_path, "emd_cnn", summary, regions=False)
    hist = json.loads((tmp_path / "build" / "train" / "emd_cnn" / "history.json").read_text())
    # early stopping watches the pure EMD-CNN term, not the MSE-mixed loss
    assert hist["monitor"] == "val_emd_cnn" and "emd_cnn" in hist["history"]


def test_tiny_run_with_real_vectors_and_deployed_baseline(tmp_path: Path, shared: Path) -> None:
    summary = run_training(_cfg(tmp_path, "telescope", None, real=True))
    entry = summary["losses"]["telescope"]
    assert entry["n_real"] == 3564 and np.isfinite(entry["mean_emd_real"])
    assert np.isfinite(summary["deployed_mean_emd_real"]) and summary["deployed_mean_emd_real"] > 0
    assert "ratio_emd_cnn_over_mse_real" not in summary  # one loss only: no ratios invented
    # bit-exactness also ran on every real crossing
    assert summary["bit_exact_samples"] >= 300 + summary["data"]["n_test"] + 3564
    assert (tmp_path / "reports" / "emd_vs_occupancy_real.png").is_file()


def test_missing_emd_cnn_model_is_a_clear_error(tmp_path: Path) -> None:
    from econt.errors import StageError

    cfg = _cfg(tmp_path, "emd_cnn", tmp_path / "nope", real=False)
    with pytest.raises(StageError, match="EMD-CNN model not found"):
        run_training(cfg)


def test_explicit_missing_real_vectors_is_a_config_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "mse", None, real=True)
    cfg = build_dataclass(TrainConfig, {**_plain(cfg), "evaluation": {**_plain(cfg)["evaluation"],
                                                                        "real_vectors": str(tmp_path / "x.csv")}})
    with pytest.raises(ConfigError, match="real_vectors"):
        run_training(cfg)


def _plain(cfg: TrainConfig) -> dict:
    from econt.config import to_plain

    return to_plain(cfg)


def test_cli_rejects_bad_override(tmp_path: Path) -> None:
    from econt.cli.main import main

    assert main(["train", "--set", "fit.epochs=0"]) == 2
    assert main(["train", "--set", "nonsense"]) == 2


def test_load_train_config_overrides(tmp_path: Path) -> None:
    from econt.train.stage import load_train_config

    cfg = load_train_config("configs/train/quick.yaml", {"fit.epochs": 1, "losses": ["mse"]})
    assert cfg.fit.epochs == 1 and cfg.losses == ("mse",)
    with pytest.raises(ConfigError):
        load_config(TrainConfig, tmp_path / "missing.yaml")


def test_stage_source_reads_the_data_stage_splits(tmp_path, monkeypatch):
    """data.source 'stage' consumes build/data/{train,val,test}.npz, capped in proportion; missing → clear error."""
    from econt.data.splits import split_dataset
    from econt.data.synthetic import generate
    from econt.model.config import load_encoder_config
    from econt.train.stage import load_data

    monkeypatch.setenv("ECONT_BUILD", str(tmp_path / "build"))
    cfg = build_dataclass(TrainConfig, {"data": {"source": "stage", "n_samples": 500}}, source="test")
    enc_cfg = load_encoder_config("econt_default")
    with pytest.raises(ConfigError, match="run the data stage first"):
        load_data(cfg, enc_cfg)
    folder = tmp_path / "build" / "data"  # created (empty) by the failed lookup above
    for name, part in zip(("train", "val", "test"), split_dataset(generate(1000, seed=4), seed=0)):
        part.save(folder / f"{name}.npz")
    train, val, test, info = load_data(cfg, enc_cfg)
    assert info["source"].startswith("data stage")
    assert 480 <= len(train) + len(val) + len(test) + info["n_empty_dropped"] <= 520
    assert len(train) > len(val) > 0 and len(test) > 0
    np.testing.assert_allclose(train.x.sum(axis=1) > 0, True)


def test_tiny_training_run_in_chip_arithmetic(tmp_path: Path) -> None:
    """Training for the silicon's truncating sums: the trained encoder is bit-exact with the chip
    integer model, and evaluating it through that model gives the training-time EMD."""
    from dataclasses import replace

    cfg = _cfg(tmp_path, "mse", None, real=False)
    cfg = replace(cfg, model_overrides={**cfg.model_overrides, "arithmetic": "chip"})
    summary = run_training(cfg)
    _check_outputs(tmp_path, "mse", summary, regions=False)
    assert summary["arithmetic"] == "chip"
    entry = summary["losses"]["mse"]
    assert entry["mean_emd_test_chip_arithmetic"] == pytest.approx(entry["mean_emd_test"], rel=1e-6)
    # the pipeline's side-by-side table: the same job trained for exact sums, run on the chip
    from econt.train.stage import chip_arithmetic_comparison

    exact_tmp = tmp_path / "exact_sums"
    exact = run_training(_cfg(exact_tmp, "mse", None, real=False))
    assert exact["arithmetic"] == "qkeras"
    row = chip_arithmetic_comparison(exact, summary)["losses"]["mse"]
    assert row["mean_emd_test_chip_trained"] == entry["mean_emd_test"]
    assert row["mean_emd_test_exact_sums_trained"] == exact["losses"]["mse"]["mean_emd_test_chip_arithmetic"]
    assert row["chip_trained_over_exact_sums_trained_test"] == pytest.approx(
        entry["mean_emd_test"] / exact["losses"]["mse"]["mean_emd_test_chip_arithmetic"])


def _tiny_yaml(tmp: Path, name: str, extra: str = "") -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(f"""seed: 5
losses: [mse]
output_name: {name}
out_dir: {tmp / 'build' / name}
reports_dir: {tmp / 'reports' / name}
data: {{source: synthetic, n_samples: 400}}
model_overrides: {{decoder_output_activation: relu}}
fit: {{epochs: 1, batch_size: 64, learning_rate: 0.003, patience: 1}}
regions: {{enabled: false}}
evaluation: {{n_displays: 1, bit_exact_samples: 200, bit_exact_samples_region: 200, use_real_vectors: false}}
progress: false
{extra}""")
    return path


def test_two_jobs_side_by_side(tmp_path: Path) -> None:
    """The train stage's two jobs run at once: the companion's summary comes back, its log is kept."""
    from econt.train.stage import run_jobs_side_by_side

    first, second = _tiny_yaml(tmp_path, "job_a"), _tiny_yaml(tmp_path, "job_b")
    a, b = run_jobs_side_by_side(first, second)
    assert a["bit_exact_mismatches"] == 0 and b["bit_exact_mismatches"] == 0
    assert np.isfinite(b["losses"]["mse"]["mean_emd_test"])
    assert (tmp_path / "reports" / "job_b" / "train.log").stat().st_size > 0
    assert (tmp_path / "build" / "job_b" / "mse" / "encoder.weights.h5").is_file()


def test_bad_companion_config_fails_before_any_training(tmp_path: Path) -> None:
    from econt.train.stage import run_jobs_side_by_side

    first = _tiny_yaml(tmp_path, "job_a")
    broken = _tiny_yaml(tmp_path, "job_b", "evaluation_typo: 1\n")
    with pytest.raises(ConfigError, match="evaluation_typo"):
        run_jobs_side_by_side(first, broken)
    assert not (tmp_path / "build" / "job_a").exists()


def test_failed_companion_job_is_a_stage_error(tmp_path: Path) -> None:
    from econt.errors import StageError
    from econt.train.stage import run_jobs_side_by_side

    first = _tiny_yaml(tmp_path, "job_a")
    broken = _tiny_yaml(tmp_path, "job_b", f"model_config: {tmp_path / 'no_such_model.yaml'}\n")
    with pytest.raises(StageError, match="job_b.yaml failed") as err:
        run_jobs_side_by_side(first, broken)
    assert "no_such_model" in str(err.value)   # the end of the companion's log is quoted
