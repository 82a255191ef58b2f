"""Compiled batch loop over POT's exact network simplex for the kit's 48-cell problems.

One numba-compiled call solves a whole chunk of pairs with no Python per pair: for each pair
it normalises both rows to unit sum (and rescales the second as ``ot.emd2`` does), cancels
the mass both hold in the same cell (it never moves under a metric ground cost: triangle
inequality), drops the bins that are then empty, gathers the small cost sub-matrix and calls
POT's C++ network simplex (``EMD_wrap``, the core behind ``ot.emd2``) on it directly. The
optimum is therefore POT's own; the tests check agreement with ``ot.emd2`` to 1e-9 on every
pair and with an independent LP.

``EMD_wrap`` is linked by symbol name from POT's compiled ``ot.lp.emd_wrap`` (pot is pinned in
pyproject.toml; the signature is that of pot 0.9.7). A pair the simplex does not solve
(result code other than OPTIMAL, never seen) comes back as :data:`NOT_SOLVED` and
:mod:`econt.emd.exact` reports it.
"""
from __future__ import annotations

import ctypes

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types

import econt  # noqa: F401  (keeps `import ot` from importing TensorFlow)
from econt.errors import StageError

#: Flag for a pair the network simplex did not solve to optimality.
NOT_SOLVED = -1.0
#: Network-simplex iteration cap (POT's own default).
MAX_ITER = 100_000
#: POT's result code for a solved problem.
_OPTIMAL = 1
#: C++ symbol of ``int EMD_wrap(int, int, double*, double*, double*, double*, double*, double*,
#: double*, uint64_t maxIter, double* alpha_init, double* beta_init)`` in pot 0.9.7.
_EMD_WRAP_SYMBOL = "_Z8EMD_wrapiiPdS_S_S_S_S_S_mS_S_"


def _register_pot_simplex() -> None:
    import ot.lp.emd_wrap as wrap

    lib = ctypes.CDLL(wrap.__file__)
    try:
        fn = getattr(lib, _EMD_WRAP_SYMBOL)
    except AttributeError as exc:
        raise StageError(
            f"exact EMD: POT's compiled solver {wrap.__file__} has no symbol {_EMD_WRAP_SYMBOL} (EMD_wrap of pot "
            "0.9.7). Install the pinned POT version from pyproject.toml (pip install 'pot==0.9.7.post1')."
        ) from exc
    # by name, so that numba's on-disk cache of the kernel stays valid across processes
    llvm.add_symbol(_EMD_WRAP_SYMBOL, ctypes.cast(fn, ctypes.c_void_p).value)


_register_pot_simplex()
_P = types.voidptr
# The two warm-start pointers are passed as NULL, declared as pointer-sized integers (x86-64 /
# aarch64 ABIs pass both the same way) because numba has no NULL voidptr literal.
_emd_wrap = types.ExternalFunction(
    _EMD_WRAP_SYMBOL,
    types.int32(types.int32, types.int32, _P, _P, _P, _P, _P, _P, _P, types.uint64, types.uintp, types.uintp),
)


@njit(cache=True, nogil=True, inline="always")
def _normalise_pair(A, B, r, a, b):
    """Row ``r`` of ``A`` and ``B`` into ``a`` and ``b``, each at unit sum, ``b`` rescaled as ``ot.emd2``
    rescales the second marginal; False (buffers untouched) when either row is empty."""
    K = A.shape[1]
    sa = 0.0
    sb = 0.0
    for k in range(K):
        sa += A[r, k]
        sb += B[r, k]
    if not (sa > 0.0 and sb > 0.0):
        return False
    ta = 0.0
    tb = 0.0
    for k in range(K):
        a[k] = A[r, k] / sa
        b[k] = B[r, k] / sb
        ta += a[k]
        tb += b[k]
    scale = ta / tb
    for k in range(K):
        b[k] *= scale
    return True


