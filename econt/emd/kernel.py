"""Compiled batch loop of exact EMDs for the kit's 48-cell problems.

One numba-compiled call solves a whole chunk of pairs with no Python per pair: for each pair
it normalises both rows to unit sum (and rescales the second as ``ot.emd2`` does), cancels
the mass both hold in the same cell (it never moves under a metric ground cost: triangle
inequality), drops the bins that are then empty and solves the remaining transportation
problem (surplus cells against deficit cells, m + n <= 48, typically about 24 x 24) with
:func:`transport_simplex`, a transportation simplex written for this size: no allocation per
pair, a least-cost start ordered by a counting sort over the fixed geometry's few distinct
distances, block pricing, and potentials updated only on the subtree a pivot re-hangs. On
the benchmark's pairs it takes about 0.6x the time of POT's C++ network simplex
(``EMD_wrap``, the core behind ``ot.emd2``) on the same sub-problems.

The optimum is exact (a basic optimal solution of the same LP); the tests check agreement
with ``ot.emd2`` to 1e-9 on every pair, with an independent LP, and on degenerate problems.
A pair on which the simplex reaches its iteration cap (cycling under degeneracy; not seen on
the tests' or the benchmark's pairs) is solved again by ``EMD_wrap``, which is linked by symbol
name from POT's compiled ``ot.lp.emd_wrap`` (pot is pinned in pyproject.toml; the signature is
that of pot 0.9.7) and also solves the full problems of :func:`emd_and_target_potentials`. A
pair neither solves (``EMD_wrap`` result code other than OPTIMAL, never seen) comes back as
:data:`NOT_SOLVED` and :mod:`econt.emd.exact` reports it.
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
#: Network-simplex iteration cap of ``EMD_wrap`` (POT's own default).
MAX_ITER = 100_000
#: Pivot cap of :func:`transport_simplex` before a pair is handed to ``EMD_wrap``. Pairs of the
#: kit's data take a median of ~50 pivots and at most a few hundred (m + n <= 48).
TRANSPORT_MAX_PIVOTS = 5_000
#: A reduced cost below ``-PRICING_TOLERANCE`` enters the basis. Distances are O(1)-O(30) (half
#: cell pitches) and potentials sum at most 48 of them, so rounding in a reduced cost is ~1e-13;
#: stopping at -1e-10 leaves the cost within 1e-10 of the optimum (total mass 1).
PRICING_TOLERANCE = 1e-10
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


def cost_classes(M: np.ndarray) -> tuple[np.ndarray, int]:
    """Rank of each ground-metric entry among its distinct values (to 1e-9), and their number.

    The start of :func:`transport_simplex` visits cells in increasing cost by a counting sort on
    these ranks; the 48-cell geometry has 62 distinct distances.
    """
    values, rank = np.unique(np.round(np.asarray(M, dtype=np.float64), 9), return_inverse=True)
    return np.ascontiguousarray(rank.reshape(M.shape), dtype=np.int64), int(len(values))


@njit(cache=True, nogil=True, inline="always")
def _add_edge(nbr, nbe, ndeg, a, b, e):
    """Tree edge ``e`` between nodes ``a`` and ``b`` into both adjacency lists."""
    nbr[a, ndeg[a]] = b
    nbe[a, ndeg[a]] = e
    ndeg[a] += 1
    nbr[b, ndeg[b]] = a
    nbe[b, ndeg[b]] = e
    ndeg[b] += 1


@njit(cache=True, nogil=True, inline="always")
def _drop_edge(nbr, nbe, ndeg, a, e):
    """Edge ``e`` out of node ``a``'s adjacency list (the last entry takes its place)."""
    for p in range(ndeg[a]):
        if nbe[a, p] == e:
            ndeg[a] -= 1
            nbr[a, p] = nbr[a, ndeg[a]]
            nbe[a, p] = nbe[a, ndeg[a]]
            return


