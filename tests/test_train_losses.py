"""Numeric semantics of the training losses and training-config validation (fast, no training)."""
from __future__ import annotations

import numpy as np
import pytest

import econt  # noqa: F401
import tensorflow as tf

from econt.config import load_config
from econt.errors import ConfigError
from econt.geometry import ground_distance
from econt.train.config import TrainConfig
from econt.train.losses import (
    SUPERCELLS_2X2,
    EmdCnnMixedLoss,
    make_loss,
    sector_matrix,
    sum_normalise,
    supercell_matrix,
    telescope_loss,
    weighted_mse,
)


def _onehot(*cells: int, value: float = 1.0) -> np.ndarray:
    x = np.zeros((1, 48), dtype=np.float32)
    for c in cells:
        x[0, c] = value
    return x


def test_weighted_mse_hand_values() -> None:
    t = np.zeros((2, 48), np.float32)
    p = np.zeros((2, 48), np.float32)
    t[0, 0], p[0, 0] = 0.5, 0.25          # (0.25)^2 * 0.5
    t[1, 3], p[1, 7] = 1.0, 2.0           # 1*1 + 4*2
    got = weighted_mse(t, p).numpy()
    np.testing.assert_allclose(got, [0.0625 * 0.5 / 48, (1.0 + 8.0) / 48], rtol=1e-6)
    assert weighted_mse(t, t).numpy().max() == 0.0


def test_telescope_cell_move_within_supercell() -> None:
    # Charge moved from cell 0 to its neighbour 1: the cells term sees two misses, the
    # super-cells holding both 0 and 1 see nothing, the super-cells holding only one of them
    # see a miss each, the sector term sees nothing (same sector).
    t, p = _onehot(0), _onehot(1)
    l_cells = 2.0 / 48
    only_one = [sc for sc in SUPERCELLS_2X2 if (0 in sc[:4]) != (1 in sc[:4])]
    l_super = sum(sc[4] for sc in only_one) / 36
    expected = 4 * l_cells + 2 * l_super
    assert telescope_loss(t, p).numpy()[0] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.19444444, rel=1e-6)  # worked out by hand in the module docstring terms


def test_telescope_penalises_far_moves_more() -> None:
    # Same cell-level error, but moving the charge to another sector also costs at the
    # super-cell and sector scales: the telescope loss ranks it worse, weighted MSE does not.
    t = _onehot(5)
    near, far = _onehot(6), _onehot(16 + 5)
    assert weighted_mse(t, near).numpy()[0] == pytest.approx(weighted_mse(t, far).numpy()[0])
    assert telescope_loss(t, far).numpy()[0] > telescope_loss(t, near).numpy()[0]
    # Sector term exactly: Σ over 3 sectors of (Δ)^2·max / 3 = 2 · 1 / 3
    sector_only = telescope_loss(t, far).numpy()[0] - 4 * 2 / 48
    sc_mat, sc_w = supercell_matrix()
    d = (t - far) @ sc_mat
    mx = np.maximum(t @ sc_mat, far @ sc_mat)
    assert sector_only == pytest.approx(2 * float((d**2 * mx * sc_w).mean()) + 2.0 / 3.0, rel=1e-5)


def test_supercells_are_compact_in_kit_geometry() -> None:
    # The reference table is in the training index order; in the kit's geometry each group
    # must be 4 mutually close cells (2x2 rhombus: neighbours 2 apart, long diagonal 2·√3).
    dist = ground_distance()
    assert len(SUPERCELLS_2X2) == 36
    covered = np.zeros(48, int)
    for *cells, w in SUPERCELLS_2X2:
        assert len(set(cells)) == 4 and w > 0
        sub = dist[np.ix_(cells, cells)]
        assert sub.max() <= 2 * np.sqrt(3) + 1e-6, cells
        covered[cells] += 1
    assert covered.min() >= 1  # every cell enters at least one super-cell
    # corner cells enter fewer groups than central ones (the reason for the edge weights)
    assert covered.max() > covered.min()
    m = sector_matrix()
    assert m.sum() == 48 and (m.sum(axis=0) == 16).all()


