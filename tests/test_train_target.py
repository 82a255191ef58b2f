"""What the decoder is trained to reproduce (``fit.target``): the chip-truncated input or the
module's full-precision charge map, and the exact-EMD selection measured against it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import econt  # noqa: F401

from econt.errors import StageError


def _split():
    from econt.data.synthetic import generate
    from econt.model.config import load_encoder_config
    from econt.train.stage import make_split

    ds = generate(400, seed=11)
    keep = np.flatnonzero(np.asarray(ds.charges).sum(axis=1) > 0)
    enc_cfg = load_encoder_config("econt_default")
    return make_split(ds.subset(keep), enc_cfg), enc_cfg


def test_split_keeps_the_truncated_input_and_the_true_map() -> None:
    split, enc_cfg = _split()
    step = 2.0 ** -enc_cfg.input_frac
    # same normalisation; the input is the true map truncated to the input precision
    assert np.all(split.x <= split.frac)
    assert np.all(split.frac - split.x < step)
    assert np.allclose(split.x, np.floor(split.frac / step) * step)
    # some cells really are truncated (otherwise the choice would not matter)
    assert np.any(split.frac - split.x > 0)
    scale = split.charges.sum(axis=1) / split.frac.sum(axis=1)
    assert np.allclose(np.log2(scale), np.round(np.log2(scale)))   # a power of two per module
    sub = split.subset(np.arange(5))
    assert sub.target("charges") is sub.frac and sub.target("input") is sub.x
    assert np.array_equal(sub.frac, split.frac[:5])


def test_exact_emd_monitor_scores_the_reconstruction_against_the_target() -> None:
    import tf_keras as keras

    from econt.emd.exact import emd_batch
    from econt.train.refit import ExactEmdMonitor, mean_exact_emd

    split, _ = _split()
    identity = keras.Sequential([keras.Input((48,)), keras.layers.Activation("linear")])
    x, frac = split.x[:200], split.frac[:200]
    assert mean_exact_emd(identity, x, workers=1) == pytest.approx(0.0, abs=1e-9)
    expected = float(np.nanmean(emd_batch(frac, np.clip(x, 0, None), workers=1)))
    assert expected > 0.01
    assert mean_exact_emd(identity, x, workers=1, target=frac) == pytest.approx(expected, rel=1e-6)
    monitor = ExactEmdMonitor(x, workers=1, target=frac)
    monitor.set_model(identity)
    logs: dict = {}
    monitor.on_epoch_end(0, logs)
    assert logs["val_exact_emd"] == pytest.approx(expected, rel=1e-6)


def test_fit_rejects_targets_that_do_not_match_the_inputs(tmp_path: Path) -> None:
    from econt.model.qkeras_model import build_autoencoder
    from econt.train.fit import fit_autoencoder
    from econt.train.losses import weighted_mse

    split, enc_cfg = _split()
    with pytest.raises(StageError, match="targets"):
        fit_autoencoder(build_autoencoder(enc_cfg), weighted_mse, split.x, split.x, y_train=split.frac[:10],
                        epochs=1, batch_size=64, learning_rate=1e-3, patience=1, out_dir=tmp_path / "bad",
                        progress=False)


def test_training_config_rejects_an_unknown_target() -> None:
    from econt.config import build_dataclass
    from econt.errors import ConfigError
    from econt.train.config import TrainConfig

    with pytest.raises(ConfigError, match="target"):
        build_dataclass(TrainConfig, {"fit": {"target": "raw"}}, source="test.yaml")


def test_chip_arithmetic_configs_extend_the_defaults() -> None:
    from econt.model.config import load_encoder_config
    from econt.train.stage import CHIP_CONFIG, DEFAULT_CONFIG, load_train_config

    chip, default = load_train_config(CHIP_CONFIG), load_train_config(DEFAULT_CONFIG)
    from econt.paths import CHIP_TRAIN_DIR

    assert chip.output_name == CHIP_TRAIN_DIR and default.output_name == "train"
    assert chip.fit == default.fit and chip.losses == default.losses and chip.data == default.data
    from econt.train.config import resolve

    m_chip = load_encoder_config(resolve(chip.model_config))
    m_default = load_encoder_config(resolve(default.model_config))
    assert m_chip.arithmetic == "chip" and m_default.arithmetic == "qkeras"
    assert {k: v for k, v in vars(m_chip).items() if k not in ("arithmetic", "name")} == \
        {k: v for k, v in vars(m_default).items() if k not in ("arithmetic", "name")}


def test_config_extends_errors_name_the_file(tmp_path: Path) -> None:
    from econt.config import load_config
    from econt.errors import ConfigError
    from econt.train.config import TrainConfig

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\nseed: 3\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(TrainConfig, a)
    b.write_text("extends: missing.yaml\n")
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_config(TrainConfig, a)
    b.write_text("seed: 9\nfit: {epochs: 7, patience: 2}\n")
    cfg = load_config(TrainConfig, a, {"fit.patience": 4})
    assert (cfg.seed, cfg.fit.epochs, cfg.fit.patience) == (3, 7, 4)
