"""Deterministic train/validation/test splits, stratified by region."""
from __future__ import annotations

import zlib

import numpy as np

from econt.data.dataset import Dataset
from econt.errors import DataError


def split_indices(regions: np.ndarray, seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (sorted) of the three parts; each region is split with the same fractions.

    Each region is shuffled by its own generator seeded with (seed, crc32(region name)), so
    the split of one region does not depend on which other regions are present.
    """
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or np.any(f < 0) or abs(f.sum() - 1.0) > 1e-9:
        raise DataError(f"split_dataset: fractions must be three non-negative numbers summing to 1, got {fractions}.")
    regions = np.asarray(regions)
    parts: list[list[np.ndarray]] = [[], [], []]
    for name in sorted(set(regions.tolist())):
        idx = np.flatnonzero(regions == name)
        rng = np.random.default_rng([int(seed), zlib.crc32(str(name).encode())])
        idx = idx[rng.permutation(idx.size)]
        n_train = int(round(f[0] * idx.size))
        n_val = min(int(round(f[1] * idx.size)), idx.size - n_train)
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train:n_train + n_val])
        parts[2].append(idx[n_train + n_val:])
    out = tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, dtype=np.int64) for p in parts)
    return out  # type: ignore[return-value]


def split_dataset(ds: Dataset, seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
                  ) -> tuple[Dataset, Dataset, Dataset]:
    """``(train, val, test)`` subsets of ``ds``, stratified by ``ds.meta['region']``."""
    tr, va, te = split_indices(ds.meta["region"], seed, fractions)
    out = []
    for name, idx in (("train", tr), ("val", va), ("test", te)):
        part = ds.subset(idx)
        part.source = f"{ds.source} [{name}]"
        out.append(part)
    return out[0], out[1], out[2]
