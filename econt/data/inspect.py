"""Summaries and a diagnostic PNG of a dataset (rows, occupancy, sums by region, event displays)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from econt.data.dataset import Dataset


def load_any(path: str | Path, init_yaml: str | Path | None = None, skip_bad_rows: bool = False):
    """Load ``.npz`` datasets, training CSVs or ePortRX CSVs (detected from the header).

    Returns ``(dataset, skip_report_or_None)``.
    """
    from econt.data._csvtools import SkipReport
    from econt.errors import DataError

    path = Path(path)
    if path.suffix == ".npz":
        return Dataset.load(path), None
    if not path.is_file():
        raise DataError(f"{path}: file not found. Give a .npz dataset, a CALQ CSV or an ePortRX CSV.")
    with path.open(errors="replace") as fh:
        first = fh.readline()
    report = SkipReport()
    if "calq_0" in first.lower():  # any spelling: read_calq_csv then says what is wrong with the header
        from econt.data.csv_reader import read_calq_csv
        return read_calq_csv(path, skip_bad_rows=skip_bad_rows, report=report), report
    from econt.data.eportrx import EcontInputConfig
    from econt.data.vectors import load_econt_vectors
    # the one ECON-T vector loader: the kit's cell order (the raw decoder gives the chip's CALQ order)
    cfg = None if init_yaml else EcontInputConfig()
    return load_econt_vectors(path, init_yaml, input_config=cfg, skip_bad_rows=skip_bad_rows, report=report), report


def inspect_png(ds: Dataset, out_png: str | Path, n_events: int = 4, seed: int = 0) -> Path:
    """Distributions (occupancy, log10 module sum, cell charges per region) and event displays."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econt.geometry.display import draw_event

    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    q = ds.charges
    regions = ds.regions
    fig = plt.figure(figsize=(16, 8.5), constrained_layout=True)
    gs = fig.add_gridspec(2, max(3, n_events))
    ax = fig.add_subplot(gs[0, 0])
    for r in regions:
        sel = ds.meta["region"] == r
        ax.hist((q[sel] > 0).sum(axis=1), bins=np.arange(-0.5, 49.5, 1), histtype="step", label=f"{r} ({sel.sum()})")
    ax.set_xlabel("occupied trigger cells")
    ax.set_ylabel("samples")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[0, 1])
    s = q.sum(axis=1)
    bins = np.linspace(0, np.log10(max(s.max(), 10)) + 0.1, 60)
    for r in regions:
        sel = ds.meta["region"] == r
        ax.hist(np.log10(np.maximum(s[sel], 1)), bins=bins, histtype="step", label=r)
    ax.set_xlabel("log10(module sum) [CALQ]")
    ax.set_ylabel("samples")
    ax = fig.add_subplot(gs[0, 2])
    pos = q[q > 0]
    bins = np.linspace(0, np.log10(max(pos.max(), 10)) + 0.1, 60) if pos.size else 10
    for r in regions:
        qq = q[ds.meta["region"] == r]
        ax.hist(np.log10(qq[qq > 0]), bins=bins, histtype="step", label=r)
    ax.set_xlabel("log10(cell charge) [CALQ], occupied cells")
    ax.set_yscale("log")
    ax.set_title(ds.source, fontsize=8)
    # half random non-empty modules, half from the 2% with the hottest cell (showers)
    rng = np.random.default_rng(seed)
    nonempty = np.flatnonzero(s > 0)
    hottest = nonempty[np.argsort(q[nonempty].max(axis=1))[::-1][:max(1, nonempty.size // 50)]]
    n_hot = min(n_events // 2, hottest.size)
    pick = list(rng.choice(hottest, size=n_hot, replace=False)) if n_hot else []
    rest = np.setdiff1d(nonempty, pick)
    if rest.size:
        pick += list(rng.choice(rest, size=min(n_events - n_hot, rest.size), replace=False))
    for k, i in enumerate(pick):
        ax = fig.add_subplot(gs[1, k])
        draw_event(ax, q[i], title=f"#{i} {ds.meta['region'][i]} sum={s[i]:.0f}", label="CALQ")
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return out_png
