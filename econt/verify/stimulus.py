"""Stimulus for RTL verification: CALQ integers (N, 48) in the kit's cell order.

Three kinds, as the issue asks: synthetic modules (``econt.data.synthetic``), the real
ECON-T vectors (``../shared/econt-vectors/testInput.csv`` decoded by ``econt.data.eportrx``,
when present) and random extremes that hit the corners of the datapath (all zeros, every
cell at full scale, single hot cells, module sums at powers of two, dense full-range noise).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from econt.paths import shared_path


def synthetic_calq(n: int, seed: int) -> np.ndarray:
    from econt.data.synthetic import generate

    return np.asarray(generate(n, seed).charges, dtype=np.int64)


def real_calq(n: Optional[int] = None) -> Optional[np.ndarray]:
    """testInput.csv through the chip's input chain with the AE/ init.yaml (mux, calibration,
    density; its in-word cell order is the one ``decode_words`` uses), mapped from the chip's
    CALQ order to cell order. None when ../shared is absent."""
    path = shared_path("econt-vectors", "testInput.csv")
    init = shared_path("econt-vectors", "AE", "init.yaml")
    if path is None or init is None:
        return None
    from econt.data.eportrx import input_config_from_init_yaml, read_eportrx_csv
    from econt.model.integer import chip_calq_to_cells

    ds = read_eportrx_csv(path, input_config_from_init_yaml(init))
    calq = chip_calq_to_cells(np.asarray(ds.charges, dtype=np.int64))
    return calq if n is None else calq[:n]


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
