"""The ECON-T trigger-cell floating-point code and its fixed-point decoding.

The HGCROC sends each trigger-cell sum as a 7-bit code: 4-bit exponent ``e`` and 3-bit
mantissa ``m``, after dropping ``drop_bits`` LSBs (1 for low-density modules, 3 for
high-density ones). Decoding follows the ECON-T emulator ``Utils/encode.py: decode``
(called from ``ASICBlocks/MuxFixCalib.py: FloatToFix`` with ``droppedBits = 3 if isHDM
else 1`` and its defaults ``edge=False, quarter=False``)::

    e == 0:  value = m << drop
    e >= 1:  value = ((8 + m) << (e - 1)) << drop
    then, unless shift = max(e-1, 0) + drop is 0, add 1 << (shift - 1)   # bin centre

i.e. the decoded value is the centre of the bin of charges that encode to the code.
This "half-LSB" term is what reproduces the module sums in the emulator's own output
(``shared/econt-vectors/*/testOutput.csv``: 3,564 of 3,564 crossings; without it 6.7%).

Encoding follows ``Utils/encode.py: encode`` with ``roundBits=False`` (truncation): for
``v' = value >> drop``: ``v' < 8`` → (0, v'); else ``e = bitlen(v') - 3`` and
``m`` = the 3 bits after the leading one; ``e > 15`` saturates to code 127.
The same routine with ``drop_bits=0, exp_bits=5, mant_bits=4`` is the 9-bit module-sum
code of the autoencoder output (see :mod:`econt.data.normalise`).
"""
from __future__ import annotations

import numpy as np

from econt.errors import DataError


def _bit_length(v: np.ndarray) -> np.ndarray:
    """Number of significant bits of non-negative int64 values (0 → 0), exact."""
    v = np.asarray(v, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int64)
    x = v.copy()
    for step in (32, 16, 8, 4, 2, 1):
        big = x >= (np.int64(1) << step)
        out += np.where(big, step, 0)
        x = np.where(big, x >> step, x)
    return out + (x > 0)


def encode_float(values: np.ndarray, drop_bits: int = 1, exp_bits: int = 4, mant_bits: int = 3) -> np.ndarray:
    """Integer values ≥ 0 → floating-point codes (truncating, saturating), as the emulator's ``encode``."""
    v = np.asarray(values)
    if v.size and (not np.issubdtype(v.dtype, np.integer)):
        if not np.all(v == np.floor(v)):
            raise DataError("encode_float: values must be integers (CALQ/ADC counts).")
        v = v.astype(np.int64)
    v = v.astype(np.int64)
    if v.size and v.min() < 0:
        raise DataError("encode_float: negative values cannot be encoded (charges are ≥ 0).")
    vd = v >> drop_bits
    nbits = _bit_length(vd)
    e = np.maximum(nbits - mant_bits, 0)
    # e == 0 covers vd < 2**mant_bits (mantissa = vd itself); e >= 1 drops the leading one.
    m = np.where(e > 0, (vd >> np.maximum(e - 1, 0)) & ((1 << mant_bits) - 1), vd)
    code = (e << mant_bits) | m
    saturated = e >= (1 << exp_bits)
    return np.where(saturated, (1 << (exp_bits + mant_bits)) - 1, code).astype(np.int64)


def decode_float(codes: np.ndarray, drop_bits: int = 1, exp_bits: int = 4, mant_bits: int = 3,
                 bin_centre: bool = True) -> np.ndarray:
    """Codes → integer values, as the emulator's ``decode`` (``bin_centre`` = its default ``edge=False``)."""
    c = np.asarray(codes).astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= (1 << (exp_bits + mant_bits))):
        raise DataError(f"decode_float: codes must be in 0..{(1 << (exp_bits + mant_bits)) - 1}.")
    e = c >> mant_bits
    m = c & ((1 << mant_bits) - 1)
    shift = np.maximum(e - 1, 0)
    value = np.where(e > 0, (m + (1 << mant_bits)) << shift, m) << drop_bits
    if bin_centre:
        total = shift + drop_bits
        value = value + np.where(total > 0, np.int64(1) << np.maximum(total - 1, 0), 0)
    return value.astype(np.int64)
