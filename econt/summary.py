"""Stage summaries: ``reports/<stage>/summary.json`` files that several writers update.

A stage run and its benchmark both write into the same summary, so every writer merges its
keys into the file instead of replacing it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def json_default(obj: Any) -> Any:
    """JSON encoding of the numpy scalars/arrays and paths that stage results contain."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def merge_json(path: str | Path, values: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the JSON object at ``path`` (other keys kept); returns the merged object.

    A file that is not valid JSON (e.g. left half-written by an interrupted run) is replaced.
    """
    path = Path(path)
    merged: dict[str, Any] = {}
    if path.is_file():
        try:
            merged = json.loads(path.read_text())
        except json.JSONDecodeError:
            merged = {}
    merged.update(json.loads(json.dumps(values, default=json_default)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged
