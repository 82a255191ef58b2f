"""Geometry of the 48 trigger cells of an 8-inch low-density HGCAL module.

The module is a hexagon split into three 16-cell sectors. Within a sector the
trigger cells sit on a hexagonal lattice: cell ``16*s + 4*a + b`` is at lattice
coordinates (a, b) of sector ``s``. Sector 0 has lattice steps
``b → (0, -d)`` and ``a → (d·√3/2, -d/2)``, with ``d = 2.4168015 cm`` the distance
between neighbouring trigger-cell centres; sectors 1 and 2 are the same lattice
rotated by +120° and +240° about their own offsets (trigger cells are 2x2
rhombi of sensor cells, so a rotated sector lands on a shifted sub-lattice:
each sector needs its own offset).

This is the "training index order" of the ECON-T autoencoder studies
(fastml-science ``utils/metrics.py: hexCoords``); the test suite checks the
centres computed here against ``shared/geometry/trigger_cell_centres.csv``.
"""
from __future__ import annotations

from econt.geometry.cells import (
    CELL_PITCH_CM,
    N_CELLS,
    N_SECTORS,
    CELLS_PER_SECTOR,
    cell_centres,
    cell_lattice_coords,
    cell_uv,
    sector_of,
)
from econt.geometry.arrange import (
    ARRANGE_443,
    REMAP_8X8,
    from_443,
    from_8x8,
    to_443,
    to_8x8,
    mask_8x8,
)
from econt.geometry.distance import ground_distance

__all__ = [
    "CELL_PITCH_CM",
    "N_CELLS",
    "N_SECTORS",
    "CELLS_PER_SECTOR",
    "cell_centres",
    "cell_lattice_coords",
    "cell_uv",
    "sector_of",
    "ARRANGE_443",
    "REMAP_8X8",
    "from_443",
    "from_8x8",
    "to_443",
    "to_8x8",
    "mask_8x8",
    "ground_distance",
]
