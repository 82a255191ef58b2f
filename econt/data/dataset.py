"""The one in-memory dataset type of the kit, and its ``.npz`` file format.

A :class:`Dataset` is ``charges`` — ``(N, 48)`` float64 trigger-cell charges in CALQ
units (integer-valued for hardware data) in the kit's cell order (the training index order;
``econt.data.vectors`` records ``meta["cell_order"]`` for the ECON-T vectors and gives the
chip's CALQ order only when asked; the raw ``read_eportrx_csv`` output is in chip order) — plus
per-sample metadata arrays of length N and a free-text ``source``.

Standard metadata keys (always present; missing ones are filled with the defaults
below so every stage can rely on them):

========== ======= ==========================================================
key        dtype   meaning (default when unknown)
========== ======= ==========================================================
layer      int64   HGCAL layer number, 1-based (-1)
eta        float64 pseudorapidity of the module centre (nan)
waferu     int64   wafer u coordinate (0)
waferv     int64   wafer v coordinate (0)
thickness_um int64 silicon thickness in µm: 120, 200, 300 (0 = unknown)
region     str     detector-region label used for per-region weights ("all")
simenergy  float64 simulated energy attributed to the module, GeV (nan)
========== ======= ==========================================================

Any further key (e.g. ``entry``, ``zside``, ``subdet``, ``bx``) is kept as is.

``.npz`` schema (version 1), written with ``numpy.savez_compressed`` and read with
``allow_pickle=False``: ``schema_version`` (int, 0-d), ``source`` (str, 0-d),
``charges`` (N,48) float64, and one array ``meta__<key>`` per metadata key
(strings as fixed-width unicode). See ``data/README.md``.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from econt.errors import DataError

N_CELLS = 48
SCHEMA_VERSION = 1

#: Standard metadata keys with their dtype and the value used when unknown.
STANDARD_META: dict[str, tuple[type, object]] = {
    "layer": (np.int64, -1),
    "eta": (np.float64, np.nan),
    "waferu": (np.int64, 0),
    "waferv": (np.int64, 0),
    "thickness_um": (np.int64, 0),
    "region": (np.str_, "all"),
    "simenergy": (np.float64, np.nan),
}

#: Default |eta| bands → region names (HGCAL silicon: thinner sensors at higher |eta|,
#: where the fluence is larger; 300 µm outside, 200 µm in the middle, 120 µm inside).
DEFAULT_ETA_EDGES: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0)
DEFAULT_REGION_NAMES: tuple[str, ...] = ("eta1p5_2p0", "eta2p0_2p5", "eta2p5_3p0")
THICKNESS_REGION_NAMES: dict[int, str] = {300: "si300um", 200: "si200um", 120: "si120um"}


def regions_from_eta(eta: np.ndarray, edges: Sequence[float] = DEFAULT_ETA_EDGES,
                     names: Sequence[str] = DEFAULT_REGION_NAMES) -> np.ndarray:
    """Region label per sample from |eta| bands ``edges[i] <= |eta| < edges[i+1]``.

    Values outside the bands go to the nearest band (the HGCAL acceptance is 1.5–3.0;
    modules straddling the edges still need weights); NaN eta gives ``"unknown"``.
    """
    if len(names) != len(edges) - 1:
        raise DataError(f"regions_from_eta: {len(edges)} edges need {len(edges) - 1} names, got {len(names)}.")
    eta = np.abs(np.asarray(eta, dtype=np.float64))
    idx = np.clip(np.searchsorted(np.asarray(edges), eta, side="right") - 1, 0, len(names) - 1)
    out = np.asarray(names, dtype=np.str_)[idx]
    out = out.astype(f"<U{max(7, max(len(n) for n in names))}")
    out[np.isnan(eta)] = "unknown"
    return out


def regions_from_thickness(thickness_um: np.ndarray) -> np.ndarray:
    """Region label per sample from the silicon thickness (120/200/300 µm)."""
    t = np.asarray(thickness_um, dtype=np.int64)
    out = np.full(t.shape, "unknown", dtype="<U8")
    for um, name in THICKNESS_REGION_NAMES.items():
        out[t == um] = name
    return out


def _standardise(key: str, values: np.ndarray | Sequence, n: int, where: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if arr.shape != (n,):
        raise DataError(f"{where}: metadata '{key}' has shape {arr.shape}, expected ({n},). "
                        "Give one value per sample.")
    if key in STANDARD_META:
        dtype = STANDARD_META[key][0]
        try:
            arr = arr.astype(np.str_) if dtype is np.str_ else arr.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: metadata '{key}' cannot be converted to {np.dtype(dtype).name}: {exc}.") from exc
    return arr


@dataclass
class Dataset:
    """Charges ``(N, 48)`` float64 in CALQ units, metadata arrays of length N, source text."""

    charges: np.ndarray
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or "Dataset"
        charges = np.asarray(self.charges, dtype=np.float64)
        if charges.ndim != 2 or charges.shape[1] != N_CELLS:
            raise DataError(f"{where}: charges must have shape (N, 48), got {charges.shape}.")
        self.charges = charges
        n = charges.shape[0]
        meta = {k: _standardise(k, v, n, where) for k, v in dict(self.meta).items()}
        for key, (dtype, default) in STANDARD_META.items():
            if key not in meta:
                meta[key] = np.full(n, default, dtype=dtype) if dtype is not np.str_ else np.full(n, default, dtype="<U8")
        self.meta = meta

    def __len__(self) -> int:
        return int(self.charges.shape[0])

    @property
    def regions(self) -> list[str]:
        """Sorted distinct region labels."""
        return sorted(set(self.meta["region"].tolist()))

    def subset(self, idx: np.ndarray | Sequence[int] | slice) -> "Dataset":
        """Samples selected by integer indices, a boolean mask or a slice (copies)."""
        if isinstance(idx, slice):
            sel = np.arange(len(self))[idx]
        else:
            sel = np.asarray(idx)
            if sel.dtype == bool:
                if sel.shape != (len(self),):
                    raise DataError(f"{self.source}: boolean mask of shape {sel.shape} for {len(self)} samples.")
                sel = np.flatnonzero(sel)
            elif sel.size and not np.issubdtype(sel.dtype, np.integer):
                raise DataError(f"{self.source}: subset indices must be integers or a boolean mask.")
        sel = sel.astype(np.int64)
        if sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
            raise DataError(f"{self.source}: subset index out of range for {len(self)} samples.")
        return Dataset(self.charges[sel].copy(), {k: v[sel].copy() for k, v in self.meta.items()}, self.source)

    @staticmethod
    def concat(datasets: Iterable["Dataset"], source: str | None = None) -> "Dataset":
        """Concatenate datasets; metadata keys present in only some get their defaults elsewhere."""
        parts = list(datasets)
        if not parts:
            raise DataError("Dataset.concat: nothing to concatenate (empty list).")
        keys: list[str] = []
        for p in parts:
            keys += [k for k in p.meta if k not in keys]
        meta: dict[str, np.ndarray] = {}
        for k in keys:
            cols = []
            for p in parts:
                if k in p.meta:
                    cols.append(p.meta[k])
                else:
                    ref = next(q.meta[k] for q in parts if k in q.meta)
                    fill = "" if ref.dtype.kind == "U" else (np.nan if ref.dtype.kind == "f" else 0)
                    cols.append(np.full(len(p), fill, dtype=ref.dtype))
            meta[k] = np.concatenate(cols)
        src = source if source is not None else " + ".join(dict.fromkeys(p.source for p in parts))
        return Dataset(np.concatenate([p.charges for p in parts], axis=0), meta, src)

    def save(self, path: str | Path) -> Path:
        """Write the dataset as ``.npz`` (schema version 1, see module docstring)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise DataError(f"{path}: datasets are saved as .npz; give a path ending in .npz.")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"schema_version": np.array(SCHEMA_VERSION), "source": np.array(self.source),
                  "charges": self.charges}
        for k, v in self.meta.items():
            if v.dtype == object:
                v = v.astype(np.str_)
            arrays[f"meta__{k}"] = v
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Dataset":
        """Read a dataset written by :meth:`save`; raises DataError naming the file and the problem."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: dataset file not found. Generate one with `econt data generate --out {path}`.")
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic[:2] != b"PK":  # not a zip: a CSV (or other text) named where an .npz is expected
            raise DataError(f"{path}: not an .npz dataset (it looks like a {'CSV/text' if magic.isascii() else 'binary'} "
                            f"file). Convert a CSV with `econt data convert {path} --out {path.with_suffix('.npz')}`.")
        try:
            with np.load(path, allow_pickle=False) as z:
                files = set(z.files)
                missing = {"schema_version", "charges"} - files
                if missing:
                    raise DataError(f"{path}: not an econt dataset (missing {', '.join(sorted(missing))}). "
                                    "Write it with Dataset.save or `econt data generate`.")
                version = int(z["schema_version"])
                if version != SCHEMA_VERSION:
                    raise DataError(f"{path}: dataset schema version {version}, this kit reads {SCHEMA_VERSION}. "
                                    "Regenerate the file with this version of the kit.")
                charges = z["charges"]
                source = str(z["source"]) if "source" in files else path.name
                meta = {f[len("meta__"):]: z[f] for f in z.files if f.startswith("meta__")}
        except DataError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: cannot read as .npz dataset ({exc}). Check the file is complete.") from exc
        if not np.all(np.isfinite(charges)):
            raise DataError(f"{path}: charges contain NaN or inf; the file is corrupt. Regenerate it.")
        calq_max = (1 << 22) - 1  # the ECON-T's 22-bit CALQ range (econt.data.csv_reader.CALQ_MAX)
        if charges.size and (charges.min() < 0 or charges.max() > calq_max):
            row = int(np.flatnonzero((charges < 0).any(axis=1) | (charges > calq_max).any(axis=1))[0])
            raise DataError(f"{path}: field 'charges' row {row}: values {charges.min():g}..{charges.max():g} outside "
                            f"the ECON-T's CALQ range 0..{calq_max} (22 bits). Fix the charges (CALQ units, >= 0).")
        if len(charges) == 0:
            raise DataError(f"{path}: field 'charges' has 0 rows; a dataset needs at least one sample. Regenerate it.")
        return cls(charges, meta, source)

    def summary(self) -> dict:
        """Rows, occupancy and charge sums overall and per region (plain JSON-able dict)."""
        def stats(q: np.ndarray) -> dict:
            if len(q) == 0:
                return {"rows": 0}
            occ = (q > 0).sum(axis=1)
            s = q.sum(axis=1)
            return {"rows": int(len(q)), "occupancy_mean": float(occ.mean()),
                    "occupancy_p5_p50_p95": [float(x) for x in np.percentile(occ, [5, 50, 95])],
                    "sum_mean": float(s.mean()),
                    "sum_p5_p50_p95": [float(x) for x in np.percentile(s, [5, 50, 95])],
                    "max_cell": float(q.max())}
        out = {"source": self.source, **stats(self.charges), "by_region": {}}
        for r in self.regions:
            out["by_region"][r] = stats(self.charges[self.meta["region"] == r])
        return out

