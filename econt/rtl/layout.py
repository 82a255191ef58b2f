"""Where each weight bit sits in the configuration register image.

The RTL register port is addressed exactly like the ECON-T I2C image (block, byte),
so bytes exported for any detector region load unchanged. The generator needs, for
every configuration bit, which parameter bit it carries. ``ConfigLayout`` holds
that permutation; :func:`layout_from_export` derives it from
``econt.export.i2c_bytes`` itself (by writing probe weight sets and seeing where
their bits land), so the hardware can never disagree with the exporter.

Parameter order (the flat parameter index ``p``): conv kernel (k, k, 1, F) in C
order, conv bias (F,), dense kernel (K, L) in C order, dense bias (L,).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from econt.errors import ConfigError
from econt.rtl.arch import ArchSpec

I2C_BLOCKS = 12
I2C_BLOCK_BITS = 1072  # 134 bytes per encoder block in the ECON-T register map


@dataclass(frozen=True)
class ConfigLayout:
    """``param_bit[i]`` = parameter-bit index (``p * weight_bits + b``) stored in image bit ``i``.

    Image bit ``i`` is bit ``i % 8`` of byte ``(i % block_bits) // 8`` of block ``i // block_bits``.
    """

    param_bit: tuple[int, ...]
    blocks: int
    block_bits: int

    @property
    def bytes_per_block(self) -> int:
        return -(-self.block_bits // 8)

    @property
    def stored_bytes(self) -> int:
        """Bytes of the address map, in address order (block-major), that hold configuration bits:
        the image is packed from bit 0, so every byte up to the one of the last bit, and none after.
        A model smaller than the ECON-T's 12 blocks needs registers for these bytes only."""
        n = len(self.param_bit)
        if n == 0:
            return 0
        last = n - 1
        return (last // self.block_bits) * self.bytes_per_block + (last % self.block_bits) // 8 + 1

    def image_to_params(self, blocks: Sequence[Sequence[int]], spec: ArchSpec) -> np.ndarray:
        """Register image (blocks of bytes) → flat signed parameter array (n_params,)."""
        bits = image_bits(blocks, self.block_bits)
        pbits = np.zeros(spec.config_bits, dtype=np.int64)
        pbits[np.asarray(self.param_bit)] = bits[: len(self.param_bit)]
        raw = pbits.reshape(spec.n_params, spec.weight_bits) << np.arange(spec.weight_bits)
        raw = raw.sum(axis=1)
        return np.where(raw >= 1 << (spec.weight_bits - 1), raw - (1 << spec.weight_bits), raw)

    def params_to_image(self, params: np.ndarray, spec: ArchSpec) -> list[list[int]]:
        """Flat signed parameter array → register image (list of blocks of byte values)."""
        params = np.asarray(params, dtype=np.int64)
        lo, hi = -(1 << (spec.weight_bits - 1)), (1 << (spec.weight_bits - 1)) - 1
        if params.shape != (spec.n_params,) or params.min() < lo or params.max() > hi:
            raise ConfigError(f"parameters must be {spec.n_params} integers in [{lo}, {hi}]")
        raw = params & ((1 << spec.weight_bits) - 1)
        pbits = ((raw[:, None] >> np.arange(spec.weight_bits)) & 1).reshape(-1)
        bits = np.zeros(self.blocks * self.block_bits, dtype=np.int64)
        bits[: len(self.param_bit)] = pbits[np.asarray(self.param_bit)]
        out = []
        for b in range(self.blocks):
            blk = bits[b * self.block_bits:(b + 1) * self.block_bits]
            blk = np.concatenate([blk, np.zeros(self.bytes_per_block * 8 - len(blk), dtype=np.int64)])
            out.append([int(v) for v in (blk.reshape(-1, 8) << np.arange(8)).sum(axis=1)])
        return out


def image_bits(blocks: Sequence[Sequence[int]], block_bits: int) -> np.ndarray:
    """Register image → flat bit array (block-major, byte-major, LSB first)."""
    out = []
    for blk in blocks:
        arr = np.asarray(list(blk), dtype=np.int64)
        bits = ((arr[:, None] >> np.arange(8)) & 1).reshape(-1)
        out.append(bits[:block_bits])
    return np.concatenate(out)


def flatten_params(conv_w: np.ndarray, conv_b: np.ndarray, dense_w: np.ndarray, dense_b: np.ndarray) -> np.ndarray:
    """Integer weights → the flat parameter vector in the documented order."""
    return np.concatenate([np.asarray(a, dtype=np.int64).reshape(-1) for a in (conv_w, conv_b, dense_w, dense_b)])


def split_params(params: np.ndarray, spec: ArchSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`flatten_params`."""
    k, f, n, l_ = spec.kernel, spec.conv_filters, spec.dense_inputs, spec.latent
    i = 0
    conv_w = params[i:i + k * k * f].reshape(k, k, 1, f); i += k * k * f
    conv_b = params[i:i + f]; i += f
    dense_w = params[i:i + n * l_].reshape(n, l_); i += n * l_
    dense_b = params[i:i + l_]
    return conv_w, conv_b, dense_w, dense_b


def sequential_layout(spec: ArchSpec) -> ConfigLayout:
    """The ECON-T emulator's convention: parameter ``p`` in image bits [6p, 6p+6), block 0 first."""
    blocks = -(-spec.config_bits // I2C_BLOCK_BITS)  # 12 for the ECON-T encoder
    return ConfigLayout(tuple(range(spec.config_bits)), blocks, I2C_BLOCK_BITS)


def probe_layout(to_image: Callable[[np.ndarray], Sequence[Sequence[int]]], spec: ArchSpec,
                 block_bits: int = I2C_BLOCK_BITS) -> ConfigLayout:
    """Derive the layout of any bit-permuting exporter ``to_image(flat_params) -> blocks``.

    Probe (j, b) sets bit ``b`` in every parameter whose index has bit ``j`` set; the image
    bits that light up spell, over all probes, the parameter index and bit each image bit
    carries. Raises if the exporter is not a bit permutation.
    """
    n, wb = spec.n_params, spec.weight_bits
    idx_bits = max(1, (n - 1).bit_length())
    sign = 1 << (wb - 1)
    zero_img = image_bits(to_image(np.zeros(n, dtype=np.int64)), block_bits)
    if zero_img.any():
        raise ConfigError("exporter maps all-zero weights to a non-zero image; cannot derive the register layout")
    # all parameters set to one bit value: image bits set = carriers of that weight bit
    weight_bit_of = np.full(len(zero_img), -1, dtype=np.int64)
    for b in range(wb):
        val = -sign if b == wb - 1 else 1 << b
        img = image_bits(to_image(np.full(n, val, dtype=np.int64)), block_bits)
        if (weight_bit_of[img == 1] != -1).any():
            raise ConfigError("exporter is not a bit permutation (two weight bits share an image bit)")
        weight_bit_of[img == 1] = b
    param_of = np.zeros(len(zero_img), dtype=np.int64)
    index = np.arange(n)
    for j in range(idx_bits):
        sel = ((index >> j) & 1).astype(bool)
        for b in range(wb):
            val = -sign if b == wb - 1 else 1 << b
            img = image_bits(to_image(np.where(sel, val, 0)), block_bits)
            hit = (img == 1) & (weight_bit_of == b)
            param_of[hit] |= 1 << j
    used = np.nonzero(weight_bit_of >= 0)[0]
    if len(used) != spec.config_bits:
        raise ConfigError(f"exporter image carries {len(used)} weight bits, expected {spec.config_bits}")
    if used.max() != len(used) - 1:
        raise ConfigError("exporter leaves gaps inside the weight image; the register file expects them packed")
    param_bit = param_of[used] * wb + weight_bit_of[used]
    if len(set(param_bit.tolist())) != spec.config_bits:
        raise ConfigError("exporter is not a bit permutation (a parameter bit appears twice)")
    blocks = len(zero_img) // block_bits
    return ConfigLayout(tuple(int(v) for v in param_bit), blocks, block_bits)


def layout_from_export(spec: ArchSpec, encoder_cfg: Any) -> ConfigLayout:
    """Layout of ``econt.export.i2c_bytes`` (the real register map)."""
    from econt.export import i2c_bytes  # model stage public API
    from econt.model.integer import IntegerWeights

    def to_image(flat: np.ndarray) -> list[list[int]]:
        cw, cb, dw, db = split_params(flat, spec)
        w = IntegerWeights(encoder_cfg, cw, cb, dw, db, region="probe")
        return [list(blk) for blk in i2c_bytes(w)]

    return probe_layout(to_image, spec)
