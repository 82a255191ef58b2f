"""Hardware normalisation and the 9-bit module-sum code, against hand-worked examples."""
from __future__ import annotations

import numpy as np
import pytest

from econt.data.normalise import (codes_to_float, decode_module_sum, encode_module_sum, module_msb,
                                  msb_from_module_sum_code, normalise_float, normalise_hw)
from econt.errors import DataError


def _row(values):
    r = np.zeros(48, dtype=np.int64)
    r[:len(values)] = values
    return r


def test_hand_examples():
    calq = np.stack([_row([64, 32, 16, 16]),   # sum 128: msb 7, shift 0, codes unchanged
                     _row([999, 1]),           # sum 1000: msb 9, shift 2: 999>>2 = 249, 1>>2 = 0
                     _row([3, 2]),             # sum 5: msb 2, shift -5: 3<<5 = 96, 2<<5 = 64
                     _row([])])                # empty module
    codes, shift, modsum = normalise_hw(calq)
    assert modsum.tolist() == [128, 1000, 5, 0]
    assert shift.tolist() == [0, 2, -5, -7]
    assert codes[0, :4].tolist() == [64, 32, 16, 16]
    assert codes[1, :2].tolist() == [249, 0]
    assert codes[2, :2].tolist() == [96, 64]
    assert codes[3].sum() == 0
    assert codes.max() <= 255
    # float view: 96/128 = 0.75 = 3 / 2**2
    assert codes_to_float(codes)[2, 0] == 0.75


def test_float_view_matches_integer_path():
    rng = np.random.default_rng(5)
    q = rng.integers(0, 5000, (2000, 48)) * (rng.random((2000, 48)) < 0.5)
    codes, _, _ = normalise_hw(q)
    f, scale = normalise_float(q.astype(float))
    assert np.array_equal(codes_to_float(codes), f)
    s = q.sum(axis=1)
    assert np.all((scale <= np.maximum(s, 1)) & (np.maximum(s, 1) < 2 * scale))
    assert np.all(f < 2.0)


def test_module_sum_code_by_hand():
    # 1000 = 0b11_1110_1000 (10 bits): exponent 10-4 = 6, mantissa = the 4 bits after the
    # leading one = 0b1111 = 15 -> code 6*16 + 15 = 111; bin lower edge (16+15) << 5 = 992
    # 15 < 16: exponent 0, code 15;  16 = 0b10000: exponent 1, mantissa 0 -> 16
    sums = np.array([1000, 15, 16, 17, 31, 32, 2**36])
    assert encode_module_sum(sums).tolist() == [111, 15, 16, 17, 31, 32, 511]
    assert decode_module_sum(np.array([111, 15, 16, 32])).tolist() == [992, 15, 16, 32]
    s = np.random.default_rng(1).integers(0, 2**30, 5000)
    assert np.array_equal(msb_from_module_sum_code(encode_module_sum(s)), module_msb(s))
    assert np.all(decode_module_sum(encode_module_sum(s)) <= s)


def test_bad_input():
    with pytest.raises(DataError, match="negative"):
        normalise_hw(_row([-1])[None])
    with pytest.raises(DataError, match="integers"):
        normalise_hw(np.full((1, 48), 0.5))
    with pytest.raises(DataError, match=r"\(N, 48\)"):
        normalise_hw(np.zeros((2, 47), dtype=int))
