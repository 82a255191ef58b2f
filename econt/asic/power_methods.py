"""The power-method slot: how the asic stage turns measured activity into power (``power.method`` in
the PDK config, or ``econt asic run --power-method``).

* ``kit``: the kit's liberty calculation (econt.asic.gatepower) on its zero-delay gate-level
  simulation of the synthesised netlist — always available.
* ``opensta``: OpenSTA ``read_saif`` of the kit's measured activity (econt.asic.saif) and
  ``report_power``. Needs OpenSTA >= 2.6: Debian's 2.0.17 has no ``read_saif``/``read_vcd``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from econt.errors import ToolError

OPENSTA_MIN = (2, 6)


@dataclass(frozen=True)
class PowerMethod:
    name: str
    description: str


METHODS = {
    "kit": PowerMethod("kit", "kit gate-level power (econt.asic.gatepower): zero-delay simulation of the synthesised "
                              "netlist on the RTL's sampled ports, liberty internal-power tables, 1/2 C V^2 per net "
                              "transition (sink pin capacitances), cell leakage"),
    "opensta": PowerMethod("opensta", "OpenSTA >= 2.6 read_saif of the kit's measured per-net activity, report_power"),
}


def opensta_version(exe: str | None = None) -> tuple[tuple[int, ...], str]:
    exe = exe or shutil.which("sta")
    if exe is None:
        return (), "not found"
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60)
    text = (out.stdout + out.stderr).strip()
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return (tuple(int(g) for g in m.groups() if g is not None) if m else ()), text or "unknown"


def check_method(name: str, source: str = "power.method") -> PowerMethod:
    """The registered method ``name``, after checking its tool is there; a clear error otherwise."""
    if name not in METHODS:
        raise ToolError(f"{source}: unknown power method '{name}'; known: {', '.join(sorted(METHODS))}.")
    if name == "opensta":
        version, text = opensta_version()
        if version < OPENSTA_MIN:
            raise ToolError(
                f"{source}: power method 'opensta' needs OpenSTA >= {'.'.join(map(str, OPENSTA_MIN))} "
                f"(read_saif / read_vcd); the 'sta' found is {text}. Fix: install a current OpenSTA on PATH, "
                "or use power.method: kit.")
    return METHODS[name]


def opensta_saif_power(sta_exe: str, liberty: Path, netlist: Path, top: str, saif: Path, scope: str,
                       clock_port: str, clock_period_ns: float, work: Path) -> dict:
    """Total, dynamic and leakage power (W) of ``netlist`` from OpenSTA's ``read_saif`` + ``report_power``."""
    work.mkdir(parents=True, exist_ok=True)
    tcl = work / "saif_power.tcl"
    tcl.write_text(
        f"read_liberty {{{liberty}}}\nread_verilog {{{netlist}}}\nlink_design {top}\n"
        f"create_clock -name clk -period {clock_period_ns} [get_ports {clock_port}]\n"
        f"read_saif -scope {scope} {{{saif}}}\nreport_power -digits 6 > {{{work / 'power.rpt'}}}\nexit\n")
    run = subprocess.run([sta_exe, "-no_init", "-exit", str(tcl)], cwd=work, capture_output=True, text=True)
    (work / "saif_power.log").write_text(run.stdout + run.stderr)
    rpt = work / "power.rpt"
    if run.returncode != 0 or not rpt.is_file():
        raise ToolError(f"OpenSTA read_saif power run failed; see {work / 'saif_power.log'}")
    for line in rpt.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "Total" and len(parts) >= 5:
            internal, switching, leakage, total = (float(x) for x in parts[1:5])
            return {"internal_w": internal, "switching_w": switching, "leakage_w": leakage,
                    "dynamic_w": internal + switching, "total_w": total}
    raise ToolError(f"OpenSTA power report {rpt} has no Total row")
