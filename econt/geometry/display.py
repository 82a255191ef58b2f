"""Hexagonal event display: one hexagon per trigger cell, colour = charge."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from econt.geometry.cells import CELL_PITCH_CM, cell_centres

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def draw_event(ax: "Axes", charges: np.ndarray, title: str | None = None, vmax: float | None = None,
               cmap: str = "viridis", colorbar: bool = True, label: str = "charge") -> None:
    """Draw one event (48 charges) on ``ax``; zero cells are drawn light grey."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import RegularPolygon

    charges = np.asarray(charges, dtype=float).reshape(48)
    radius = CELL_PITCH_CM / np.sqrt(3.0)  # flat-top hexagons that tile at the cell pitch
    patches = [RegularPolygon((x, y), numVertices=6, radius=radius * 0.98, orientation=np.pi / 6)
               for x, y in cell_centres()]
    coll = PatchCollection(patches, cmap=cmap, edgecolor="black", linewidth=0.4)
    masked = np.ma.masked_where(charges <= 0, charges)
    coll.set_array(masked)
    coll.set_clim(0, vmax if vmax is not None else max(float(charges.max()), 1e-9))
    coll.set_cmap(plt.get_cmap(cmap).with_extremes(bad="#eeeeee"))
    ax.add_collection(coll)
    xy = cell_centres()
    pad = CELL_PITCH_CM
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x [cm]")
    ax.set_ylabel("y [cm]")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(coll, ax=ax, fraction=0.046, pad=0.04, label=label)


def save_event_displays(path, events: list[np.ndarray], titles: list[str] | None = None, ncols: int = 3) -> None:
    """Write a PNG grid of event displays."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(events)
    ncols = min(ncols, max(n, 1))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            draw_event(ax, events[k], title=titles[k] if titles else None)
        else:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