@njit(cache=True, nogil=True)
def transport_simplex(s, d, m, n, C, ia, ib, cls, n_cls, max_pivots, wf, wi, cand, nbr, nbe):
    """Optimal transport cost of supplies ``s[:m]`` to demands ``d[:n]`` (equal totals) with costs
    ``C[i * n + j]``; ``(cost, pivots)``, pivots = -1 when ``max_pivots`` was reached.

    ``ia``/``ib`` give each row's / column's cell and ``cls`` the cost rank of a cell pair (see
    :func:`cost_classes`). Buffers, allocated once by the caller for ``m + n <= K``: ``wf``
    float64 ``(5, 2K)``, ``wi`` int64 ``(12, 2K)``, ``cand`` int64 ``(K*K,)``, ``nbr`` and ``nbe``
    int64 ``(2K, K)``.

    The basis is a spanning tree of the bipartite graph (rows 0..m-1, columns m..m+n-1) with
    m + n - 1 edges, zero-flow (degenerate) edges included. Start: least-cost greedy (cells in
    increasing cost; each allocation closes exactly one row or column, so the m + n - 1 cells
    form a tree). Pivots: block pricing over rows (LEMON's block search: the most negative
    reduced cost ``C_ij - u_i - v_j`` in the first block of ~sqrt(m n) cells holding one), the
    cycle through the tree between the entering cell's row and column, flow moved around it,
    and the subtree cut off by the leaving edge re-hung from the entering edge: only its parents,
    depths and potentials are recomputed.
    """
    rem_s = wf[0]
    rem_d = wf[1]
    bx = wf[2]
    u = wf[3]
    v = wf[4]
    bi = wi[0]
    bj = wi[1]
    alive_r = wi[2]
    alive_c = wi[3]
    ndeg = wi[4]
    par = wi[5]
    pare = wi[6]
    depth = wi[7]
    queue = wi[8]
    mark = wi[9]
    path = wi[10]
    side = wi[11]
    count = wi[11]  # counting-sort bins (n_cls <= 2K), done before ``side`` is used
    N = m + n
    # --- start: least-cost greedy over the cells sorted by cost class
    for c in range(n_cls):
        count[c] = 0
    for i in range(m):
        crow = cls[ia[i]]
        for j in range(n):
            count[crow[ib[j]]] += 1
    acc = 0
    for c in range(n_cls):
        k = count[c]
        count[c] = acc
        acc += k
    for i in range(m):
        crow = cls[ia[i]]
        for j in range(n):
            c = crow[ib[j]]
            cand[count[c]] = (i << 6) | j
            count[c] += 1
    for i in range(m):
        rem_s[i] = s[i]
        alive_r[i] = 1
    for j in range(n):
        rem_d[j] = d[j]
        alive_c[j] = 1
    rows_left = m
    cols_left = n
    nb = 0
    for t in range(m * n):
        i = cand[t] >> 6
        j = cand[t] & 63
        if alive_r[i] == 0 or alive_c[j] == 0:
            continue
        q = rem_s[i] if rem_s[i] < rem_d[j] else rem_d[j]
        rem_s[i] -= q
        rem_d[j] -= q
        bi[nb] = i
        bj[nb] = j
        bx[nb] = q
        nb += 1
        # close exactly one line per allocation; never the last row while columns remain (with
        # totals equal to rounding, what is left there is rounding)
        if rows_left > 1 and (rem_s[i] == 0.0 or cols_left == 1):
            alive_r[i] = 0
            rows_left -= 1
        else:
            alive_c[j] = 0
            cols_left -= 1
        if nb == N - 1:
            break
    # --- tree adjacency and potentials u_i + v_j = C_ij, breadth first from row 0
    for k in range(N):
        ndeg[k] = 0
        mark[k] = 0
    for e in range(nb):
        _add_edge(nbr, nbe, ndeg, bi[e], m + bj[e], e)
    stamp = 1
    pos = 0
    block = int(np.sqrt(m * n)) + 1   # pricing block: about sqrt(m n) cells
    mark[0] = stamp
    u[0] = 0.0
    par[0] = -1
    pare[0] = -1
    depth[0] = 0
    queue[0] = 0
    head = 0
    tail = 1
    while True:
        # (re)label the nodes reached from the queue: parent, parent edge, depth, potential
        while head < tail:
            a = queue[head]
            head += 1
            for p in range(ndeg[a]):
                b = nbr[a, p]
                if mark[b] == stamp:
                    continue
                e = nbe[a, p]
                mark[b] = stamp
                par[b] = a
                pare[b] = e
                depth[b] = depth[a] + 1
                if b >= m:
                    v[b - m] = C[bi[e] * n + bj[e]] - u[a]
                else:
                    u[b] = C[bi[e] * n + bj[e]] - v[a - m]
                queue[tail] = b
                tail += 1
        # --- block pricing by rows, cyclically from where the last search stopped
        best = -PRICING_TOLERANCE
        ei = -1
        ej = -1
        scanned = 0
        i = pos
        for _ in range(m):
            ui = u[i]
            row = i * n
            for j in range(n):
                r = C[row + j] - ui - v[j]
                if r < best:
                    best = r
                    ei = i
                    ej = j
            scanned += n
            i += 1
            if i == m:
                i = 0
            if scanned >= block and ei >= 0:
                break
        pos = i
        if ei < 0:
            break  # optimal: no reduced cost below the tolerance
        if stamp > max_pivots:
            return 0.0, -1
        # --- the cycle: tree path from column ej to row ei; signs alternate -, +, -, ... from ej
        x = m + ej
        y = ei
        nx = 0
        ny = 0
        while depth[x] > depth[y]:
            path[nx] = pare[x]
            nx += 1
            x = par[x]
        while depth[y] > depth[x]:
            side[ny] = pare[y]
            ny += 1
            y = par[y]
        while x != y:
            path[nx] = pare[x]
            nx += 1
            x = par[x]
            side[ny] = pare[y]
            ny += 1
            y = par[y]
        L = nx + ny
        for k in range(ny):
            path[nx + k] = side[ny - 1 - k]
        theta = np.inf
        leave = -1
        leave_k = -1
        for k in range(0, L, 2):
            e = path[k]
            if bx[e] < theta:
                theta = bx[e]
                leave = e
                leave_k = k
        for k in range(L):
            if k % 2 == 0:
                bx[path[k]] -= theta
            else:
                bx[path[k]] += theta
        # --- swap the leaving edge for the entering one in the adjacency (same edge slot)
        _drop_edge(nbr, nbe, ndeg, bi[leave], leave)
        _drop_edge(nbr, nbe, ndeg, m + bj[leave], leave)
        bi[leave] = ei
        bj[leave] = ej
        bx[leave] = theta
        _add_edge(nbr, nbe, ndeg, ei, m + ej, leave)
        # --- re-hang the cut-off subtree from the entering edge's endpoint inside it (the column
        # if the leaving edge was on the column's side of the cycle); the loop above relabels it
        if leave_k < nx:
            top = m + ej
            hang = ei
        else:
            top = ei
            hang = m + ej
        stamp += 1
        mark[hang] = stamp
        mark[top] = stamp
        par[top] = hang
        pare[top] = leave
        depth[top] = depth[hang] + 1
        if top >= m:
            v[ej] = C[ei * n + ej] - u[ei]
        else:
            u[ei] = C[ei * n + ej] - v[ej]
        queue[0] = top
        head = 0
        tail = 1
    cost = 0.0
    for e in range(nb):
        cost += bx[e] * C[bi[e] * n + bj[e]]
    return cost, stamp - 1


