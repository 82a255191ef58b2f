"""Fault sensitivity: bit map, exhaustive scan against re-running the chain, mask and curve."""
from __future__ import annotations

import json

import numpy as np
import pytest

from econt.export.i2c import pack_weights, unpack_weights
from econt.faults.bits import bit_map, flip_bit
from econt.faults.scan import exhaustive_scan, flip_effects, score
from econt.model.config import load_encoder_config
from econt.model.integer import IntegerEncoder, random_integer_weights, stress_codes


def _small_weights(cfg, seed=3):
    # random codes, scaled down so the activations do not all saturate
    w = random_integer_weights(cfg, seed)
    return w.replace(conv_w=w.conv_w // 4, dense_w=w.dense_w // 4, conv_b=w.conv_b // 4, dense_b=w.dense_b // 8)


def _decoder(cfg, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.uniform(0, 1, size=(cfg.latent_dim, 48))
    return lambda z: np.maximum(z @ m - 0.3, 0.0)


def test_bit_map_is_the_i2c_image():
    cfg = load_encoder_config()
    w = random_integer_weights(cfg, 1)
    x = pack_weights(w)
    assert bit_map(cfg).n_bits == 12_864
    for b in (0, 5, 6, 431, 432, 479, 480, 1071, 1072, 7000, 12_767, 12_768, 12_863):
        assert unpack_weights(x ^ (1 << b), cfg, region=w.region) == flip_bit(w, b)


@pytest.mark.parametrize("arithmetic", ["qkeras", "chip"])
def test_flip_effects_match_rerunning_the_encoder(arithmetic):
    cfg = load_encoder_config()
    w = _small_weights(cfg)
    codes = stress_codes(60, cfg, seed=2)
    fx = flip_effects(w, codes, arithmetic)
    rng = np.random.default_rng(0)
    bits = np.concatenate([[0, 5, 431, 433, 479, 480, 12_863], rng.integers(0, 12_864, 40)])
    for b in bits:
        want = IntegerEncoder(flip_bit(w, int(b)), arithmetic=arithmetic).encode_codes(codes)
        got = fx.baseline_latent.copy()
        sel = fx.pair_bit == b
        got[fx.pair_event[sel]] = fx.latents[fx.pair_row[sel]]
        assert np.array_equal(got, want), f"bit {b}"
        assert fx.events_changed()[b] == int((want != fx.baseline_latent).any(axis=1).sum())


def test_exhaustive_scan_equals_the_mean_emd_change():
    cfg = load_encoder_config()
    w = _small_weights(cfg)
    codes = stress_codes(120, cfg, seed=5)
    codes = codes[codes.sum(axis=1) > 0]
    charges = codes.astype(float)
    dec = _decoder(cfg)
    res = exhaustive_scan(w, codes, charges, dec, arithmetic="qkeras", workers=1)
    frac = 2.0 ** cfg.latent_frac
    base = score(charges, dec(IntegerEncoder(w).encode_codes(codes) / frac), 1).mean()
    assert res.mean_emd == pytest.approx(base)
    for b in (3, 450, 480, 6000, 12_860):
        z = IntegerEncoder(flip_bit(w, b)).encode_codes(codes)
        assert res.delta_mean_emd[b] == pytest.approx(score(charges, dec(z / frac), 1).mean() - base, abs=1e-12)
