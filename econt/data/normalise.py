"""Autoencoder input normalisation exactly as the ECON-T hardware does it.

What the chip does (sources below):

1. ``modsum = sum of the 48 CALQ values`` (after mux, float-to-fixed and calibration).
2. ``msb = floor(log2(modsum))`` — the position of the leading one (0 for modsum 0 or 1).
3. Each cell is shifted so the module sum's leading one lands on bit ``B-1`` of a
   ``B = bits_per_input = 8``-bit input: ``shift = msb - (B - 1)``;
   ``code = CALQ >> shift`` if ``shift > 0`` (truncation, no rounding) else
   ``CALQ << -shift``. Every cell is ≤ modsum < 2**(msb+1), so codes are 0..2**B - 1.
4. The network sees ``code / 2**(B-1)`` = ``CALQ / 2**msb`` truncated to ``B-1 = 7``
   fractional bits, in [0, 2): the float view used for training is
   ``x / 2**floor(log2(sum x))``, quantised down to 1/128.
5. The module sum goes out beside the 16 latent values as a 9-bit floating-point code
   (5-bit exponent, 4-bit mantissa, no dropped bits, truncating, saturating at 511);
   the decoder side multiplies the decoded outputs by ``2**msb`` (from the decoded sum)
   to restore the energy.

Sources: CMSSW ``L1Trigger/L1THGCal`` ``AEinputUtil.h`` (``fillInputs``:
``shift = msb(modSum_) - bitsPerInput_ + 1``, ``CALQ >> shift //truncate``, inputs are
"8 bit integers", ``getInputNorm() = 1 << (bitsPerInput_-1)``) and the earlier
``HGCalConcentratorAutoEncoderImpl.cc`` ("bit shift normalization like will be
implemented in ECON ... normalizes to the MSB value of the module sum"); the ECON-T
emulator (cmantill/ECONT_Emulator ``ASICBlocks/Autoencoder.py``) runs a compiled HLS
``converter.x`` whose source is not public; its commented-out Python reference encodes
the sum with ``encode(sum, dropBits=0, expBits=5, mantBits=4)``. That 9-bit sum code was
checked bit-exactly against the emulator's output words for all 3,564 crossings of
``shared/econt-vectors/testInput.csv`` (see ``tests/test_data_eportrx.py``). The 8-bit
truncating input is CMSSW's hardware-emulation setting; the per-cell codes are not in the
emulator output, so the conformance stage checks them through the latent values.
"""
from __future__ import annotations

import numpy as np

from econt.data.floatcode import _bit_length, decode_float, encode_float
from econt.errors import DataError

#: Bits of each autoencoder input code (CMSSW ``nBitsPerInput`` = 8).
BITS_PER_INPUT = 8
#: Fractional bits of the float view: code / 2**FRAC_BITS is CALQ / 2**msb.
FRAC_BITS = BITS_PER_INPUT - 1
#: Module-sum code: 5-bit exponent, 4-bit mantissa = 9 bits.
MODSUM_EXP_BITS = 5
MODSUM_MANT_BITS = 4
MODSUM_BITS = MODSUM_EXP_BITS + MODSUM_MANT_BITS


def _as_calq(calq: np.ndarray) -> np.ndarray:
    q = np.asarray(calq)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != 48:
        raise DataError(f"normalise_hw: expected CALQ of shape (N, 48), got {np.asarray(calq).shape}.")
    if not np.issubdtype(q.dtype, np.integer):
        if not np.all(np.isfinite(q)) or not np.all(q == np.floor(q)):
            raise DataError("normalise_hw: CALQ values must be integers (hardware units); "
                            "use normalise_float for float charges.")
        q = q.astype(np.int64)
    q = q.astype(np.int64)
    if q.size and q.min() < 0:
        raise DataError("normalise_hw: negative CALQ values; charges are unsigned in the ECON-T.")
    return q


def module_msb(modsum: np.ndarray) -> np.ndarray:
    """floor(log2(modsum)) for modsum ≥ 1, 0 for modsum 0 (exact integer arithmetic)."""
    return np.maximum(_bit_length(np.asarray(modsum, dtype=np.int64)) - 1, 0)


def normalise_hw(calq_int: np.ndarray, bits_per_input: int = BITS_PER_INPUT
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer normalisation of the ECON-T autoencoder block.

    Returns ``(codes, shift, modsum)``: ``codes`` int64 (N, 48) in 0..2**bits_per_input-1,
    ``shift`` int64 (N,) = msb(modsum) - (bits_per_input - 1) (positive = right shift),
    ``modsum`` int64 (N,) the raw sum of the 48 CALQ values.
    """
    q = _as_calq(calq_int)
    modsum = q.sum(axis=1)
    shift = module_msb(modsum) - (bits_per_input - 1)
    right = np.maximum(shift, 0)[:, None]
    left = np.maximum(-shift, 0)[:, None]
    codes = (q >> right) << left
    return codes, shift, modsum


def codes_to_float(codes: np.ndarray, bits_per_input: int = BITS_PER_INPUT) -> np.ndarray:
    """The network's view of the input codes: ``codes / 2**(bits_per_input-1)`` (float64, [0, 2))."""
    return np.asarray(codes, dtype=np.float64) / float(1 << (bits_per_input - 1))


def normalise_float(charges: np.ndarray, bits_per_input: int | None = BITS_PER_INPUT
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Training view: ``x / 2**floor(log2(sum x))`` truncated to ``bits_per_input-1`` fractional bits.

    For integer CALQ input this equals ``codes_to_float(normalise_hw(x)[0])`` exactly.
    ``bits_per_input=None`` keeps full precision. Returns ``(normalised, scale)`` with
    ``scale = 2**msb`` per sample (1 for empty modules) so ``normalised * scale`` restores energy.
    """
    x = np.asarray(charges, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 48:
        raise DataError(f"normalise_float: expected charges of shape (N, 48), got {x.shape}.")
    s = x.sum(axis=1)
    with np.errstate(divide="ignore"):
        msb = np.where(s >= 1.0, np.floor(np.log2(np.where(s > 0, s, 1.0))), 0.0)
    # log2 of an exact power of two can land a hair low in floating point: fix up.
    msb = np.where(2.0 ** (msb + 1) <= s, msb + 1, msb)
    msb = np.where((2.0 ** msb > s) & (s >= 1.0), msb - 1, msb)
    scale = 2.0 ** msb
    y = x / scale[:, None]
    if bits_per_input is not None:
        f = float(1 << (bits_per_input - 1))
        y = np.floor(y * f) / f
    return y, scale


def encode_module_sum(modsum: np.ndarray) -> np.ndarray:
    """9-bit module-sum code sent by the chip (5-bit exponent, 4-bit mantissa, truncating)."""
    return encode_float(np.asarray(modsum, dtype=np.int64), drop_bits=0,
                        exp_bits=MODSUM_EXP_BITS, mant_bits=MODSUM_MANT_BITS)


def decode_module_sum(code: np.ndarray) -> np.ndarray:
    """Lower edge of the module-sum bin of a 9-bit code (the value truncation maps to it)."""
    return decode_float(np.asarray(code, dtype=np.int64), drop_bits=0, exp_bits=MODSUM_EXP_BITS,
                        mant_bits=MODSUM_MANT_BITS, bin_centre=False)


def msb_from_module_sum_code(code: np.ndarray) -> np.ndarray:
    """floor(log2(modsum)) recovered from the 9-bit code (exact: truncation keeps the leading one)."""
    return module_msb(decode_module_sum(code))
