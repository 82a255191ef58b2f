"""The one loader of the ECON-T test vectors (``../shared/econt-vectors``).

Every stage that needs the real ECON-T input — data, train, emd, verify, asic, conformance —
reads it here, so all of them see the same 48 charges per crossing:

* words: ``testInput.csv`` (12 ePortRX words per crossing), decoded by
  :func:`econt.data.eportrx.read_eportrx_csv` (in-word split, mux, float-to-fixed, calibration)
  with the registers of one ``init.yaml``: by default ``AE_8x8_c8_S2_ele_qkeras/init.yaml``
  (the deployed configuration). The other shared configuration, ``AE/init.yaml``, has the other
  in-word cell order and the mux reversed to match; it decodes the 3,564 crossings to the same
  charges, value for value (``tests/test_data_vectors.py``).
* cell order: the decoder's output is the chip's CALQ order (mux output; CALQ j drives the j-th
  used pixel of the 8x8 image in raster order, :data:`econt.model.integer.CHIP_CALQ_CELLS`).
  The loader returns the kit's cell order (the training index order, the order of
  ``econt.geometry``'s cell centres and of every model input) unless ``order="chip"`` is asked
  for explicitly — the conformance stage needs that, since it drives the chip's own chain.
* metadata: ``cell_order`` per crossing (``"cells"`` or ``"chip"``, kept in ``.npz`` files) and
  a ``source`` naming the words file, the ``init.yaml`` and the order. :func:`in_order`
  converts a dataset between the two orders using that record, never by guessing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from econt.data._csvtools import SkipReport
from econt.data.dataset import Dataset
from econt.data.eportrx import EcontInputConfig, input_config_from_init_yaml, read_eportrx_csv
from econt.errors import DataError
from econt.model.integer import CHIP_CALQ_CELLS
from econt.model.integer import chip_calq_to_cells as chip_to_cells  # (N, 48) chip CALQ order → cell order
from econt.paths import shared_path

VectorOrder = Literal["cells", "chip"]
ORDERS: tuple[str, ...] = ("cells", "chip")
ORDER_KEY = "cell_order"
#: the shared configuration whose ``init.yaml`` decodes the vectors by default
DEFAULT_CONFIG = "AE_8x8_c8_S2_ele_qkeras"
WORDS_FILE = "testInput.csv"


@dataclass(frozen=True)
class VectorFiles:
    """The words file and the ``init.yaml`` whose input registers decode it."""

    words: Path
    init_yaml: Path


def shared_vector_files(config: str = DEFAULT_CONFIG) -> VectorFiles | None:
    """``../shared/econt-vectors/testInput.csv`` and ``<config>/init.yaml``; None when absent."""
    words = shared_path("econt-vectors", WORDS_FILE)
    init = shared_path("econt-vectors", config, "init.yaml")
    if words is None or init is None:
        return None
    return VectorFiles(Path(words), Path(init))


def cells_to_chip(charges: np.ndarray) -> np.ndarray:
    """``(N, 48)`` in the kit's cell order → the chip's CALQ order (what its ``calq`` inputs carry)."""
    return np.asarray(charges)[..., CHIP_CALQ_CELLS]


def dataset_order(ds: Dataset) -> VectorOrder:
    """The cell order a dataset records; datasets without the record (CSV, synthetic) are in cell order."""
    if ORDER_KEY not in ds.meta:
        return "cells"
    found = sorted(set(np.asarray(ds.meta[ORDER_KEY]).astype(str).tolist()))
    if not found:
        return "cells"
    if len(found) > 1 or found[0] not in ORDERS:
        raise DataError(f"{ds.source or 'dataset'}: metadata '{ORDER_KEY}' holds {found}; a dataset is in one "
                        f"order, 'cells' or 'chip'. Rebuild it with econt.data.vectors.load_econt_vectors.")
    return found[0]  # type: ignore[return-value]


def in_order(ds: Dataset, order: VectorOrder) -> Dataset:
    """``ds`` with its charges in ``order`` (a copy when it has to move cells; ``ds`` itself otherwise)."""
    if order not in ORDERS:
        raise DataError(f"cell order {order!r}: use 'cells' (the kit's order) or 'chip' (the ECON-T CALQ order).")
    have = dataset_order(ds)
    if have == order:
        return ds
    charges = chip_to_cells(ds.charges) if order == "cells" else cells_to_chip(ds.charges)
    meta = {k: v.copy() for k, v in ds.meta.items()}
    meta[ORDER_KEY] = np.full(len(ds), order)
    return Dataset(charges, meta, _with_order(ds.source, order))


def _with_order(source: str, order: str) -> str:
    base = source.split("; cell order:")[0]
    return f"{base}; cell order: {order}"


def load_econt_vectors(words: str | Path | None = None, init_yaml: str | Path | None = None, *,
                       order: VectorOrder = "cells", input_config: EcontInputConfig | None = None,
                       limit: int | None = None, drop_empty: bool = False, skip_bad_rows: bool = False,
                       report: SkipReport | None = None) -> Dataset:
    """The ECON-T test vectors as a :class:`Dataset` in ``order`` (module docstring).

    ``words`` / ``init_yaml`` default to the shared files; ``input_config`` replaces the
    ``init.yaml`` registers (the conformance stage passes the chip configuration it tests).
    ``limit``: the first crossings only. ``drop_empty``: drop crossings whose charges sum to 0.
    ``skip_bad_rows`` / ``report``: as :func:`econt.data.eportrx.read_eportrx_csv`.
    Raises DataError when the shared files are needed and absent.
    """
    if order not in ORDERS:
        raise DataError(f"load_econt_vectors: order={order!r}; use 'cells' (the kit's order) or 'chip'.")
    default = shared_vector_files()
    if words is None or (init_yaml is None and input_config is None):
        if default is None:
            raise DataError("the ECON-T test vectors are not found: ../shared/econt-vectors/testInput.csv and "
                            f"{DEFAULT_CONFIG}/init.yaml (set ECONT_SHARED, or give the words file and init.yaml).")
    words = Path(words) if words is not None else default.words  # type: ignore[union-attr]
    if input_config is None:
        init = Path(init_yaml) if init_yaml is not None else default.init_yaml  # type: ignore[union-attr]
        cfg = input_config_from_init_yaml(init)
        regs = str(init)
    else:
        cfg, regs = input_config, ("the emulator's default input registers (low-density module)"
                                   if input_config == EcontInputConfig() else "given input registers")
    raw = read_eportrx_csv(words, cfg, skip_bad_rows=skip_bad_rows, report=report)
    if limit is not None:
        if limit < 0:
            raise DataError(f"load_econt_vectors: limit={limit}; give a number of crossings ≥ 0 or None.")
        raw = raw.subset(slice(0, limit))
    charges = raw.charges if order == "chip" else chip_to_cells(raw.charges)
    meta = dict(raw.meta)
    meta[ORDER_KEY] = np.full(len(raw), order)
    ds = Dataset(charges, meta, f"econt-vectors {words} decoded with {regs} ({raw.source}); cell order: {order}")
    if drop_empty:
        ds = ds.subset(np.flatnonzero(ds.charges.sum(axis=1) > 0))
    return ds


def shared_econt_vectors(order: VectorOrder = "cells", config: str = DEFAULT_CONFIG, limit: int | None = None,
                         drop_empty: bool = False) -> Dataset | None:
    """:func:`load_econt_vectors` on the shared files, or None when ``../shared`` lacks them."""
    files = shared_vector_files(config)
    if files is None:
        return None
    return load_econt_vectors(files.words, files.init_yaml, order=order, limit=limit, drop_empty=drop_empty)


__all__ = ["VectorFiles", "VectorOrder", "ORDER_KEY", "DEFAULT_CONFIG", "shared_vector_files", "chip_to_cells",
           "cells_to_chip", "dataset_order", "in_order", "load_econt_vectors", "shared_econt_vectors"]
