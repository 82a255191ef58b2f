"""The protection-mask file (``econt-protection-mask/1``): its one writer and one reader.

Kept apart from :mod:`econt.faults.ranking` so that the RTL generator can read a mask without
importing the training code the ranking needs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from econt.errors import DataError

MASK_FORMAT = "econt-protection-mask/1"


def write_mask(path: str | Path, protected: np.ndarray, n_bits: int, **provenance: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": MASK_FORMAT, "n_bits": int(n_bits), "bit_order": "register map",
           "protected": sorted(int(b) for b in protected), **provenance}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path


def load_mask(path: str | Path, n_bits: int | None = None) -> np.ndarray:
    """Protected bit indices from a mask file; DataError naming the field on a bad file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: protection mask not found; write one with `econt faults rank`.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}).") from exc
    if not isinstance(doc, dict) or doc.get("format") != MASK_FORMAT:
        raise DataError(f"{path}: field 'format' must be {MASK_FORMAT!r}.")
    if doc.get("bit_order") != "register map":
        raise DataError(f"{path}: field 'bit_order' must be 'register map'.")
    if n_bits is not None and doc.get("n_bits") != n_bits:
        raise DataError(f"{path}: field 'n_bits' is {doc.get('n_bits')}, the design has {n_bits} configuration bits; "
                        "rank the weights of this architecture.")
    prot = doc.get("protected")
    total = int(doc["n_bits"])
    if not isinstance(prot, list) or not all(isinstance(b, int) and 0 <= b < total for b in prot) \
            or len(set(prot)) != len(prot):
        raise DataError(f"{path}: field 'protected' must be a list of distinct bit indices in 0..{total - 1}.")
    return np.asarray(sorted(prot), dtype=np.int64)
