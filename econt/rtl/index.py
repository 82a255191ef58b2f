"""``build/rtl/index.json``: the designs the rtl stage generated, for the stages that consume them.

The rtl stage generates every ``configs/rtl/*.yaml`` design into ``build/rtl/<name>/`` and writes
this index; the conformance and asic stages read their designs from it instead of regenerating
them. Schema (version 1)::

    {"schema_version": 1,
     "designs": [{"name": "econt_default",            # RTL config name (= folder name)
                  "config": "configs/rtl/econt_default.yaml",  # relative to the econt package for a kit config, else absolute
                  "config_sha256": "…",                # content of that file when generated
                  "top": "econt_encoder",              # top module
                  "path": "econt_default",             # design folder, relative to the index
                  "files": ["econt_default/econt_vote.v", …],  # Verilog, relative to the index, in
                                                       # compilation order
                  "manifest": "econt_default/manifest.json",
                  "arithmetic": "qkeras" | "chip", "weights": "reconfigurable" | "hardwired",
                  "tmr": "none" | "config" | "full", "pipeline_stages": 2,
                  "config_hash": "…", "verilog_sha256": "…"}, …]}

Paths are relative to the index's folder, so a moved ``build/`` stays valid. :func:`indexed_design`
refuses a design whose RTL config changed since it was generated or whose Verilog was edited,
naming the command that regenerates it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from econt.errors import StageError
from econt.paths import kit_data, work_dir
from econt.rtl.generator import GeneratedDesign

INDEX_NAME = "index.json"
SCHEMA_VERSION = 1
REGENERATE = "`econt run rtl` (the rtl stage) regenerates build/rtl"


@dataclass(frozen=True)
class IndexEntry:
    """One design of the index (paths resolved)."""

    name: str
    config: Path
    config_sha256: str
    top: str
    path: Path
    files: tuple[Path, ...]
    arithmetic: str
    weights: str
    tmr: str
    config_hash: str
    verilog_sha256: str


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rel(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def index_path(root: Optional[Path] = None) -> Path:
    return Path(root or work_dir("rtl")) / INDEX_NAME


def write_index(designs: Iterable[tuple[Path, GeneratedDesign]], root: Optional[Path] = None) -> Path:
    """Write ``<root>/index.json`` for ``(rtl config file, generated design)`` pairs."""
    root = Path(root or work_dir("rtl"))
    rows: list[dict[str, Any]] = []
    for config_file, d in designs:
        m = d.manifest
        rows.append({
            "name": m["name"], "config": _rel(config_file, kit_data()), "config_sha256": _sha256(config_file),
            "top": d.top, "path": _rel(d.path, root), "files": [_rel(f, root) for f in d.files],
            "manifest": _rel(d.path / "manifest.json", root), "arithmetic": m["arithmetic"],
            "weights": m["weights"], "tmr": m["tmr"], "pipeline_stages": m["pipeline_stages"],
            "config_hash": m["config_hash"], "verilog_sha256": m["verilog_sha256"]})
    path = index_path(root)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "designs": rows}, indent=1) + "\n")
    return path


def load_index(root: Optional[Path] = None) -> list[IndexEntry]:
    """The designs listed in ``<root>/index.json`` (default build/rtl)."""
    path = index_path(root)
    if not path.is_file():
        raise StageError(f"{path}: no RTL design index; {REGENERATE} (it generates every configs/rtl design).")
    try:
        doc = json.loads(path.read_text())
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise StageError(f"{path}: schema_version {doc.get('schema_version')!r}, this kit reads "
                             f"{SCHEMA_VERSION}; {REGENERATE}.")
        base = path.parent
        out = []
        for row in doc["designs"]:
            cfg = Path(row["config"])
            out.append(IndexEntry(
                name=row["name"], config=cfg if cfg.is_absolute() else kit_data(str(cfg)),
                config_sha256=row["config_sha256"], top=row["top"], path=base / row["path"],
                files=tuple(base / f for f in row["files"]), arithmetic=row["arithmetic"], weights=row["weights"],
                tmr=row["tmr"], config_hash=row["config_hash"], verilog_sha256=row["verilog_sha256"]))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise StageError(f"{path}: not a valid RTL design index ({exc!r}); {REGENERATE}.") from exc
    return out


def indexed_design(name: str, root: Optional[Path] = None) -> GeneratedDesign:
    """The generated design ``name`` from the index, checked to be current (config and Verilog unchanged)."""
    entries = {e.name: e for e in load_index(root)}
    if name not in entries:
        raise StageError(f"{index_path(root)}: no design '{name}' (have {', '.join(sorted(entries)) or 'none'}); "
                         f"add {name}.yaml to {kit_data('configs', 'rtl')} and run {REGENERATE}.")
    e = entries[name]
    if not e.config.is_file() or _sha256(e.config) != e.config_sha256:
        raise StageError(f"{e.config}: changed (or removed) since build/rtl/{name} was generated; {REGENERATE}.")
    missing = [str(f) for f in e.files if not f.is_file()]
    if missing:
        raise StageError(f"{index_path(root)}: design '{name}' lacks {', '.join(missing)}; {REGENERATE}.")
    digest = hashlib.sha256()
    for f in e.files:
        digest.update(f.read_bytes())
    if digest.hexdigest() != e.verilog_sha256:
        raise StageError(f"{e.path}: the Verilog differs from what the generator wrote (edited by hand?); {REGENERATE}.")
    return GeneratedDesign.load(e.path)


__all__ = ["INDEX_NAME", "IndexEntry", "index_path", "write_index", "load_index", "indexed_design"]
