"""Cheap ranking, agreement with the exhaustive scan, protection curve and the protection mask.

Cheap ranking (first-order Taylor estimate from the QKeras/TF model): the gradient of the mean
exact EMD with respect to every encoder weight (exact dual-potential gradient of the EMD at the
output, :func:`econt.train.losses.exact_emd`, through the decoder and, with QKeras's
straight-through quantisers, the encoder), times the value change the upset makes to that
weight: ``ΔEMD_b ≈ ∂EMD/∂w · Δw_b``. One forward and one backward pass for all 12,864 bits.

Mask file (``econt-protection-mask/1``)::

    {"format": "econt-protection-mask/1", "n_bits": 12864, "bit_order": "register map",
     "protected": [b, ...],              # sorted configuration bit indices, b = 8*(block*134+byte)+bit
     "budget_pct": 1.0, ...provenance}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from econt.errors import DataError
from econt.faults.bits import LAYER_IDS, bit_map, flipped_codes
from econt.faults.mask import MASK_FORMAT, load_mask, write_mask  # noqa: F401  (the mask file's one owner)
from econt.model.integer import IntegerWeights



def taylor_estimate(weights: IntegerWeights, codes: np.ndarray, charges: np.ndarray, decoder_model: Any,
                    batch: int = 4096) -> np.ndarray:
    """(n_bits,) first-order estimate of the change of mean exact EMD for each bit's upset."""
    import tensorflow as tf

    from econt.model.qkeras_model import build_encoder, cells_to_input
    from econt.train.losses import exact_emd

    cfg = weights.cfg
    enc = build_encoder(cfg)
    vals = weights.floats()
    enc.get_layer("conv2d").set_weights([vals["conv_w"], vals["conv_b"]])
    enc.get_layer("encoded_vector").set_weights([vals["dense_w"], vals["dense_b"]])
    params = {"conv_w": enc.get_layer("conv2d").kernel, "conv_b": enc.get_layer("conv2d").bias,
              "dense_w": enc.get_layer("encoded_vector").kernel, "dense_b": enc.get_layer("encoded_vector").bias}
    x = cells_to_input(codes.astype(np.float32) / np.float32(2.0 ** cfg.input_frac), cfg)
    grads = {k: np.zeros(v.shape, dtype=np.float64) for k, v in params.items()}
    n = len(codes)
    for s in range(0, n, batch):
        xb = tf.constant(x[s:s + batch])
        tb = tf.constant(np.asarray(charges[s:s + batch], dtype=np.float32))
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(exact_emd(tb, tf.reshape(decoder_model(enc(xb)), (-1, 48)))) / n
        for k, g in zip(params, tape.gradient(loss, list(params.values()))):
            grads[k] += np.asarray(g, dtype=np.float64)
    m = bit_map(cfg)
    est = np.zeros(m.n_bits)
    for name, lid in LAYER_IDS.items():
        sel = np.flatnonzero(m.layer == lid)
        old = getattr(weights, name).reshape(-1)[m.flat[sel]]
        new = flipped_codes(old, m.bit[sel], m.code_bits[sel])
        frac = weights.layer_format(name)[1]
        est[sel] = grads[name].reshape(-1)[m.flat[sel]] * (new - old) / 2.0 ** frac
    return est


def agreement(exhaustive: np.ndarray, cheap: np.ndarray, top_k: tuple[int, ...] = (100, 500, 1000)) -> dict[str, Any]:
    """Spearman rank correlation and top-k overlap (fraction of the exhaustive top k the cheap one finds)."""
    from scipy.stats import spearmanr

    order_x, order_c = np.argsort(-exhaustive), np.argsort(-cheap)
    out: dict[str, Any] = {"spearman": float(spearmanr(exhaustive, cheap).statistic)}
    for k in top_k:
        k = min(k, len(exhaustive))
        out[f"top{k}_overlap"] = len(set(order_x[:k].tolist()) & set(order_c[:k].tolist())) / k
    return out


def protection_curve(loss_pct: np.ndarray, points: int = 101) -> dict[str, list[float]]:
    """Protect the most costly bits first: for each protected fraction, the worst and the mean EMD
    loss (%) from one upset in an unprotected bit (the mean over unprotected bits, losses < 0 as 0)."""
    loss = np.clip(np.sort(np.asarray(loss_pct, dtype=np.float64))[::-1], 0.0, None)
    n = len(loss)
    suffix_sum = np.concatenate([np.cumsum(loss[::-1])[::-1], [0.0]])
    fracs, worst, mean = [], [], []
    for k in np.unique(np.linspace(0, n, points).round().astype(int)):
        fracs.append(k / n)
        worst.append(float(loss[k]) if k < n else 0.0)
        mean.append(float(suffix_sum[k] / (n - k)) if k < n else 0.0)
    return {"fraction_protected": fracs, "worst_loss_pct": worst, "mean_loss_pct": mean}


def select_protected(loss_pct: np.ndarray, budget_pct: float) -> np.ndarray:
    """Bits whose single upset costs more than ``budget_pct`` % of the mean EMD (sorted indices)."""
    return np.flatnonzero(np.asarray(loss_pct) > budget_pct)