@njit(cache=True, nogil=True)
def emd_rows(A, B, M, cls, n_cls, max_pivots=TRANSPORT_MAX_PIVOTS):
    """Exact EMD of each row pair of validated ``(N, 48)`` float64 arrays with ground cost ``M``
    (``cls``, ``n_cls`` from :func:`cost_classes` of ``M``); ``(emd, n_handed_to_emd_wrap)``.

    NaN where either row is empty (sums to zero); :data:`NOT_SOLVED` where no solver succeeded.
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
    wf = np.empty((5, 2 * K))
    wi = np.empty((12, 2 * K), np.int64)
    cand = np.empty(K * K, np.int64)
    nbr = np.empty((2 * K, K), np.int64)
    nbe = np.empty((2 * K, K), np.int64)
    handed_over = 0
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
        fix = sra / srb  # both solvers need balanced marginals
        for j in range(n):
            rb[j] *= fix
        for i in range(m):
            for j in range(n):
                sub[i * n + j] = M[ia[i], ib[j]]
        c, pivots = transport_simplex(ra, rb, m, n, sub, ia, ib, cls, n_cls, max_pivots, wf, wi, cand, nbr, nbe)
        if pivots >= 0:
            out[r] = c
            continue
        handed_over += 1
        code = _emd_wrap(m, n, ra.ctypes, rb.ctypes, sub.ctypes, G.ctypes, alpha.ctypes, beta.ctypes, cost.ctypes,
                         MAX_ITER, 0, 0)
        out[r] = cost[0] if code == _OPTIMAL else NOT_SOLVED
    return out, handed_over


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
