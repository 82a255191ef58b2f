"""Exact EMD: agreement with ot.emd2 and an independent LP, degenerate transportation problems, the
hand-over to POT's solver, symmetry, empty-vector convention."""
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


def _kernel(A: np.ndarray, B: np.ndarray, max_pivots: int | None = None) -> tuple[np.ndarray, int]:
    from econt.emd.kernel import cost_classes, emd_rows

    M = ground_distance()
    cls, n_cls = cost_classes(M)
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    if max_pivots is None:
        return emd_rows(A, B, M, cls, n_cls)
    return emd_rows(A, B, M, cls, n_cls, max_pivots)


def _degenerate_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Problems whose simplex bases carry zero-flow edges: equal masses everywhere (every greedy
    allocation closes a row and a column at once), one source or one sink, a single moved cell,
    masses that are permutations of each other, and the largest sub-problem (disjoint halves)."""
    A, B = [], []
    for _ in range(40):  # equal unit masses on k cells each, disjoint supports
        cells = rng.permutation(48)
        k = int(rng.integers(2, 24))
        a = np.zeros(48)
        b = np.zeros(48)
        a[cells[:k]] = 1.0
        b[cells[k : 2 * k]] = 1.0
        A.append(a)
        B.append(b)
    for k in (1, 2, 5, 23, 47):  # one source against k sinks and the reverse
        cells = rng.permutation(48)
        a = np.zeros(48)
        b = np.zeros(48)
        a[cells[0]] = 3.0
        b[cells[1 : 1 + k]] = 1.0
        A += [a, b]
        B += [b, a]
    for _ in range(20):  # b = a with one cell's charge moved to another cell (m = n = 1)
        a = np.floor(rng.exponential(10.0, 48))
        a[0] += 1
        b = a.copy()
        i, j = rng.choice(48, 2, replace=False)
        b[j] += b[i] + 1
        b[i] = 0.0
        A.append(a)
        B.append(b)
    for _ in range(20):  # the same integer masses on permuted cells: many ties in the greedy start
        a = np.zeros(48)
        a[rng.choice(48, 24, replace=False)] = rng.integers(1, 4, 24)
        A.append(a)
        B.append(a[rng.permutation(48)])
    a = np.zeros(48)
    a[:24] = 1.0  # 24 x 24 with equal masses: the largest, most degenerate sub-problem
    A.append(a)
    B.append(1.0 - a)
    return np.array(A), np.array(B)


def test_transport_simplex_on_degenerate_problems_matches_pot():
    A, B = _degenerate_pairs(np.random.default_rng(7))
    got, handed_over = _kernel(A, B)
    assert handed_over == 0  # solved by the kit's simplex itself, not by the fallback
    ref = emd_pot_loop(A, B)
    assert np.all(np.isfinite(ref))
    assert np.max(np.abs(got - ref)) <= 1e-9
    np.testing.assert_array_equal(emd_batch(A, B, workers=1), got)


def test_realistic_pairs_need_no_handover():
    from econt.emd.bench import realistic_pairs

    A, B = realistic_pairs(3_000, seed=11)
    got, handed_over = _kernel(A, B)
    assert handed_over == 0
    sub = np.arange(0, 3_000, 10)
    assert np.max(np.abs(got[sub] - emd_pot_loop(A[sub], B[sub]))) <= 1e-9


def test_pairs_past_the_pivot_cap_go_to_pots_solver_with_the_same_result():
    rng = np.random.default_rng(8)
    A = _sparse_charges(rng, 200)
    B = _sparse_charges(rng, 200)
    own, none_handed = _kernel(A, B)
    handed, n_handed = _kernel(A, B, max_pivots=0)
    assert none_handed == 0
    assert n_handed > 150  # every pair whose greedy start is not already optimal
    assert np.max(np.abs(handed - own)) <= 1e-9
