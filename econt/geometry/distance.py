"""Ground distance for the EMD between two 48-cell charge maps."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from econt.geometry.cells import CELL_PITCH_CM, cell_centres

#: The reference codes measure distance in units of half a trigger-cell pitch
#: (one sensor cell), so neighbouring trigger cells are 2 apart.
DISTANCE_UNIT_CM = 0.5 * CELL_PITCH_CM


@lru_cache(maxsize=1)
def ground_distance() -> np.ndarray:
    """``(48, 48)`` float64 Euclidean distances between centres / (pitch/2) (read-only, cached)."""
    xy = cell_centres() / DISTANCE_UNIT_CM
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    dist.setflags(write=False)
    return dist
