"""Arrangements of the 48 cells as images, with exact inverses.

8x8x1 (the ECON-T hardware image). Cell ``i`` goes to flat pixel
``REMAP_8X8[i]`` of the 8x8 image (row-major); the 16 remaining pixels (the
bottom-right 4x4 quadrant) are fixed zeros. The table is the one of the ECON-T
autoencoder training code (fastml-science ``telescope.py``/``train.py``
``remap_8x8``) and is the inverse of CMSSW's
``L1Trigger/L1THGCal`` ``HGCalConcentratorAutoEncoderImpl``
``autoencoder_triggerCellRemap_8x8`` (pixel → cell, -1 for zero pixels).
Sector 0 fills the top-right quadrant, sector 1 the top-left, sector 2 the
bottom-left, so neighbouring pixels are neighbouring cells within a sector.

4x4x3: one 4x4 channel per 16-cell sector, ``img[row, col, s] = cell 16*s + 4*row + col``
(fastml-science ``arrange443``).
"""
from __future__ import annotations

import numpy as np

from econt.errors import DataError

REMAP_8X8 = np.array(
    [4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31,
     24, 25, 26, 27, 16, 17, 18, 19, 8, 9, 10, 11, 0, 1, 2, 3,
     59, 51, 43, 35, 58, 50, 42, 34, 57, 49, 41, 33, 56, 48, 40, 32],
    dtype=np.int64,
)
REMAP_8X8.setflags(write=False)

ARRANGE_443 = np.array([16 * s + j for j in range(16) for s in range(3)], dtype=np.int64)
ARRANGE_443.setflags(write=False)


def _as_cells(charges: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(charges)
    if arr.shape[-1] != 48:
        raise DataError(f"{name}: expected last axis of 48 cells, got shape {arr.shape}.")
    return arr


def mask_8x8() -> np.ndarray:
    """Boolean ``(8, 8)``: True where a cell is placed, False for the 16 fixed zeros."""
    m = np.zeros(64, dtype=bool)
    m[REMAP_8X8] = True
    return m.reshape(8, 8)


def to_8x8(charges: np.ndarray) -> np.ndarray:
    """``(..., 48)`` → ``(..., 8, 8, 1)`` with zeros in the unused pixels (dtype kept)."""
    arr = _as_cells(charges, "to_8x8")
    flat = np.zeros(arr.shape[:-1] + (64,), dtype=arr.dtype)
    flat[..., REMAP_8X8] = arr
    return flat.reshape(arr.shape[:-1] + (8, 8, 1))


def from_8x8(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_8x8`: ``(..., 8, 8[, 1])`` → ``(..., 48)``."""
    arr = np.asarray(image)
    if arr.shape[-1] == 1 and arr.ndim >= 3:
        arr = arr[..., 0]
    if arr.shape[-2:] != (8, 8):
        raise DataError(f"from_8x8: expected (..., 8, 8[, 1]) image, got shape {np.asarray(image).shape}.")
    return arr.reshape(arr.shape[:-2] + (64,))[..., REMAP_8X8]


def to_443(charges: np.ndarray) -> np.ndarray:
    """``(..., 48)`` → ``(..., 4, 4, 3)``."""
    arr = _as_cells(charges, "to_443")
    return arr[..., ARRANGE_443].reshape(arr.shape[:-1] + (4, 4, 3))


def from_443(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_443`."""
    arr = np.asarray(image)
    if arr.shape[-3:] != (4, 4, 3):
        raise DataError(f"from_443: expected (..., 4, 4, 3), got shape {arr.shape}.")
    flat = arr.reshape(arr.shape[:-3] + (48,))
    out = np.empty_like(flat)
    out[..., ARRANGE_443] = flat
    return out
