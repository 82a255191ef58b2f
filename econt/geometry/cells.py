"""Trigger-cell coordinates computed from the hexagonal lattice rule."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

N_CELLS = 48
N_SECTORS = 3
CELLS_PER_SECTOR = 16
#: Distance between neighbouring trigger-cell centres of an 8-inch LD module (cm).
CELL_PITCH_CM = 2.4168015

_ROW = CELL_PITCH_CM * np.sqrt(3.0) / 2.0  # lattice column spacing in x

# Sector origins (position of the sector's (a, b) = (0, 0) cell) in units of
# (column spacing, pitch). Sector 0 sits at the module reference point; the two
# rotated sectors are offset by a quarter/eighth of a lattice step because their
# rhombi are rotated (see the package docstring).
_SECTOR_ORIGIN = np.array([[0.0, 0.0], [-4.0, -4.25], [2.25, -5.125]])


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def sector_of(cell: int | np.ndarray) -> int | np.ndarray:
    return np.asarray(cell) // CELLS_PER_SECTOR if not isinstance(cell, int) else cell // CELLS_PER_SECTOR


@lru_cache(maxsize=1)
def cell_lattice_coords() -> np.ndarray:
    """``(48, 3)`` int array of (sector, a, b) for each cell in training index order."""
    idx = np.arange(N_CELLS)
    return np.stack([idx // 16, (idx % 16) // 4, idx % 4], axis=1)


def cell_uv() -> np.ndarray:
    """``(48, 2)`` int (u, v) lattice coordinates of each cell within its sector.

    ``u`` steps along the sector's column direction (a), ``v`` along its row
    direction (b); both run 0..3. Together with :func:`sector_of` they identify
    a cell uniquely and map to the centre by :func:`cell_centres`.
    """
    coords = cell_lattice_coords()
    return coords[:, 1:].copy()


@lru_cache(maxsize=1)
def _centres() -> np.ndarray:
    step_b = np.array([0.0, -CELL_PITCH_CM])
    step_a = np.array([_ROW, -CELL_PITCH_CM / 2.0])
    out = np.zeros((N_CELLS, 2))
    for cell, (sector, a, b) in enumerate(cell_lattice_coords()):
        rot = _rotation(120.0 * sector)
        origin = _SECTOR_ORIGIN[sector] * np.array([_ROW, CELL_PITCH_CM])
        out[cell] = origin + rot @ (a * step_a + b * step_b)
    out.setflags(write=False)
    return out


def cell_centres() -> np.ndarray:
    """``(48, 2)`` (x, y) centres in cm, training index order (read-only)."""
    return _centres()
