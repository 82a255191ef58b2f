"""Configuration bit ``b`` ↔ (layer, weight, bit) of the encoder, in register-map order.

The bit index is the bit of the ECON-T I2C image (:mod:`econt.export.i2c`, dense kernel in the
chip's output-major order): ``b = 8·(block·bytes_per_block + byte) + bit``, i.e. bit ``b`` of the
packed parameter string ``X``, so parameter ``p`` (register order) holds bits ``[6p, 6p+6)``.
A persistent upset XORs that bit of the stored two's-complement code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from econt.export.i2c import _layout, total_bits
from econt.model.config import EncoderConfig
from econt.model.integer import IntegerWeights

LAYER_IDS = {"conv_w": 0, "conv_b": 1, "dense_w": 2, "dense_b": 3}


@dataclass(frozen=True)
class BitMap:
    """One row per configuration bit (register-map order)."""

    layer: np.ndarray        # (n_bits,) layer id (LAYER_IDS)
    flat: np.ndarray         # (n_bits,) flat C-order index into the layer's IntegerWeights array
    bit: np.ndarray          # (n_bits,) bit position inside the code (0 = LSB, bits-1 = sign)
    code_bits: np.ndarray    # (n_bits,) width of the code

    @property
    def n_bits(self) -> int:
        return len(self.layer)


def bit_map(cfg: EncoderConfig) -> BitMap:
    """The map of :func:`econt.export.i2c.pack_weights` with ``dense_order="chip"``."""
    layer, flat, bit, width = [], [], [], []
    for name, shape, bits in _layout(cfg):
        n = int(np.prod(shape))
        k = np.arange(n)
        if name == "dense_w":
            # register stream index k = o·flat_dim + i holds dense_w[i, o] (flat i·latent + o)
            o, i = np.divmod(k, shape[0])
            k = i * shape[1] + o
        layer.append(np.full(n * bits, LAYER_IDS[name]))
        flat.append(np.repeat(k, bits))
        bit.append(np.tile(np.arange(bits), n))
        width.append(np.full(n * bits, bits))
    out = BitMap(*(np.concatenate(a).astype(np.int64) for a in (layer, flat, bit, width)))
    assert out.n_bits == total_bits(cfg)
    return out


def flipped_codes(codes: np.ndarray, bit: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The signed code left after XOR of ``bit`` in the ``bits``-wide two's complement ``codes``."""
    codes, bit, bits = (np.asarray(a, dtype=np.int64) for a in (codes, bit, bits))
    raw = (codes & ((1 << bits) - 1)) ^ (1 << bit)
    return np.where(raw >> (bits - 1) & 1, raw - (1 << bits), raw)


def flip_bit(weights: IntegerWeights, b: int) -> IntegerWeights:
    """A copy of ``weights`` with configuration bit ``b`` upset (for checks; the scan is vectorised)."""
    m = bit_map(weights.cfg)
    name = [k for k, v in LAYER_IDS.items() if v == m.layer[b]][0]
    arr = getattr(weights, name).copy()
    view = arr.reshape(-1)
    view[m.flat[b]] = flipped_codes(view[m.flat[b]], m.bit[b], m.code_bits[b])
    return weights.replace(**{name: arr})