@njit(cache=True, nogil=True)
def emd_rows(A, B, M):
    """Exact EMD of each row pair of validated ``(N, 48)`` float64 arrays with ground cost ``M``.

    NaN where either row is empty (sums to zero); :data:`NOT_SOLVED` where the simplex failed.
    """
    N, K = A.shape
    out = np.empty(N)
    a = np.empty(K)
    b = np.empty(K)
    ra = np.empty(K)
    rb = np.empty(K)
    ia = np.empty(K, np.int64)
    ib = np.empty(K, np.int64)
    sub = np.empty(K * K)
    G = np.empty(K * K)
    alpha = np.empty(K)
    beta = np.empty(K)
    cost = np.empty(1)
    for r in range(N):
        if not _normalise_pair(A, B, r, a, b):
            out[r] = np.nan
            continue
        m = 0
        n = 0
        sra = 0.0
        srb = 0.0
        for k in range(K):
            ak = a[k]
            bk = b[k]
            if ak > bk:
                ra[m] = ak - bk
                ia[m] = k
                sra += ra[m]
                m += 1
            elif bk > ak:
                rb[n] = bk - ak
                ib[n] = k
                srb += rb[n]
                n += 1
        if m == 0 or n == 0:
            out[r] = 0.0  # identical distributions (up to rounding)
            continue
        fix = sra / srb  # the simplex needs exactly balanced marginals
        for j in range(n):
            rb[j] *= fix
        for i in range(m):
            for j in range(n):
                sub[i * n + j] = M[ia[i], ib[j]]
        code = _emd_wrap(m, n, ra.ctypes, rb.ctypes, sub.ctypes, G.ctypes, alpha.ctypes, beta.ctypes, cost.ctypes,
                         MAX_ITER, 0, 0)
        out[r] = cost[0] if code == _OPTIMAL else NOT_SOLVED
    return out


@njit(cache=True, nogil=True)
def emd_and_target_potentials(A, B, M):
    """Exact EMD and the target's dual potential for each row pair (the EMD's gradient in ``b``).

    Rows of ``A`` and ``B`` (``(N, K)`` float64) are normalised to unit sum; the full
    (uncancelled) problem is solved by POT's network simplex, whose optimal duals ``(α, β)``
    satisfy ``EMD = Σ α_i a_i + Σ β_j b_j``. ``β`` is therefore a (super)gradient of the EMD
    with respect to the target distribution ``b``. The simplex drops empty bins, so ``β`` of a
    cell where ``b`` is empty is set to the c-transform ``min_i (M_ij − α_i)`` over the source's
    support: the one-sided derivative for putting mass there. ``β`` is centred (mean zero;
    constants do not change the EMD on unit-sum maps). A row pair with an empty side gets
    cost NaN and ``β = 0``; :data:`NOT_SOLVED` marks a failed simplex.
    """
    N, K = A.shape
    cost_out = np.empty(N)
    beta_out = np.zeros((N, K))
    a = np.empty(K)
    b = np.empty(K)
    D = np.ascontiguousarray(M)
    G = np.empty(K * K)
    alpha = np.empty(K)
    beta = np.empty(K)
    cost = np.empty(1)
    for r in range(N):
        if not _normalise_pair(A, B, r, a, b):
            cost_out[r] = np.nan
            continue
        for k in range(K):
            alpha[k] = 0.0
            beta[k] = 0.0
        code = _emd_wrap(K, K, a.ctypes, b.ctypes, D.ctypes, G.ctypes, alpha.ctypes, beta.ctypes, cost.ctypes,
                         MAX_ITER, 0, 0)
        if code != _OPTIMAL:
            cost_out[r] = NOT_SOLVED
            continue
        cost_out[r] = cost[0]
        mean = 0.0
        for j in range(K):
            if not b[j] > 0.0:
                best = np.inf
                for i in range(K):
                    if a[i] > 0.0:
                        c = D[i, j] - alpha[i]
                        if c < best:
                            best = c
                beta[j] = best
            mean += beta[j]
        mean /= K
        for j in range(K):
            beta_out[r, j] = beta[j] - mean
    return cost_out, beta_out
