"""Where things live: the working folder (build/, reports/), the install tree and the shared data.

Outputs go where the user works: ``build/`` (caches, intermediate artifacts) and ``reports/``
(summaries, plots, the dashboard) are folders of the *working directory* — the current directory,
or the one given with ``econt --workdir DIR`` (which sets ``ECONT_WORKDIR``). ``ECONT_BUILD`` and
``ECONT_REPORTS`` override each folder on its own.

The kit's own data ships inside the ``econt`` package and is only read: ``econt/configs/`` (data,
emd, model, rtl, sweep, train) and ``econt/asic/pdk_configs/`` (:func:`kit_data`), so a wheel
install finds them as a source checkout does. What exists only in a source checkout (``tests/``)
is found through :func:`source_checkout`, which is None in an installed package.

The reference data (``../shared`` beside the repository or beside the working directory) is never
copied into the repo. ``ECONT_SHARED`` overrides its location.
"""
from __future__ import annotations

import os
from pathlib import Path

from econt.errors import EcontError

#: the ``econt`` package folder (the source tree's or an installed one's)
PACKAGE_ROOT = Path(__file__).resolve().parent


#: build/ (and reports/) folders of the training job for the ECON-T silicon's truncating arithmetic
#: (configs/train/chip_arithmetic.yaml, output_name) and of its exported weights.
CHIP_TRAIN_DIR = "train_chip_arithmetic"
CHIP_EXPORT_DIR = "export_chip_arithmetic"


def kit_data(*parts: str) -> Path:
    """A file or folder of the kit's data inside the package: ``kit_data("configs", "rtl")``,
    ``kit_data("asic", "pdk_configs")`` (read, never written); the package folder without parts."""
    return PACKAGE_ROOT.joinpath(*parts)


def source_checkout() -> Path | None:
    """The source checkout the package is imported from (the folder holding ``pyproject.toml``
    and ``tests/`` beside ``econt/``), or None for an installed package (a wheel has neither)."""
    root = PACKAGE_ROOT.parent
    return root if (root / "pyproject.toml").is_file() and (root / "tests").is_dir() else None


def workdir() -> Path:
    """The working folder: ``ECONT_WORKDIR`` (``econt --workdir``) or the current directory."""
    return Path(os.environ.get("ECONT_WORKDIR") or os.getcwd()).resolve()


def build_root() -> Path:
    """``build/`` of the working folder (``ECONT_BUILD`` overrides it); not created here."""
    env = os.environ.get("ECONT_BUILD")
    return Path(env).resolve() if env else workdir() / "build"


def reports_root() -> Path:
    """``reports/`` of the working folder (``ECONT_REPORTS`` overrides it); not created here."""
    env = os.environ.get("ECONT_REPORTS")
    return Path(env).resolve() if env else workdir() / "reports"


def output_path(rel: str) -> Path:
    """A path spelled "build/…" or "reports/…" under the roots above (other heads: the working folder)."""
    head, _, rest = rel.partition("/")
    base = {"build": build_root, "reports": reports_root}.get(head)
    if base is None:
        return workdir() / rel
    return base() / rest if rest else base()


def ensure_dir(path: str | Path, what: str = "output folder") -> Path:
    """Create folder ``path`` (and parents); a clear error when a part of it is an existing file."""
    path = Path(path)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise EcontError(f"{what} {path}: '{parent}' is an existing file, not a folder. "
                             "Give an output path outside it (or remove the file).")
        if parent.is_dir():
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EcontError(f"{what} {path}: cannot create it ({exc.strerror}). Give a writable path.") from exc
    return path


def ensure_parent(path: str | Path, what: str = "output file") -> Path:
    """``path`` with its parent folder created (see :func:`ensure_dir`); refuses an existing folder."""
    path = Path(path)
    if path.is_dir():
        raise EcontError(f"{what} {path} is an existing folder; give a file name (e.g. {path / 'out'}).")
    ensure_dir(path.parent, what=f"folder of {what}")
    return path


def reports_dir(*parts: str) -> Path:
    """``reports/<parts>`` of the working folder; created on demand."""
    return ensure_dir(reports_root().joinpath(*parts))


def work_dir(*parts: str) -> Path:
    """``build/<parts>`` of the working folder: caches and intermediate artifacts; created on demand."""
    return ensure_dir(build_root().joinpath(*parts))


def shared_candidates() -> list[Path]:
    """Where the shared reference data is looked for, in order."""
    env = os.environ.get("ECONT_SHARED")
    if env:
        return [Path(env)]
    checkout = source_checkout()
    beside_repo = [checkout.parent / "shared"] if checkout is not None else []
    return list(dict.fromkeys([*beside_repo, workdir().parent / "shared", workdir() / "shared"]))


def shared_dir() -> Path | None:
    """The shared reference data folder, or None when it is absent."""
    for candidate in shared_candidates():
        if candidate.is_dir():
            return candidate
    return None


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
        where = " or ".join(str(c) for c in shared_candidates())
        raise EcontError(
            f"reference data '{'/'.join(parts)}' not found under {where}. "
            "Put the shared reference data beside the repository (../shared) "
            "or set ECONT_SHARED to its location."
        )
    return path


def shown(path: str | Path) -> str:
    """``path`` relative to the working folder when inside it (for messages), else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(workdir()))
    except ValueError:
        return str(path)