def test_losses_are_differentiable_and_zero_at_target() -> None:
    rng = np.random.default_rng(1)
    t = tf.constant(rng.random((4, 48)).astype(np.float32))
    p = tf.Variable(rng.random((4, 48)).astype(np.float32))
    for fn in (weighted_mse, telescope_loss):
        with tf.GradientTape() as tape:
            val = tf.reduce_mean(fn(t, p))
        g = tape.gradient(val, p)
        assert g is not None and np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0
        assert np.allclose(fn(t, t).numpy(), 0.0)


def test_emd_mixed_loss_normalises_and_mixes() -> None:
    seen = {}

    def l1_emd(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:  # a scale-sensitive stand-in to observe the inputs
        seen["sums"] = (tf.reduce_sum(a, -1).numpy(), tf.reduce_sum(b, -1).numpy())
        return tf.reduce_sum(tf.abs(a - b), -1)

    loss = EmdCnnMixedLoss(l1_emd, mse_weight=0.0, mse_scale=10.0)
    t = _onehot(0, value=3.0)
    p = _onehot(0, value=1.5) + _onehot(1, value=1.5)
    np.testing.assert_allclose(loss(t, p).numpy(), [1.0], rtol=1e-6)
    np.testing.assert_allclose(seen["sums"][0], [1.0], rtol=1e-6)
    np.testing.assert_allclose(seen["sums"][1], [1.0], rtol=1e-6)
    loss.set_mse_weight(0.5)
    expected = 1.0 + 0.5 * 10.0 * float(weighted_mse(t, p).numpy()[0])
    np.testing.assert_allclose(loss(t, p).numpy(), [expected], rtol=1e-6)
    # an empty prediction does not divide by zero
    assert np.isfinite(sum_normalise(np.zeros((1, 48), np.float32)).numpy()).all()


def test_make_loss_errors() -> None:
    with pytest.raises(ConfigError, match="emd_cnn"):
        make_loss("emd_cnn", emd_fn=None)
    with pytest.raises(ConfigError, match="unknown loss"):
        make_loss("huber")


@pytest.mark.parametrize("body, needle", [
    ("losses: [mse, huber]\n", "losses[1]"),
    ("losses: [mse, mse]\n", "twice"),
    ("data: {split: [0.5, 0.5, 0.5]}\n", "data.split"),
    ("fit: {epochs: 0}\n", "fit.epochs"),
    ("fit: {learning_rte: 0.1}\n", "fit.learning_rte"),
    ("data: {source: file}\n", "data.path"),
    ("emd_cnn: {init_from: mse}\nlosses: [emd_cnn, mse]\n", "init_from"),
    ("seed: one\n", "seed"),
    ("fit: {monitor: surrogate}\n", "fit.monitor"),
    ("emd_cnn: {refit_every: 2, refit_pairs: 5000, refit_max_pairs: 1000}\n", "refit_max_pairs"),
])
def test_train_config_validation_errors(tmp_path, body: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_config(TrainConfig, path)
    msg = str(err.value)
    assert str(path) in msg and needle in msg


def test_default_train_configs_load() -> None:
    from econt.paths import kit_data

    paths = sorted(kit_data("configs", "train").glob("*.yaml"))
    assert paths, "configs/train/*.yaml missing"
    for p in paths:
        cfg = load_config(TrainConfig, p)
        assert cfg.losses


# --------------------------------------------------------------------------------------
# exact_emd: the exact EMD with its dual-potential gradient (the surrogate's bound)
# --------------------------------------------------------------------------------------
def test_exact_emd_value_and_gradient_match_finite_differences() -> None:
    from econt.emd.bench import realistic_pairs
    from econt.emd.exact import emd_batch
    from econt.train.losses import exact_emd

    A, B = realistic_pairs(40, seed=3)
    B = B[20:]  # the dense, reconstruction-like half: every output cell non-zero
    A = A[20:]
    scale = np.random.default_rng(4).uniform(0.5, 3.0, (len(B), 1))
    y = tf.Variable((B * scale).astype(np.float32))
    with tf.GradientTape() as tape:
        val = exact_emd(tf.constant(A.astype(np.float32)), y)
        total = tf.reduce_sum(val)
    grad = tape.gradient(total, y).numpy().astype(np.float64)
    y64 = y.numpy().astype(np.float64)
    np.testing.assert_allclose(val.numpy(), emd_batch(A.astype(np.float32), y64, workers=1), rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(5)
    h = 1e-6
    for _ in range(3):
        d = rng.normal(size=y64.shape) * y64  # relative steps: every cell stays non-negative
        fd = (emd_batch(A, y64 + h * d, workers=1) - emd_batch(A, y64 - h * d, workers=1)) / (2 * h)
        np.testing.assert_allclose((grad * d).sum(axis=1), fd, rtol=2e-3, atol=1e-4)
    # no gradient into the target; an empty output is finite with zero gradient
    t = tf.Variable(A[:2].astype(np.float32))
    p = tf.Variable(np.stack([np.zeros(48), B[1]]).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        v = exact_emd(t, p)
    assert np.isfinite(v.numpy()).all()
    assert tape.gradient(v, t) is None or not np.any(tape.gradient(v, t).numpy())
    assert not np.any(tape.gradient(v, p).numpy()[0])


def test_exact_emd_is_a_registered_loss_with_the_emd_cnn_warmup() -> None:
    loss = make_loss("exact_emd", mse_weight=0.5, mse_scale=10.0)
    assert isinstance(loss, EmdCnnMixedLoss)
    t = _onehot(0, value=3.0)
    p = _onehot(1, value=2.0)
    expected = 2.0 + 0.5 * 10.0 * float(weighted_mse(t, p).numpy()[0])  # neighbours are 2 apart
    np.testing.assert_allclose(loss(t, p).numpy(), [expected], rtol=1e-5)


def _tiny_emd_cnn(out) -> None:
    from econt.config import build_dataclass
    from econt.data.synthetic import generate
    from econt.emd.cnn import EmdCnnConfig, train_emd_cnn
    from econt.emd.exact import emd_batch

    a = generate(600, seed=3).charges
    a = a[a.sum(axis=1) > 0]
    rng = np.random.default_rng(0)
    b = np.where(rng.random(a.shape) < 0.3, np.roll(a, 1, axis=1), a)
    b[::2] = a[rng.permutation(len(a))][::2]
    cfg = build_dataclass(EmdCnnConfig, {"arch": {"filters": 8, "kernel_size": 3, "conv_layers": 1,
                                                  "dense_units": 32}, "fit": {"epochs": 2, "batch_size": 64}})
    train_emd_cnn(cfg, (a, b, emd_batch(a, b, workers=1)), out_dir=out, verbose=0)


def test_train_bound_tiny_exact_gradient_training_lowers_exact_emd(tmp_path) -> None:
    import dataclasses

    from econt.model.config import load_encoder_config
    from econt.train import evaluate as ev
    from econt.train.bench_bound import bound_config, run_bound
    from econt.train.config import resolve
    from econt.train.fit import predict_cells
    from econt.train.stage import _build_ae, load_data

    _tiny_emd_cnn(tmp_path / "cnn")
    cfg = bound_config(quick=True, emd_cnn_model=str(tmp_path / "cnn"))
    cfg = dataclasses.replace(cfg, out_dir=str(tmp_path / "build"), reports_dir=str(tmp_path / "reports"))
    assert cfg.losses == ("emd_cnn", "exact_emd") and cfg.fit.epochs == 2 and not cfg.regions.enabled
    enc_cfg = load_encoder_config(resolve(cfg.model_config), dict(cfg.model_overrides))
    _, _, test, _ = load_data(cfg, enc_cfg)
    untrained = float(np.nanmean(ev.emd_per_sample(test.charges, predict_cells(_build_ae(enc_cfg), test.x),
                                                   workers=1)))
    result = run_bound(cfg)
    rows = result["losses"]
    assert rows["exact_emd"]["mean_emd_test"] < untrained
    assert result["emd_cnn_over_exact_gradient"] == pytest.approx(
        rows["emd_cnn"]["mean_emd_test"] / rows["exact_emd"]["mean_emd_test"])
    saved = __import__("json").loads((tmp_path / "reports" / "summary.json").read_text())
    assert saved["emd_cnn_over_exact_gradient"] == result["emd_cnn_over_exact_gradient"]
