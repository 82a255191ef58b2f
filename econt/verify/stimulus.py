"""Stimulus for RTL verification: CALQ integers (N, 48) in the kit's cell order.

Three kinds, as the issue asks: synthetic modules (``econt.data.synthetic``), the real
ECON-T vectors (``../shared/econt-vectors/testInput.csv`` through ``econt.data.vectors``,
when present) and random extremes that hit the corners of the datapath (all zeros, every
cell at full scale, single hot cells, module sums at powers of two, dense full-range noise).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from econt.data.vectors import shared_econt_vectors


def synthetic_calq(n: int, seed: int) -> np.ndarray:
    from econt.data.synthetic import generate

    return np.asarray(generate(n, seed).charges, dtype=np.int64)


def real_calq(n: Optional[int] = None) -> Optional[np.ndarray]:
    """The ECON-T test vectors (:mod:`econt.data.vectors`, the one loader) as CALQ integers in the
    kit's cell order — the order of the RTL's ``calq`` port. None when ../shared is absent."""
    ds = shared_econt_vectors(order="cells", limit=n)
    return None if ds is None else np.asarray(ds.charges, dtype=np.int64)


def extreme_calq(n: int, seed: int, calq_bits: int = 22) -> np.ndarray:
    """Corner cases, cycling through the kinds below (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    top = (1 << calq_bits) - 1
    out = np.zeros((n, 48), dtype=np.int64)
    for i in range(n):
        kind = i % 8
        if kind == 0:
            continue                                           # all zeros
        if kind == 1:
            out[i] = top                                       # saturating: every cell at full scale
        elif kind == 2:
            out[i, rng.integers(48)] = rng.integers(1, top + 1)    # single hot cell, any value
        elif kind == 3:
            out[i, rng.integers(48)] = 1 << int(rng.integers(0, calq_bits))  # single hot cell, power of two
        elif kind == 4:
            out[i] = rng.integers(0, top + 1, size=48)         # dense full-range noise
        elif kind == 5:
            k = int(rng.integers(1, calq_bits + 5))            # module sum exactly 2**k or 2**k - 1
            target = (1 << k) - int(rng.integers(0, 2))
            parts = np.sort(rng.integers(0, target + 1, size=47))
            cells = np.diff(np.concatenate([[0], parts, [target]]))
            out[i] = np.minimum(cells, top)
        elif kind == 6:
            occ = rng.random(48) < 0.2                         # sparse, small values (low msb: left shifts)
            out[i] = np.where(occ, rng.integers(0, 8, size=48), 0)
        else:
            out[i] = top - rng.integers(0, 4, size=48)         # near full scale, ragged low bits
    return out
