"""Liberty files prepared for the tools: decompressed and patched into a cache, never in place.

Debian's OpenSTA 2.0.17 computes the internal power of a sky130 cell as zero unless each
``internal_power`` group names its supply (``related_pg_pin : "VPWR";``) — the sky130 library
leaves it implicit. The kit therefore writes a patched copy under ``build/asic/liberty/``,
keyed by the source file's content hash and the patch, so shared files stay untouched and a
changed library gives a new cache entry.
"""
from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from econt.errors import ToolError
from econt.paths import work_dir

PATCH_VERSION = 1  # bump when the patch logic changes so old cache entries are not reused


@dataclass(frozen=True)
class LibertyInfo:
    """Units and nominal conditions read from a liberty header."""

    path: Path
    library_name: str
    nom_voltage: float
    time_unit_ns: float
    leakage_unit_w: float
    n_cells: int


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8", errors="replace")


def add_related_pg_pin(text: str, pg_pin: str) -> tuple[str, int]:
    """Insert ``related_pg_pin : "<pg_pin>";`` into every ``internal_power`` group whose
    simple attributes (before its first sub-group) do not name a supply yet.
    Returns the new text and the number of groups patched."""
    head = re.compile(r"internal_power\s*\(\s*\)\s*\{")
    out: list[str] = []
    pos = 0
    count = 0
    for match in head.finditer(text):
        body_start = match.end()
        nxt = min((i for i in (text.find("{", body_start), text.find("}", body_start)) if i >= 0),
                  default=len(text))
        out.append(text[pos:body_start])
        if "related_pg_pin" not in text[body_start:nxt]:
            out.append(f'\n                related_pg_pin : "{pg_pin}";')
            count += 1
        pos = body_start
    out.append(text[pos:])
    return "".join(out), count


def prepared_liberty(source: Path, related_pg_pin: str | None) -> Path:
    """Return a decompressed (and, when ``related_pg_pin`` is given, patched) copy of
    ``source`` in the kit cache; built on first use."""
    source = Path(source)
    if not source.is_file():
        raise ToolError(f"liberty file {source} does not exist; check the PDK config's library paths.")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    tag = f"pg-{related_pg_pin}" if related_pg_pin else "plain"
    stem = source.name.removesuffix(".gz").removesuffix(".lib")
    out = work_dir("asic", "liberty") / f"{stem}.{digest}.{tag}.v{PATCH_VERSION}.lib"
    if out.is_file():
        return out
    text = _read_text(source)
    if related_pg_pin:
        text, n = add_related_pg_pin(text, related_pg_pin)
        if n == 0 and "related_pg_pin" not in text:
            raise ToolError(f"{source}: no internal_power groups found to patch; is this a liberty file?")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(out)  # atomic: parallel runs never see a half-written library
    return out


def liberty_info(path: Path) -> LibertyInfo:
    """Parse the header units we need to convert tool reports into SI units."""
    text = _read_text(Path(path))
    head = text[:20000]

    def _unit(key: str, default: str) -> str:
        m = re.search(rf"{key}\s*:\s*\"?([0-9.]+\s*[a-zA-Z]+)\"?\s*;", head)
        return m.group(1).replace(" ", "") if m else default

    scale = {"ps": 1e-3, "ns": 1.0, "us": 1e3}
    t = _unit("time_unit", "1ns")
    tm = re.match(r"([0-9.]+)([a-z]+)", t)
    time_ns = float(tm.group(1)) * scale[tm.group(2).lower()] if tm else 1.0
    p = _unit("leakage_power_unit", "1nW")
    pm = re.match(r"([0-9.]+)([a-zA-Z]+)", p)
    pscale = {"pw": 1e-12, "nw": 1e-9, "uw": 1e-6, "mw": 1e-3, "w": 1.0}
    leak_w = float(pm.group(1)) * pscale[pm.group(2).lower()] if pm else 1e-9
    v = re.search(r"nom_voltage\s*:\s*([0-9.]+)", head)
    name = re.search(r"library\s*\(\s*\"?([A-Za-z0-9_]+)\"?\s*\)", head)
    return LibertyInfo(
        path=Path(path),
        library_name=name.group(1) if name else Path(path).stem,
        nom_voltage=float(v.group(1)) if v else float("nan"),
        time_unit_ns=time_ns,
        leakage_unit_w=leak_w,
        n_cells=len(re.findall(r"^\s*cell\s*\(", text, flags=re.M)),
    )
