"""``verilator --lint-only -Wall`` on a generated design."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from econt.errors import ToolError
from econt.rtl.generator import GeneratedDesign

#: Verilator warnings the generator is allowed to produce, with the reason. Empty: the
#: generated Verilog is lint-clean under -Wall with no waivers.
WAIVERS: dict[str, str] = {}


def lint_design(design: GeneratedDesign, log: Path | None = None) -> dict[str, Any]:
    """Run Verilator's linter; returns ``{"lint_warnings": n, "lint_errors": n, "messages": [...]}``."""
    exe = shutil.which("verilator")
    if exe is None:
        raise ToolError("verilator not found. Install it (Debian: apt-get install verilator; `make setup` does).")
    cmd = [exe, "--lint-only", "-Wall", "--top-module", design.top]
    for code in WAIVERS:
        cmd.append(f"-Wno-{code}")
    cmd += [str(f) for f in design.files]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=design.path)
    text = proc.stdout + proc.stderr
    if log is not None:
        log.write_text(" ".join(cmd) + "\n" + text)
    messages = [ln for ln in text.splitlines() if ln.startswith("%")]
    warnings = [ln for ln in messages if ln.startswith("%Warning")]
    errors = [ln for ln in messages if ln.startswith("%Error") and "Exiting due to" not in ln]
    if proc.returncode != 0 and not warnings and not errors:
        raise ToolError(f"verilator failed on {design.path} (exit {proc.returncode}): {text[-2000:]}")
    return {"lint_warnings": len(warnings), "lint_errors": len(errors), "messages": messages,
            "waivers": dict(WAIVERS), "command": " ".join(cmd[:5]) + " <files>"}
