"""Exhaustive single-upset scan: every configuration bit flipped in the integer model.

A persistent upset of one bit changes one weight code. Instead of re-running the encoder
12,864 times, the scan propagates only the change (exact integer arithmetic, either of
:class:`econt.model.integer.IntegerEncoder`'s arithmetics):

* conv kernel (tap t, filter f): the pre-activation of filter f changes by
  ``P(x_t, w') − P(x_t, w)`` at its 16 positions (``P`` = the product, truncated first in the
  chip arithmetic); its activations are re-quantised; where they moved, the 16 latents are
  recomputed from the changed activations only. Conv bias: the same with a constant change.
* dense kernel (input i, latent o): latent o's accumulator changes by ``P(a_i, w') − P(a_i, w)``;
  all 128 inputs × one bit position are done in one array operation. Dense bias: constant.

Only the events whose latent vector changed are decoded and scored; identical (event, latent
vector) pairs (many bits of one latent move it to the same value) are decoded and scored once.
The result per bit is the exact change of the mean exact EMD over the evaluation set — what
re-running the whole chain with the flipped weights gives (``tests/test_faults.py`` checks it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from tqdm import tqdm

from econt.faults.bits import LAYER_IDS, bit_map, flipped_codes
from econt.model.integer import IntegerEncoder, IntegerWeights, shift_round

#: decoder: (M, latent_dim) latent values (code / 2**latent_frac) → (M, 48) decoded cells
Decoder = Callable[[np.ndarray], np.ndarray]
#: latent vectors decoded and scored per chunk (bounds memory)
EVAL_CHUNK = 100_000


@dataclass
class FlipEffects:
    """Which events each bit's upset changes, and to which latent vector.

    ``pair_bit[k]``, ``pair_event[k]``: bit and event of changed pair k; ``pair_row[k]``: its row
    in ``latents`` (unique (event, latent vector) table, event ``latent_event``).
    """

    n_bits: int
    n_events: int
    baseline_latent: np.ndarray     # (N, L)
    latents: np.ndarray             # (M, L)
    latent_event: np.ndarray        # (M,)
    pair_bit: np.ndarray
    pair_event: np.ndarray
    pair_row: np.ndarray

    def events_changed(self) -> np.ndarray:
        """(n_bits,) number of evaluation events whose latent vector the upset changes."""
        return np.bincount(self.pair_bit, minlength=self.n_bits)


def _inverse_map(weights: IntegerWeights) -> dict[str, np.ndarray]:
    """layer → (n_codes, code_bits) array of configuration bit indices."""
    m = bit_map(weights.cfg)
    out = {}
    for name, lid in LAYER_IDS.items():
        n = getattr(weights, name).size
        bits = weights.layer_format(name)[0]
        inv = np.full((n, bits), -1, dtype=np.int64)
        sel = np.flatnonzero(m.layer == lid)
        inv[m.flat[sel], m.bit[sel]] = sel
        out[name] = inv
    return out


def flip_effects(weights: IntegerWeights, codes: np.ndarray, arithmetic: str | None = None,
                 progress: bool = False) -> FlipEffects:
    """Latent vectors after each single-bit upset, for (N, 48) input codes."""
    cfg = weights.cfg
    enc = IntegerEncoder(weights, arithmetic=arithmetic or cfg.arithmetic)
    acc, rnd = enc.acc, enc.rounding
    cps, dps = acc["conv_product_shift"], acc["dense_product_shift"]
    act_hi, lat_hi = (1 << cfg.conv_act_bits) - 1, (1 << cfg.latent_bits) - 1

    def q(total: np.ndarray, shift: int, hi: int) -> np.ndarray:
        return np.clip(shift_round(total, shift, rnd), 0, hi)

    n = len(codes)
    taps = enc.conv_taps(codes).reshape(n, -1, cfg.conv_kernel ** 2 * cfg.in_channels)    # (N, P, T)
    kernel = weights.conv_w.reshape(-1, cfg.conv_filters)                                  # (T, F)
    conv_total = ((taps[..., :, None] * kernel) >> cps).sum(axis=-2) + (weights.conv_b << acc["conv_bias_shift"])
    act = q(conv_total, acc["conv_shift"], act_hi)                                         # (N, P, F)
    flat = act.reshape(n, -1)
    wd = weights.dense_w                                                                   # (K, L)
    dense_total = ((flat[:, :, None] * wd) >> dps).sum(axis=1) + (weights.dense_b << acc["dense_bias_shift"])
    z = q(dense_total, acc["dense_shift"], lat_hi)
    assert np.array_equal(z, enc.encode_codes(codes)), "fault scan baseline differs from the integer model"
    n_pos, n_f, n_lat = act.shape[1], cfg.conv_filters, cfg.latent_dim
    inv = _inverse_map(weights)

    full_rows: list[np.ndarray] = []      # conv upsets: (event, z'...) rows
    full_bits: list[np.ndarray] = []
    dense_keys: list[np.ndarray] = []     # dense upsets: (event, latent, value) packed keys
    dense_bits: list[np.ndarray] = []

    def conv_change(f: int, dtotal: np.ndarray, b: int) -> None:
        new_act = q(conv_total[:, :, f] + dtotal, acc["conv_shift"], act_hi)             # (N, P)
        ev = np.flatnonzero((new_act != act[:, :, f]).any(axis=1))
        if ev.size == 0:
            return
        rows = wd[np.arange(n_pos) * n_f + f]                                            # (P, L)
        old_a, new_a = act[ev, :, f], new_act[ev]
        d = (((new_a[:, :, None] * rows) >> dps) - ((old_a[:, :, None] * rows) >> dps)).sum(axis=1)
        z_new = q(dense_total[ev] + d, acc["dense_shift"], lat_hi)
        moved = (z_new != z[ev]).any(axis=1)
        if moved.any():
            full_rows.append(np.column_stack([ev[moved], z_new[moved]]))
            full_bits.append(np.full(int(moved.sum()), b))

    bar = tqdm(total=sum(a.size for a in inv.values()), desc="fault scan", unit="bit", disable=not progress)
    # conv kernel and bias
    t_codes = kernel.reshape(-1)
    for flat_idx in range(t_codes.size):
        t, f = divmod(flat_idx, n_f)
        for k in range(inv["conv_w"].shape[1]):
            w_new = int(flipped_codes(t_codes[flat_idx], k, cfg.weight_bits))
            x = taps[:, :, t]
            conv_change(f, ((x * w_new) >> cps) - ((x * int(t_codes[flat_idx])) >> cps), int(inv["conv_w"][flat_idx, k]))
            bar.update()
    for f in range(n_f):
        for k in range(inv["conv_b"].shape[1]):
            d = (int(flipped_codes(weights.conv_b[f], k, cfg.bias_bits)) - int(weights.conv_b[f])) << acc["conv_bias_shift"]
            conv_change(f, np.full((n, n_pos), d, dtype=np.int64), int(inv["conv_b"][f, k]))
            bar.update()
    # dense kernel: one latent, one bit position, all inputs at once
    ev_all = np.arange(n)
    for o in range(n_lat):
        w = wd[:, o]
        for k in range(inv["dense_w"].shape[1]):
            w_new = flipped_codes(w, k, cfg.weight_bits)
            d = ((flat * w_new) >> dps) - ((flat * w) >> dps)                             # (N, K)
            z_new = q(dense_total[:, o:o + 1] + d, acc["dense_shift"], lat_hi)
            ev, i = np.nonzero(z_new != z[:, o:o + 1])
            dense_keys.append((ev * n_lat + o) * (lat_hi + 1) + z_new[ev, i])
            dense_bits.append(inv["dense_w"][i * n_lat + o, k])
            bar.update(len(w))
        for k in range(inv["dense_b"].shape[1]):
            d = (int(flipped_codes(weights.dense_b[o], k, cfg.bias_bits)) - int(weights.dense_b[o])) << acc["dense_bias_shift"]
            z_new = q(dense_total[:, o] + d, acc["dense_shift"], lat_hi)
            ev = np.flatnonzero(z_new != z[:, o])
            dense_keys.append((ev * n_lat + o) * (lat_hi + 1) + z_new[ev])
            dense_bits.append(np.full(ev.size, inv["dense_b"][o, k]))
            bar.update()
    bar.close()

    # unique (event, latent vector) rows
    parts_lat, parts_ev, pair_bit, pair_event, pair_row = [], [], [], [], []
    offset = 0
    if dense_keys:
        keys = np.concatenate(dense_keys)
        ukeys, inverse = np.unique(keys, return_inverse=True)
        ev, rest = np.divmod(ukeys, n_lat * (lat_hi + 1))
        o, val = np.divmod(rest, lat_hi + 1)
        lat = z[ev].copy()
        lat[np.arange(len(ukeys)), o] = val
        parts_lat.append(lat)
        parts_ev.append(ev)
        pair_bit.append(np.concatenate(dense_bits))
        pair_event.append(keys // (n_lat * (lat_hi + 1)))
        pair_row.append(inverse.reshape(-1))
        offset = len(ukeys)
    if full_rows:
        rows = np.concatenate(full_rows)
        urows, inverse = np.unique(rows, axis=0, return_inverse=True)
        parts_lat.append(urows[:, 1:])
        parts_ev.append(urows[:, 0])
        pair_bit.append(np.concatenate(full_bits))
        pair_event.append(rows[:, 0])
        pair_row.append(inverse.reshape(-1) + offset)
    cat = (lambda a, shape: np.concatenate(a) if a else np.zeros(shape, dtype=np.int64))
    return FlipEffects(n_bits=bit_map(cfg).n_bits, n_events=n, baseline_latent=z,
                       latents=cat(parts_lat, (0, n_lat)), latent_event=cat(parts_ev, (0,)),
                       pair_bit=cat(pair_bit, (0,)), pair_event=cat(pair_event, (0,)), pair_row=cat(pair_row, (0,)))


def score(inputs: np.ndarray, decoded: np.ndarray, workers: int = 2) -> np.ndarray:
    """Exact EMD per pair. An all-zero reconstruction (the EMD is undefined) is scored against the
    uniform map, as the exact-EMD training loss does: it carries no shape, and a NaN would drop
    the worst upsets from the mean."""
    from econt.train.evaluate import emd_per_sample

    decoded = np.clip(np.asarray(decoded, dtype=np.float64), 0.0, None)
    empty = ~(decoded.sum(axis=1) > 0)
    decoded[empty] = 1.0
    return emd_per_sample(inputs, decoded, workers=workers)


@dataclass
class ScanResult:
    """Exhaustive scan of one weight set."""

    mean_emd: float                  # baseline mean exact EMD over the evaluation set
    delta_mean_emd: np.ndarray       # (n_bits,) change of the mean exact EMD per upset bit
    events_changed: np.ndarray       # (n_bits,) evaluation events whose latents the upset changes
    n_events: int
    latents_scored: int              # unique (event, latent vector) pairs decoded and scored
    baseline_emd: np.ndarray         # (N,)

    @property
    def loss_pct(self) -> np.ndarray:
        """Per-bit EMD loss in % of the baseline mean EMD (negative: the upset happens to help)."""
        return 100.0 * self.delta_mean_emd / self.mean_emd


def exhaustive_scan(weights: IntegerWeights, codes: np.ndarray, charges: np.ndarray, decoder: Decoder,
                    arithmetic: str | None = None, workers: int = 2, progress: bool = False) -> ScanResult:
    """Change of the mean exact EMD (input ``charges`` vs decoded) for every single-bit upset."""
    fx = flip_effects(weights, codes, arithmetic, progress=progress)
    frac = 2.0 ** weights.cfg.latent_frac
    base = score(charges, decoder(fx.baseline_latent / frac), workers)
    new = np.empty(len(fx.latents))
    starts = range(0, len(fx.latents), EVAL_CHUNK)
    for s in tqdm(starts, desc="decode + EMD", unit="chunk", disable=not progress):
        sl = slice(s, s + EVAL_CHUNK)
        new[sl] = score(charges[fx.latent_event[sl]], decoder(fx.latents[sl] / frac), workers)
    gain = new[fx.pair_row] - base[fx.pair_event]
    delta = np.bincount(fx.pair_bit, weights=gain, minlength=fx.n_bits) / fx.n_events
    return ScanResult(mean_emd=float(base.mean()), delta_mean_emd=delta, events_changed=fx.events_changed(),
                      n_events=fx.n_events, latents_scored=len(fx.latents), baseline_emd=base)
