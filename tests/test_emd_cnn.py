"""EMD-CNN: pair cache, training on a tiny set beats a constant, symmetry, save/load, the loss."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import econt  # noqa: F401
from econt.emd.cnn import (
    MODEL_FORMAT,
    EmdCnnLoss,
    load_emd_cnn,
    load_emd_config,
    predict_emd,
    read_model_meta,
    train_emd_cnn,
)
from econt.emd.evaluate import rel_error_stats
from econt.emd.exact import emd_batch
from econt.emd.pairs import KIND_AE, KIND_PAIR, build_pairs
from econt.errors import ConfigError, EcontError

TINY = {
    "pairs.mode": "app",
    "pairs.n_events": 3000,
    "pairs.train_pairs": 16000,
    "pairs.val_pairs": 1000,
    "pairs.test_pairs": 1000,
    "pairs.ae.snapshot_steps": [0, 1000],
    "fit.epochs": 6,
    "fit.batch_size": 256,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    old = os.environ.get("ECONT_BUILD")
    os.environ["ECONT_BUILD"] = str(build)
    try:
        cfg = load_emd_config(None, TINY)  # model goes to $ECONT_BUILD/emd/cnn
        sets = build_pairs(cfg.pairs, cfg.seed, verbose=False)
        tr, va = sets["train"], sets["val"]
        model, meta = train_emd_cnn(cfg, (tr.a, tr.b, tr.emd), (va.a, va.b, va.emd), out_dir=cfg.resolved_out_dir(), verbose=0)
        assert cfg.resolved_out_dir() == build / "emd" / "cnn"
        yield {"cfg": cfg, "sets": sets, "model": model, "meta": meta, "build": build}
    finally:
        if old is None:
            os.environ.pop("ECONT_BUILD", None)
        else:
            os.environ["ECONT_BUILD"] = old


def test_pairs_have_exact_labels_modes_and_cache(tiny):
    cfg, sets = tiny["cfg"], tiny["sets"]
    test = sets["test"]
    assert set(np.unique(test.kind)) == {KIND_PAIR, KIND_AE}
    assert len(sets["train"]) == cfg.pairs.train_pairs
    sub = slice(0, 200)
    np.testing.assert_allclose(test.emd[sub], emd_batch(test.a[sub], test.b[sub], workers=1), atol=1e-12)
    cached = list((tiny["build"] / "emd" / "pairs").glob("*.npz"))
    assert len(cached) == 1
    again = build_pairs(cfg.pairs, cfg.seed, verbose=False)  # loads the cache: identical arrays
    for s in ("train", "val", "test"):
        np.testing.assert_array_equal(again[s].emd, sets[s].emd)
        np.testing.assert_array_equal(again[s].b, sets[s].b)
    # ae pairs: the reconstructions span qualities (snapshot 0 = untrained is worst)
    ae = test.select(test.kind == KIND_AE)
    med = [np.median(ae.emd[ae.snapshot == k]) for k in range(2)]
    assert med[0] > med[-1]


def test_cnn_beats_constant_predictor(tiny):
    cfg, test, model = tiny["cfg"], tiny["sets"]["test"], tiny["model"]
    pred = predict_emd(model, test.a, test.b)
    const = np.full_like(pred, np.median(tiny["sets"]["train"].emd))
    cnn = rel_error_stats(test.emd, pred)
    base = rel_error_stats(test.emd, const)
    assert cnn["median_abs"] < 0.5 * base["median_abs"]
    assert np.mean((pred - test.emd) ** 2) < 0.5 * np.mean((const - test.emd) ** 2)


def test_model_is_symmetric_and_round_trips(tiny):
    test, model = tiny["sets"]["test"], tiny["model"]
    a, b = test.a[:300], test.b[:300]
    np.testing.assert_allclose(predict_emd(model, a, b), predict_emd(model, b, a), rtol=1e-5)
    out = tiny["cfg"].resolved_out_dir()
    meta = read_model_meta(out)
    assert meta["format"] == MODEL_FORMAT and meta["data_hash"] == tiny["meta"]["data_hash"]
    assert (out / "resolved_config.yaml").is_file()
    loaded = load_emd_cnn(out)
    np.testing.assert_allclose(predict_emd(loaded, a, b), predict_emd(model, a, b), rtol=1e-5)
    json.dumps(meta)


def test_loss_gradient_is_finite_and_lowers_exact_emd(tiny):
    import tensorflow as tf

    loss = EmdCnnLoss(tiny["cfg"].resolved_out_dir())
    test = tiny["sets"]["test"]
    rng = np.random.default_rng(5)
    idx = rng.choice(np.flatnonzero(test.kind == KIND_PAIR), 16, replace=False)
    truth = test.a[idx]
    # a poor reconstruction: the module plus a dense floor spread over all cells
    norm = truth / truth.sum(axis=1, keepdims=True)
    recon = tf.Variable((norm + 0.02).astype(np.float32))
    with tf.GradientTape() as tape:
        value = loss(tf.constant(norm, tf.float32), recon)
    assert value.shape == (16,)
    grad = tape.gradient(value, recon).numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    before = emd_batch(truth, recon.numpy().astype(np.float64), workers=1)
    step = grad / np.linalg.norm(grad, axis=1, keepdims=True)
    after = emd_batch(truth, np.clip(recon.numpy() - 0.005 * step, 0, None).astype(np.float64), workers=1)
    assert np.mean(after < before) >= 0.75
    assert np.mean(after) < np.mean(before)
    # in a Keras model it is usable as a plain loss: per-sample values, and 8x8 images accepted
    from econt.geometry import to_8x8

    img = loss(tf.constant(to_8x8(norm), tf.float32), tf.constant(to_8x8(recon.numpy())))
    np.testing.assert_allclose(img.numpy(), value.numpy(), rtol=1e-5)
    # compiled into a Keras model (graph mode): trains one step and lowers nothing to NaN
    import tf_keras as keras

    net = keras.Sequential([keras.Input((48,)), keras.layers.Dense(48, activation="sigmoid")])
    net.compile(optimizer="adam", loss=loss)
    hist = net.fit(norm.astype(np.float32), norm.astype(np.float32), epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    assert all(layer.trainable is False for layer in loss.model.layers)


def test_loss_on_published_model(shared):
    """The loss wraps the published peer files as well (same input interface)."""
    import tensorflow as tf

    loss = EmdCnnLoss(shared / "peers" / "fastml-science-emd" / "ae_mse.h5")
    x = np.random.default_rng(0).random((4, 48)).astype(np.float32)
    v = loss(tf.constant(x), tf.constant(x[::-1]))
    assert v.shape == (4,) and np.all(np.isfinite(v.numpy()))


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(EcontError, match="econt emd train"):
        load_emd_cnn(tmp_path / "missing")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fit:\n  epochs: 0\n")
    with pytest.raises(ConfigError, match="fit.epochs"):
        load_emd_config(bad)
    bad.write_text("pairs:\n  mode: both\n")
    with pytest.raises(ConfigError, match="pairs.mode"):
        load_emd_config(bad)


def test_run_stage_writes_summary_and_reuses(tmp_path, monkeypatch):
    """The make-all entry on a tiny config: summary keys, then a second run reuses the model."""
    monkeypatch.setenv("ECONT_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path / "reports"))
    from econt.emd.stage import run_stage

    cfg_file = tmp_path / "emd.yaml"
    cfg_file.write_text(
        "pairs:\n  n_events: 600\n  train_pairs: 1500\n  val_pairs: 200\n  test_pairs: 200\n"
        "  ae:\n    snapshot_steps: [0, 20]\nfit:\n  epochs: 1\n  batch_size: 128\n"
    )
    first = run_stage(config=cfg_file, verbose=0)
    saved = json.loads((tmp_path / "reports" / "emd" / "summary.json").read_text())
    for key in ("cnn_rel_err_mean", "cnn_rel_err_std", "cnn_pairs_per_s", "peers"):
        assert key in saved
    assert np.isfinite(saved["cnn_rel_err_std"]) and saved["cnn_pairs_per_s"] > 0
    assert "synthetic_ae" in saved["peers"]["kit"]
    assert (tmp_path / "reports" / "emd" / "cnn_calibration.png").is_file()
    assert first["cnn_reused"] is False
    second = run_stage(config=cfg_file, verbose=0)
    assert second["cnn_reused"] is True
    assert second["cnn_rel_err_std"] == pytest.approx(first["cnn_rel_err_std"], rel=1e-6)
