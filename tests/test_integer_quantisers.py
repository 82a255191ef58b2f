"""Integer quantisers vs QKeras quantized_bits / quantized_relu on edge values (ties, saturation, negatives)."""
from __future__ import annotations

import numpy as np
import pytest

import econt  # noqa: F401
from econt.model.integer import quantise_to_codes, shift_round


def _qk(q, x: np.ndarray) -> np.ndarray:
    return np.asarray(q(x.astype(np.float32)), dtype=np.float64)


def test_weight_quantiser_matches_qkeras_on_edges() -> None:
    from qkeras import quantized_bits

    k = np.arange(-40, 40)
    x = np.concatenate([k / 32, (k + 0.5) / 32, (k - 0.5) / 32, (k + 0.49) / 32,   # grid, exact ties, near ties
                        [-1.0, 31 / 32, 1.0, -1 - 1 / 64, 63 / 64, 1.5, -1.5, 0.0, -0.0, 1 / 64, -1 / 64]])
    codes = quantise_to_codes(x, 6, 0, True)
    assert np.array_equal(codes / 32, _qk(quantized_bits(6, 0, keep_negative=1, alpha=1), x))
    assert codes.min() == -32 and codes.max() == 31          # saturation, never wrap
    # ties go to even codes: 0.5/32 → 0, 1.5/32 → 2, -0.5/32 → 0, -1.5/32 → -2
    assert quantise_to_codes(np.array([0.5, 1.5, 2.5, -0.5, -1.5]) / 32, 6, 0, True).tolist() == [0, 2, 2, 0, -2]


def test_floor_mode_is_truncation() -> None:
    x = np.array([0.99, -0.01, 1.5, -1.5, 44.7, -40.0]) / 32
    assert quantise_to_codes(x, 6, 0, True, rounding="floor").tolist() == [0, -1, 1, -2, 31, -32]


def test_unsigned_input_quantiser_matches_qkeras() -> None:
    from qkeras import quantized_bits

    k = np.arange(-3, 260)
    x = np.concatenate([k / 128, (k + 0.5) / 128, [2.0, 1.999, 5.0, -0.1]])
    codes = quantise_to_codes(x, 8, 1, False)
    assert np.array_equal(codes / 128, _qk(quantized_bits(8, 1, keep_negative=0, alpha=1), x))
    assert codes.min() == 0 and codes.max() == 255


@pytest.mark.parametrize("bits,integer,shift", [(8, 1, 5), (9, 1, 4)])
def test_relu_requantisation_matches_qkeras(bits: int, integer: int, shift: int) -> None:
    """Accumulator (12 fractional bits) → activation code, exactly as quantized_relu(bits, integer)."""
    from qkeras import quantized_relu

    rng = np.random.default_rng(0)
    top = (1 << bits) << shift
    acc = np.concatenate([
        np.arange(-70, 70) << (shift - 1),                       # every tie around zero, both parities
        (np.arange(0, (1 << bits) + 8) << shift) + (1 << (shift - 1)),   # ties across the whole range
        [top - 1, top, top + (1 << (shift - 1)), top * 3, -top, -1, 0, 1],   # saturation edges
        rng.integers(-2 * top, 2 * top, 5000),
    ]).astype(np.int64)
    frac_out = bits - integer
    ref = _qk(quantized_relu(bits, integer), acc / 4096.0) * 2 ** frac_out
    got = np.clip(shift_round(acc, shift, "half_even"), 0, (1 << bits) - 1)
    assert np.array_equal(ref, got)


def test_shift_round_modes() -> None:
    acc = np.array([-3, -2, -1, 0, 1, 2, 3, 5, 6, 7])          # shift 1: values /2
    assert shift_round(acc, 1, "half_even").tolist() == [-2, -1, 0, 0, 0, 1, 2, 2, 3, 4]
    assert shift_round(acc, 1, "half_up").tolist() == [-1, -1, 0, 0, 1, 1, 2, 3, 3, 4]
    assert shift_round(acc, 1, "floor").tolist() == [-2, -1, -1, 0, 0, 1, 1, 2, 3, 3]
    assert shift_round(acc, 0, "floor").tolist() == acc.tolist()
