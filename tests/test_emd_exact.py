"""Exact EMD: agreement with ot.emd2 and an independent LP, symmetry, empty-vector convention."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from econt.emd.exact import emd, emd_batch, emd_pot_loop
from econt.errors import DataError
from econt.geometry import ground_distance


def _sparse_charges(rng: np.random.Generator, n: int, max_occ: int = 30) -> np.ndarray:
    """Integer-valued charges on a random subset of cells (as hardware data looks)."""
    X = np.zeros((n, 48))
    for i in range(n):
        occ = rng.integers(1, max_occ + 1)
        cells = rng.choice(48, occ, replace=False)
        X[i, cells] = np.floor(rng.exponential(15.0, occ)) + 1
    return X


def _lp_emd(a: np.ndarray, b: np.ndarray) -> float:
    """Transport LP solved by HiGHS, independent of POT."""
    a = a / a.sum()
    b = b / b.sum()
    M = ground_distance()
    n = 48
    rows = np.zeros((2 * n, n * n))
    for i in range(n):
        rows[i, i * n : (i + 1) * n] = 1.0  # mass leaving cell i of a
        rows[n + i, i::n] = 1.0  # mass arriving in cell i of b
    res = linprog(M.ravel(), A_eq=rows, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def test_batch_matches_plain_pot_loop_on_every_pair_single_and_threads():
    from econt.emd.bench import realistic_pairs

    rng = np.random.default_rng(0)
    # sparse hardware-like pairs, module-vs-module pairs and dense reconstruction-like pairs
    A1, B1 = realistic_pairs(2_000, seed=4)
    A = np.concatenate([_sparse_charges(rng, 2_000), A1])
    B = np.concatenate([_sparse_charges(rng, 2_000), B1])
    ref = emd_pot_loop(A, B)
    inline = emd_batch(A, B, workers=1)
    threaded = emd_batch(A, B, workers=2, chunk=700)
    assert np.all(np.isfinite(ref))
    assert np.max(np.abs(inline - ref)) <= 1e-9
    np.testing.assert_array_equal(threaded, inline)


def test_batch_with_tensorflow_loaded_matches():
    # threads, not forked processes: safe (and identical) once TensorFlow's thread pools exist
    import tensorflow  # noqa: F401

    rng = np.random.default_rng(5)
    A = _sparse_charges(rng, 1_200)
    B = _sparse_charges(rng, 1_200)
    np.testing.assert_array_equal(emd_batch(A, B, workers=2, chunk=300), emd_batch(A, B, workers=1))


def test_matches_independent_linear_program():
    rng = np.random.default_rng(1)
    A = _sparse_charges(rng, 12)
    B = _sparse_charges(rng, 12)
    # include a dense pair (all 48 cells) too
    A[0] = rng.random(48) + 0.01
    got = emd_batch(A, B, workers=1)
    want = np.array([_lp_emd(a, b) for a, b in zip(A, B)])
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_known_values():
    a = np.zeros(48)
    b = np.zeros(48)
    a[0] = 5.0
    b[1] = 3.0  # cell 1 is a neighbour of cell 0: all mass moves 2 units
    assert emd(a, b) == pytest.approx(ground_distance()[0, 1])
    assert ground_distance()[0, 1] == pytest.approx(2.0, abs=1e-6)
    assert emd(a, 7 * a) == 0.0  # scale invariant: both are normalised to unit sum


def test_symmetric():
    rng = np.random.default_rng(2)
    A = _sparse_charges(rng, 50)
    B = _sparse_charges(rng, 50)
    np.testing.assert_allclose(emd_batch(A, B, workers=1), emd_batch(B, A, workers=1), rtol=0, atol=1e-12)


def test_empty_vector_gives_nan_and_is_visible_in_mean():
    rng = np.random.default_rng(3)
    A = _sparse_charges(rng, 5)
    B = _sparse_charges(rng, 5)
    A[1] = 0.0  # empty input
    B[3] = 0.0  # empty output
    out = emd_batch(A, B, workers=1)
    assert np.isnan(out[1]) and np.isnan(out[3])
    assert np.all(np.isfinite(out[[0, 2, 4]]))
    assert np.isnan(out.mean())  # never silently pollutes a mean
    assert np.isfinite(out[~np.isnan(out)].mean())
    assert np.isnan(emd(np.zeros(48), np.zeros(48)))
    np.testing.assert_array_equal(np.isnan(emd_pot_loop(A, B)), np.isnan(out))


def test_rejects_bad_input():
    a = np.ones(48)
    with pytest.raises(DataError, match="negative"):
        emd(a, -a)
    with pytest.raises(DataError, match="48"):
        emd_batch(np.ones((3, 47)), np.ones((3, 47)))
    with pytest.raises(DataError, match="NaN"):
        emd(np.full(48, np.nan), a)
