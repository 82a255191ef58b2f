"""Reconstruction quality: exact EMD statistics, EMD vs occupancy / |eta|, energy response.

Everything here works on plain arrays: ``inputs`` (N, 48) are the charges the
chip sees (CALQ units or any positive scale) and ``decoded`` (N, 48) the
decoder's output on any scale; the EMD is scale-free (both maps are
sum-normalised by :func:`econt.emd.exact.emd_batch`), the energy response
compares sums after undoing the per-sample normalisation the caller applied.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from econt.emd.exact import emd_batch


def emd_per_sample(inputs: np.ndarray, decoded: np.ndarray, workers: int = 2) -> np.ndarray:
    """Exact EMD per pair; NaN where input or output is empty (see econt.emd.exact)."""
    decoded = np.clip(np.asarray(decoded, dtype=np.float64), 0.0, None)  # a linear decoder may emit tiny negatives
    return emd_batch(np.asarray(inputs, dtype=np.float64), decoded, workers=workers)


def emd_stats(emd: np.ndarray) -> dict[str, float]:
    """Mean, median, central 68% band (16th–84th percentile) over the finite values, and counts."""
    emd = np.asarray(emd, dtype=np.float64)
    ok = np.isfinite(emd)
    vals = emd[ok]
    if vals.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "q16": float("nan"), "q84": float("nan"),
                "n": 0, "n_undefined": int((~ok).sum())}
    q16, q50, q84 = np.percentile(vals, [16, 50, 84])
    return {"mean": float(vals.mean()), "median": float(q50), "q16": float(q16), "q84": float(q84),
            "n": int(vals.size), "n_undefined": int((~ok).sum())}


def occupancy(inputs: np.ndarray) -> np.ndarray:
    """Number of cells above the data set's floor per sample.

    The floor is the smallest cell value in ``inputs`` (0 for zero-suppressed data; the real
    ECON-T vectors decode an empty cell's float code 0 to a small non-zero value, so there
    "occupied" means above that pedestal).
    """
    arr = np.asarray(inputs)
    floor = arr.min() if arr.size else 0
    return (arr > floor).sum(axis=-1)


def energy_response(input_norm: np.ndarray, decoded_norm: np.ndarray) -> dict[str, float]:
    """Σ decoded / Σ input per sample, both in the network's normalised units.

    The decoded sum times the per-sample normalisation factor is the module energy a
    back end would reconstruct from the latent code alone; its ratio to the input sum is
    the response. Reports the mean response, its r.m.s. (the resolution) and the
    68% band width / 2 (robust to tails).
    """
    ratio = response_ratio(input_norm, decoded_norm)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return {"response_mean": float("nan"), "response_rms": float("nan"), "response_sigma68": float("nan")}
    q16, q84 = np.percentile(ratio, [16, 84])
    return {"response_mean": float(ratio.mean()), "response_rms": float(ratio.std()),
            "response_sigma68": float((q84 - q16) / 2.0)}


def _binned(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    centres, med, lo, hi = [], [], [], []
    ok = np.isfinite(y) & np.isfinite(x)
    for a, b in zip(edges[:-1], edges[1:]):
        sel = ok & (x >= a) & (x < b)
        if sel.sum() < 5:
            continue
        q16, q50, q84 = np.percentile(y[sel], [16, 50, 84])
        centres.append((a + b) / 2)
        med.append(q50)
        lo.append(q16)
        hi.append(q84)
    return np.array(centres), np.array(med), np.array(lo), np.array(hi)


def plot_emd_vs(variable: str, xs: Mapping[str, np.ndarray], emds: Mapping[str, np.ndarray], path: Path,
                edges: Sequence[float], title: str = "", xlabel: str | None = None) -> None:
    """Median EMD with the 68% band in bins of ``variable``, one curve per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.asarray(edges, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, emd in emds.items():
        c, med, lo, hi = _binned(np.asarray(xs[name], dtype=float), np.asarray(emd, dtype=float), edges)
        if c.size == 0:
            continue
        line, = ax.plot(c, med, marker="o", ms=3, label=name)
        ax.fill_between(c, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xlabel(xlabel or variable)
    ax.set_ylabel("EMD (median, 68% band)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_emd_hist(emds: Mapping[str, np.ndarray], path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [np.asarray(e)[np.isfinite(e)] for e in emds.values()]
    top = max((np.percentile(f, 99) for f in finite if f.size), default=1.0)
    bins = np.linspace(0, top, 60)
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, _), vals in zip(emds.items(), finite):
        if vals.size:
            ax.hist(vals, bins=bins, histtype="step", lw=1.5, label=f"{name}: mean {vals.mean():.3f}")
    ax.set_xlabel("EMD")
    ax.set_ylabel("samples")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_response(responses: Mapping[str, np.ndarray], path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = np.linspace(0.0, 2.0, 81)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in responses.items():
        r = np.asarray(r)[np.isfinite(r)]
        if r.size:
            ax.hist(np.clip(r, 0, 2), bins=bins, histtype="step", lw=1.5,
                    label=f"{name}: {r.mean():.3f} ± {r.std():.3f}")
    ax.set_xlabel("Σ decoded / Σ input")
    ax.set_ylabel("samples")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def response_ratio(input_norm: np.ndarray, decoded_norm: np.ndarray) -> np.ndarray:
    """Per-sample Σ decoded / Σ input (NaN for empty inputs)."""
    s_in = np.asarray(input_norm, dtype=np.float64).sum(axis=-1)
    s_out = np.clip(np.asarray(decoded_norm, dtype=np.float64), 0, None).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s_in > 0, s_out / np.where(s_in > 0, s_in, 1.0), np.nan)


def best_worst_indices(emd: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``n`` lowest and ``n`` highest finite EMD values."""
    idx = np.flatnonzero(np.isfinite(emd))
    order = idx[np.argsort(emd[idx], kind="stable")]
    return order[:n], order[::-1][:n]
