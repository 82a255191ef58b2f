"""Reader for the CSV format of the ECON-T autoencoder training studies.

Columns ``CALQ_0 … CALQ_47`` (charges in CALQ units, training index order) followed by
optional metadata columns ``entry, zside, layer, waferu, waferv, simenergy, subdet,
tc_eta, tc_phi`` (and this kit's optional ``thickness_um``, ``region``). A header line
is required. Other columns are kept as float metadata under their own name.

Region: ``region_by="auto"`` uses a ``region`` column if present, else |tc_eta| bands
(:func:`~econt.data.dataset.regions_from_eta`), else ``thickness_um``, else ``"all"``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from econt.data._csvtools import SkipReport, fail_or_skip, finish, read_lines
from econt.data.dataset import DEFAULT_ETA_EDGES, DEFAULT_REGION_NAMES, Dataset, regions_from_eta, regions_from_thickness
from econt.errors import DataError

CALQ_COLUMNS = [f"CALQ_{i}" for i in range(48)]
KNOWN_META = ("entry", "zside", "layer", "waferu", "waferv", "simenergy", "subdet", "tc_eta", "tc_phi", "thickness_um")
#: Physical charge range: the ECON-T's CALQ values are 22-bit unsigned (F2F ≤ 2,031,616 for an HDM
#: times a 12-bit calibration ≤ 4095/2048 → < 2^22, econt.data.eportrx); larger values cannot come
#: from the chip and would overflow the integer model's accumulators.
CALQ_MAX = (1 << 22) - 1
_INT_META = {"entry", "zside", "layer", "waferu", "waferv", "subdet", "thickness_um"}


def read_calq_csv(path: str | Path, skip_bad_rows: bool = False, report: SkipReport | None = None,
                  region_by: Literal["auto", "eta", "thickness", "none"] = "auto",
                  eta_edges: Sequence[float] = DEFAULT_ETA_EDGES,
                  region_names: Sequence[str] = DEFAULT_REGION_NAMES) -> Dataset:
    """Read a training-study CSV into a Dataset (see module docstring for the format)."""
    path = Path(path)
    header, rows = read_lines(path, "CALQ CSV")
    missing = [c for c in CALQ_COLUMNS if c not in header]
    if missing and all(c.lower() in {h.lower() for h in header} for c in CALQ_COLUMNS):
        raise DataError(f"{path}: line 1 (header) spells the charge columns {header[0]!r} …; the names are "
                        "case-sensitive: rename them CALQ_0 … CALQ_47.")
    if missing:
        raise DataError(f"{path}: line 1 (header) lacks column(s) {', '.join(missing[:5])}"
                        f"{' …' if len(missing) > 5 else ''}. The file needs a header with CALQ_0 … CALQ_47 "
                        "followed by optional metadata columns.")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{path}: line 1 (header) repeats column(s) {dup}. Rename or remove the duplicates.")
    has_region = "region" in header
    ncol = len(header)
    rep = report if report is not None else SkipReport()
    rep.rows_read = len(rows)
    calq_idx = [header.index(c) for c in CALQ_COLUMNS]
    calq_set = set(calq_idx)
    region_col = header.index("region") if has_region else -1
    values, regions, kept_lines = [], [], []
    for lineno, cells in rows:
        if len(cells) != ncol:
            fail_or_skip(rep, skip_bad_rows, "wrong column count",
                         f"{path}: line {lineno}: {len(cells)} columns, the header has {ncol}. "
                         "Fix the row (missing or extra commas?).")
            continue
        row, bad = [], None
        for col, c in enumerate(cells):
            if col == region_col:
                row.append(0.0)
                continue
            try:
                v = float(c)
            except ValueError:
                bad = ("non-numeric cells", f"{path}: line {lineno}, column {col + 1} ({header[col]}): {c!r} is not a "
                       "number. Fix the cell.")
                break
            if col in calq_set:
                if not math.isfinite(v):
                    bad = ("NaN/inf charges", f"{path}: line {lineno}, column {col + 1} ({header[col]}): {c} is not a "
                           "finite charge. Replace it with the measured value (0 for an empty cell).")
                    break
                if v > CALQ_MAX:
                    bad = ("charges beyond 22 bits", f"{path}: line {lineno}, column {col + 1} ({header[col]}): "
                           f"charge {c} exceeds the ECON-T's 22-bit CALQ range (max {CALQ_MAX}). Fix the value "
                           "(are the charges in CALQ units?).")
                    break
                if v < 0:
                    bad = ("negative charges", f"{path}: line {lineno}, column {col + 1} ({header[col]}): negative "
                           f"charge {c}; CALQ charges are >= 0. Fix the value (pedestal-subtracted data must be "
                           "clipped upstream, explicitly).")
                    break
            elif header[col] in _INT_META and not (math.isfinite(v) and v == round(v)):
                bad = ("non-integer metadata", f"{path}: line {lineno}, column {col + 1} ({header[col]}): must be an "
                       f"integer, got {c}. Fix the value.")
                break
            elif math.isinf(v):
                bad = ("inf metadata", f"{path}: line {lineno}, column {col + 1} ({header[col]}): {c} is infinite. "
                       "Fix the value (NaN marks an unknown value).")
                break
            row.append(v)
        if bad is not None:
            fail_or_skip(rep, skip_bad_rows, bad[0], bad[1])
            continue
        values.append(row)
        kept_lines.append(lineno)
        if has_region:
            regions.append(cells[region_col])
    finish(rep, path, len(values))
    arr = np.asarray(values, dtype=np.float64)
    charges = arr[:, calq_idx]
    meta: dict[str, np.ndarray] = {}
    for col, name in enumerate(header):
        if col in calq_set or col == region_col:
            continue
        v = arr[:, col]
        if name in _INT_META:
            if np.any(np.isnan(v)) or np.any(v != np.round(v)):
                r = int(np.flatnonzero(np.isnan(v) | (v != np.round(v)))[0])
                raise DataError(f"{path}: line {kept_lines[r]}, column {col + 1} "
                                f"({name}): must be an integer, got {v[r]}. Fix the value.")
            v = v.astype(np.int64)
        meta[name] = v
    if "tc_eta" in meta:
        meta["eta"] = meta["tc_eta"]
    if has_region and region_by in ("auto",):
        meta["region"] = np.asarray(regions)
    elif region_by in ("auto", "eta") and "eta" in meta:
        meta["region"] = regions_from_eta(meta["eta"], eta_edges, region_names)
    elif region_by in ("auto", "thickness") and "thickness_um" in meta:
        meta["region"] = regions_from_thickness(meta["thickness_um"])
    elif region_by in ("eta", "thickness"):
        need = "tc_eta" if region_by == "eta" else "thickness_um"
        raise DataError(f"{path}: region_by='{region_by}' needs a '{need}' column. Add it or use region_by='auto'.")
    return Dataset(charges, meta, f"csv:{path.name}")


def write_calq_csv(ds: Dataset, path: str | Path, meta_columns: Sequence[str] = ("layer", "waferu", "waferv",
                                                                                   "simenergy", "tc_eta")) -> Path:
    """Write a Dataset in the training-study CSV format (``tc_eta`` is taken from ``eta``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [ds.charges]
    names = list(CALQ_COLUMNS)
    for m in meta_columns:
        key = "eta" if m == "tc_eta" else m
        cols.append(np.asarray(ds.meta[key], dtype=np.float64)[:, None])
        names.append(m)
    table = np.hstack(cols)
    with path.open("w") as fh:
        fh.write(",".join(names) + "\n")
        for row in table:
            fh.write(",".join(repr(float(x)) if not float(x).is_integer() else str(int(x)) for x in row) + "\n")
    return path
