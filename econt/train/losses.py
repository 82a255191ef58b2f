"""Training losses for the ECON-T autoencoder, on ``(B, 48)`` cell vectors.

All losses take ``(y_true, y_pred)`` as ``(B, 48)`` tensors in the kit's cell
order (= the training index order of the reference studies) and return a
per-sample loss ``(B,)``; Keras averages it over the batch. The trainer feeds
the hardware-normalised input (codes / 2**frac_bits, module sum in [1, 2)
times a power of two) as both input and target, so the MSE-type losses see the
scale the decoder must reproduce; the EMD-CNN loss normalises both maps to unit
sum itself because the EMD is defined on sum-normalised charge maps.

* :func:`weighted_mse` — ``mean((t - p)**2 * max(t, p))``: the charge-weighted
  MSE of the reference codes (plain MSE over-weights the many near-zero cells).
* :func:`telescope_loss` — the multi-scale "telescope" loss: the same weighted
  MSE at three scales (cells, the 36 overlapping 2x2 super-cells with the
  reference's edge weights, the three 16-cell sectors), combined 4:2:1.
* :class:`EmdCnnMixedLoss` — the EMD-CNN approximation of the EMD, optionally
  plus a weighted-MSE term whose weight decays to zero over the first epochs
  (a freshly initialised decoder gives near-uniform or empty maps where the
  EMD-CNN gradient is weak; the MSE term pulls it into the regime the CNN was
  trained on, as the reference studies did).
* :func:`exact_emd` — the exact EMD itself (POT's network simplex, no surrogate) with its
  exact gradient: the optimal dual potential of the output distribution. Registered as
  loss ``exact_emd`` (:func:`make_loss`), mixed with the same decaying weighted-MSE term and
  schedule as the EMD-CNN loss; it is the bound a perfect surrogate could reach
  (``econt bench train-bound``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import econt  # noqa: F401  (TF/Keras environment before TensorFlow is imported)
import tensorflow as tf

from econt.errors import ConfigError

N_CELLS = 48

# 2x2 super-cells of the telescope loss: four cell indices and the edge weight.
# Translated from fastml-science sensor-data-compression/telescope.py
# (SCmask_48_36). That table is written in the training index order, which is
# the kit's cell order (econt.geometry: cell 16*s + 4*a + b), so the indices
# carry over unchanged; tests check every group is a compact 2x2 rhombus in the
# kit geometry. Weights: an edge cell enters fewer super-cells than a central
# one, so each super-cell is weighted by the sum over its cells of
# 1/(#super-cells the cell enters), times 1/4 (36 groups of 4 instead of 12),
# plus the reference's small corrections for the sector-boundary groups.
_Q = 0.25
SUPERCELLS_2X2: tuple[tuple[int, int, int, int, float], ...] = (
    # 12 super-cells that tile the module
    (0, 1, 4, 5, _Q * 1.5), (2, 3, 6, 7, _Q * 1.0 + 1.0 / 12), (8, 9, 12, 13, _Q * 2.25),
    (10, 11, 14, 15, _Q * 1.5), (16, 17, 20, 21, _Q * 1.5), (18, 19, 22, 23, _Q * 1.0 + 1.0 / 12),
    (24, 25, 28, 29, _Q * 2.25), (26, 27, 30, 31, _Q * 1.5), (32, 33, 36, 37, _Q * 1.5),
    (34, 35, 38, 39, _Q * 1.0 + 1.0 / 12), (40, 41, 44, 45, _Q * 2.25), (42, 43, 46, 47, _Q * 1.5),
    # shifted by one cell along a
    (4, 5, 8, 9, _Q * 1.5), (6, 7, 10, 11, _Q * 1.0), (20, 21, 24, 25, _Q * 1.5),
    (22, 23, 26, 27, _Q * 1.0), (36, 37, 40, 41, _Q * 1.5), (38, 39, 42, 43, _Q * 1.0),
    # shifted by one cell along b
    (1, 2, 5, 6, _Q * 1.0), (9, 10, 13, 14, _Q * 1.5), (17, 18, 21, 22, _Q * 1.0),
    (25, 26, 29, 30, _Q * 1.5), (33, 34, 37, 38, _Q * 1.0), (41, 42, 45, 46, _Q * 1.5),
    # shifted along both
    (5, 6, 9, 10, _Q * 1.0), (21, 22, 25, 26, _Q * 1.0), (37, 38, 41, 42, _Q * 1.0),
    # groups straddling two sectors
    (0, 1, 27, 31, _Q * 1.5), (1, 2, 23, 27, _Q * 1.0), (2, 3, 19, 23, _Q * 1.0 + 1.0 / 6),
    (3, 7, 34, 35, _Q * 1.0 + 1.0 / 6), (7, 11, 33, 34, _Q * 1.0), (11, 15, 32, 33, _Q * 1.5),
    (16, 17, 47, 43, _Q * 1.5), (17, 18, 43, 39, _Q * 1.0), (18, 19, 39, 35, _Q * 1.0 + 1.0 / 6),
)

#: Relative weights of the cell, 2x2 super-cell and sector terms.
TELESCOPE_SCALE_WEIGHTS = (4.0, 2.0, 1.0)


def supercell_matrix() -> tuple[np.ndarray, np.ndarray]:
    """``(48, 36)`` 0/1 cell → 2x2 super-cell matrix and the ``(36,)`` super-cell weights."""
    mat = np.zeros((N_CELLS, len(SUPERCELLS_2X2)), dtype=np.float32)
    weights = np.zeros(len(SUPERCELLS_2X2), dtype=np.float32)
    for j, (*cells, w) in enumerate(SUPERCELLS_2X2):
        mat[list(cells), j] = 1.0
        weights[j] = w
    return mat, weights


def sector_matrix() -> np.ndarray:
    """``(48, 3)`` 0/1 cell → 16-cell sector matrix (cell i is in sector i // 16)."""
    mat = np.zeros((N_CELLS, 3), dtype=np.float32)
    mat[np.arange(N_CELLS), np.arange(N_CELLS) // 16] = 1.0
    return mat


def _flat48(x: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(x, tf.float32), (-1, N_CELLS))


def weighted_mse(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Per-sample ``mean over cells of (t - p)**2 * max(t, p)``."""
    t, p = _flat48(y_true), _flat48(y_pred)
    return tf.reduce_mean(tf.square(t - p) * tf.maximum(t, p), axis=-1)


def _wmse_terms(t: tf.Tensor, p: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
    terms = tf.square(t - p) * tf.maximum(t, p)
    if weights is not None:
        terms = terms * weights
    return tf.reduce_mean(terms, axis=-1)


_SC_MAT, _SC_W = supercell_matrix()
_SECTOR_MAT = sector_matrix()


def telescope_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Per-sample telescope loss: ``4·L(cells) + 2·L(2x2 super-cells, edge-weighted) + 1·L(sectors)``."""
    t, p = _flat48(y_true), _flat48(y_pred)
    sc_mat = tf.constant(_SC_MAT)
    sec_mat = tf.constant(_SECTOR_MAT)
    l_cells = _wmse_terms(t, p)
    l_super = _wmse_terms(tf.matmul(t, sc_mat), tf.matmul(p, sc_mat), tf.constant(_SC_W))
    l_sector = _wmse_terms(tf.matmul(t, sec_mat), tf.matmul(p, sec_mat))
    w1, w2, w3 = TELESCOPE_SCALE_WEIGHTS
    return w1 * l_cells + w2 * l_super + w3 * l_sector


def sum_normalise(x: tf.Tensor, eps: float = 1e-9) -> tf.Tensor:
    """Rows scaled to unit sum; an all-zero row stays zero (no division by zero)."""
    x = _flat48(x)
    total = tf.reduce_sum(x, axis=-1, keepdims=True)
    return x / tf.maximum(total, eps)


class EmdCnnMixedLoss:
    """EMD-CNN loss plus a decaying weighted-MSE term.

    ``emd_fn`` is a callable ``(y_true, y_pred) -> (B,)`` on ``(B, 48)`` maps
    (the EMD stage's ``EmdCnnLoss``). Both maps are sum-normalised before the
    call. The MSE term's weight is ``mse_weight`` (a ``tf.Variable``, so a
    callback can change it between epochs without retracing):
    ``loss = emd_cnn + mse_weight * mse_scale * weighted_mse``; ``mse_scale``
    brings the weighted MSE (≈1e-4 on normalised maps) to the EMD's order of
    magnitude (≈1).
    """

    def __init__(self, emd_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], mse_weight: float = 0.0,
                 mse_scale: float = 1000.0) -> None:
        # The EMD-CNN call is plain tensor code (no tensor-dependent Python control flow), so
        # autograph need not convert it; converting re-reads its source file at trace time,
        # which breaks a long run if that file is edited meanwhile.
        self.emd_fn = tf.autograph.experimental.do_not_convert(emd_fn)
        self.mse_weight = tf.Variable(float(mse_weight), trainable=False, dtype=tf.float32, name="emd_mix_mse_weight")
        self.mse_scale = float(mse_scale)
        self.__name__ = "emd_cnn_loss"

    def __call__(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        t, p = _flat48(y_true), _flat48(y_pred)
        emd = tf.reshape(self.emd_fn(sum_normalise(t), sum_normalise(p)), (-1,))
        return emd + self.mse_weight * self.mse_scale * weighted_mse(t, p)

    def set_mse_weight(self, value: float) -> None:
        self.mse_weight.assign(float(value))


def _exact_emd_numpy(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(EMD (B,), dual potential of ``p`` (B, 48)) as float32; see :func:`exact_emd` for empty rows."""
    from econt.emd.kernel import NOT_SOLVED, emd_and_target_potentials
    from econt.geometry import ground_distance

    t64 = np.asarray(t, dtype=np.float64)
    p64 = np.asarray(p, dtype=np.float64)
    empty_p = ~(p64.sum(axis=1) > 0)
    p64[empty_p] = 1.0  # an empty reconstruction is scored against the uniform map, with no gradient
    cost, beta = emd_and_target_potentials(t64, p64, ground_distance())
    if np.any(cost == NOT_SOLVED):
        raise RuntimeError("exact_emd loss: the network simplex did not reach the optimum on a batch row")
    beta[empty_p] = 0.0
    empty_t = np.isnan(cost)  # an empty target (never in training data): no loss, no gradient
    cost[empty_t] = 0.0
    beta[empty_t] = 0.0
    return cost.astype(np.float32), beta.astype(np.float32)


@tf.custom_gradient
def _exact_emd_op(t: tf.Tensor, p: tf.Tensor):
    cost, beta = tf.numpy_function(_exact_emd_numpy, [t, p], [tf.float32, tf.float32], stateful=False)
    cost = tf.reshape(cost, tf.shape(t)[:1])
    beta = tf.reshape(beta, tf.shape(t))

    def grad(dy: tf.Tensor):
        return tf.zeros_like(t), dy[:, None] * beta

    return cost, grad


def exact_emd(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Per-sample exact EMD between the sum-normalised maps, differentiable in ``y_pred``.

    Forward: POT's network simplex on each row pair (:func:`econt.emd.kernel.emd_and_target_potentials`,
    one compiled loop per batch). Gradient with respect to the normalised output ``p`` is the
    optimal dual potential ``β`` (centred); TensorFlow carries it through the sum normalisation,
    ``∂/∂y = (β − ⟨β, p⟩) / Σy``. No gradient flows into ``y_true``. An all-zero output is scored
    against the uniform map with zero gradient (the EMD is undefined there; a zero loss would
    reward collapsing to it).
    """
    return _exact_emd_op(sum_normalise(y_true), sum_normalise(y_pred))


LOSS_NAMES = ("mse", "telescope", "emd_cnn", "exact_emd")


def make_loss(name: str, emd_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None,
              mse_weight: float = 0.0, mse_scale: float = 1000.0):
    """The loss called ``name`` (one of :data:`LOSS_NAMES`); ``emd_cnn`` needs ``emd_fn``.

    ``exact_emd`` is :class:`EmdCnnMixedLoss` around :func:`exact_emd` instead of the surrogate
    (same MSE warm-up); ``emd_fn`` is ignored for it.
    """
    if name == "mse":
        return weighted_mse
    if name == "telescope":
        return telescope_loss
    if name == "emd_cnn":
        if emd_fn is None:
            raise ConfigError("loss 'emd_cnn' needs a trained EMD-CNN model: run `econt emd` first "
                              "or set emd_cnn.model_path in the training config.")
        return EmdCnnMixedLoss(emd_fn, mse_weight=mse_weight, mse_scale=mse_scale)
    if name == "exact_emd":
        loss = EmdCnnMixedLoss(_exact_emd_op, mse_weight=mse_weight, mse_scale=mse_scale)
        loss.__name__ = "exact_emd_loss"
        return loss
    raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}.")
