"""Where things live: the repository, the reports folder and the shared reference data.

The reference data (``../shared`` beside the repository) is never copied into the
repo. ``ECONT_SHARED`` overrides its location.
"""
from __future__ import annotations

import os
from pathlib import Path

from econt.errors import EcontError

REPO_ROOT = Path(__file__).resolve().parent.parent


#: build/ (and reports/) folders of the training job for the ECON-T silicon's truncating arithmetic
#: (configs/train/chip_arithmetic.yaml, output_name) and of its exported weights.
CHIP_TRAIN_DIR = "train_chip_arithmetic"
CHIP_EXPORT_DIR = "export_chip_arithmetic"


def repo_root() -> Path:
    return REPO_ROOT


def reports_dir(*parts: str) -> Path:
    """``reports/<parts>`` (``ECONT_REPORTS`` overrides the root); created on demand."""
    root = Path(os.environ.get("ECONT_REPORTS", REPO_ROOT / "reports"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir(*parts: str) -> Path:
    """``build/<parts>``: caches and intermediate artifacts (git-ignored)."""
    root = Path(os.environ.get("ECONT_BUILD", REPO_ROOT / "build"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_dir() -> Path | None:
    """The shared reference data folder, or None when it is absent."""
    candidate = Path(os.environ.get("ECONT_SHARED", REPO_ROOT.parent / "shared"))
    return candidate if candidate.is_dir() else None


def shared_path(*parts: str) -> Path | None:
    """A file or folder inside the shared data, or None when it (or shared/) is absent."""
    root = shared_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None


def require_shared(*parts: str) -> Path:
    """Like :func:`shared_path` but raises a clear error when the file is missing."""
    path = shared_path(*parts)
    if path is None:
        where = os.environ.get("ECONT_SHARED", str(REPO_ROOT.parent / "shared"))
        raise EcontError(
            f"reference data '{'/'.join(parts)}' not found under {where}. "
            "Put the shared reference data beside the repository (../shared) "
            "or set ECONT_SHARED to its location."
        )
    return path
