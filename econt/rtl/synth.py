"""Quick yosys synthesis (pyosys) of a generated design: cell and flip-flop counts.

Used to check that the TMR copies survive synthesis (yosys's ``opt_merge`` merges
identical flops unless they are kept).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from econt.errors import ToolError
from econt.rtl.generator import GeneratedDesign


def synth_stats(design: GeneratedDesign, top: Optional[str] = None, flatten: bool = True,
                workdir: Optional[Path] = None, params: Optional[dict[str, int]] = None) -> dict[str, Any]:
    """Generic ``synth`` (no liberty) of ``top`` (default the design top); returns counts.

    ``flops`` counts all internal flip-flop cells ($_DFF*, $_SDFF*, $_DFFE* ...).
    """
    try:
        from pyosys import libyosys as ys
    except ImportError as exc:  # pyosys is a pinned dependency
        raise ToolError(f"pyosys is not installed ({exc}); run `make setup`.") from exc
    workdir = Path(workdir or design.path)
    top = top or design.top
    d = ys.Design()
    for f in design.files:
        ys.run_pass(f"read_verilog -defer {f}", d)
    chparam = "".join(f" -chparam {k} {v}" for k, v in sorted((params or {}).items()))
    ys.run_pass(f"hierarchy{chparam} -top {top}", d)
    ys.run_pass("synth -booth" + (" -flatten" if flatten else "") + f" -top {top}", d)
    stat = workdir / f"synth_stat_{top}.json"
    ys.run_pass(f"tee -q -o {stat} stat -json", d)
    data = json.loads(stat.read_text())
    cells: dict[str, int] = {}
    for mod in data.get("modules", {}).values():
        for typ, n in mod.get("num_cells_by_type", {}).items():
            cells[typ] = cells.get(typ, 0) + int(n)
    flops = sum(n for t, n in cells.items() if "DFF" in t.upper())
    return {"top": top, "cells": sum(cells.values()), "flops": flops, "cells_by_type": cells}
