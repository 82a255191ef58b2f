"""The kit's SiliconCompiler task for Debian OpenSTA 2.0.17 (module-level: SC re-imports tasks by name).

Its Tcl scripts sit beside this module and are found through ``__file__``, so an installed
(non-editable) kit finds them too: ``econt_sta.tcl`` (timing) and ``econt_power.tcl`` (OpenSTA's own
power estimate, run as a child ``sta``).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from siliconcompiler import Task

from econt.asic.power_netlist import tie_cells_of, untie_netlist

SCRIPT_DIR = Path(__file__).resolve().parent
STA_SCRIPT = SCRIPT_DIR / "econt_sta.tcl"
POWER_SCRIPT = SCRIPT_DIR / "econt_power.tcl"


def read_sta_results(reports: Path) -> dict:
    """Parse the kit STA script's ``econt_sta.txt`` and OpenSTA's power table (watts)."""
    values: dict = {}
    for txt in (reports / "econt_sta.txt", reports / "econt_power.txt"):
        if not txt.is_file():
            continue
        for line in txt.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                try:
                    values[parts[0]] = float(parts[1])
                except ValueError:
                    values[parts[0]] = parts[1]
    rpt = reports / "power.rpt"
    if rpt.is_file():
        for line in rpt.read_text().splitlines():
            parts = line.split()
            if parts and parts[0] in ("Sequential", "Combinational", "Macro", "Pad", "Total") and len(parts) >= 5:
                try:
                    internal, switching, leakage, total = (float(x) for x in parts[1:5])
                except ValueError:
                    continue
                key = parts[0].lower()
                values[f"{key}_internal_w"] = internal
                values[f"{key}_switching_w"] = switching
                values[f"{key}_leakage_w"] = leakage
                values[f"{key}_total_w"] = total
        if "total_total_w" in values:
            values["total_w"] = values["total_total_w"]
            values["leakage_w"] = values["total_leakage_w"]
            values["dynamic_w"] = values["total_internal_w"] + values["total_switching_w"]
    return values


def parse_tie_cells(spec: str) -> dict[str, dict[str, str]]:
    """``"cellA:LO:lo cellA:HI:hi"`` → ``{"cellA": {"LO": "lo", "HI": "hi"}}``."""
    cells: dict[str, dict[str, str]] = {}
    for word in spec.split():
        cell, pin, value = word.split(":")
        cells.setdefault(cell, {})[pin] = value
    return cells


def tie_cells_spec(cfg) -> str:
    """The PDK config's tie cells in the task-variable form :func:`parse_tie_cells` reads."""
    return " ".join(f"{c}:{p}:{v}" for c, pins in tie_cells_of(cfg).items() for p, v in pins.items())


def write_power_netlist(netlist: Path, top: str, tie_spec: str) -> tuple[Path, str]:
    """The power run's netlist (tie cells → held ports, see econt.asic.power_netlist; ``netlist`` is
    the synthesised ``.vg``, read through the yosys JSON beside it) and the Tcl list of
    ``{port duty}`` pairs the power script holds still; writes ``reports/untie.json``."""
    out = Path("power") / f"{top}.power.vg"  # not outputs/: SC rejects undeclared node outputs
    out.parent.mkdir(exist_ok=True)
    Path("reports").mkdir(exist_ok=True)
    rep = untie_netlist(netlist, out, top, parse_tie_cells(tie_spec))
    Path("reports/untie.json").write_text(json.dumps({
        "removed_tie_cells": rep.removed_tie_cells, "modules_with_ties": rep.modules_with_ties,
        "top_ports": rep.top_ports}, indent=1))
    return out, " ".join(f"{{{p} {d}}}" for p, d in rep.top_ports.items())


def write_sta_vars(path: Path, values: dict) -> None:
    """The ``econt_sta_vars.tcl`` both kit OpenSTA scripts source."""
    path.write_text("".join(f"set {k} {{{v}}}\n" for k, v in values.items()))


def prepare_sta_node(top: str, *, liberty: Path | str, clock_port: str, clock_period_ns: float,
                     io_delay_ns: float, activity_mode: str, default_activity: float,
                     activity_file: Path | str, report_paths: int, sta_exe: str, tie_spec: str) -> None:
    """In an STA node's working directory (``inputs/<top>.vg`` and its ``.netlist.json`` there):
    the power run's untied netlist and ``econt_sta_vars.tcl``, for the kit task and the stock path alike."""
    netlist = Path("inputs") / f"{top}.vg"
    power_netlist, tie_ports = write_power_netlist(netlist, top, tie_spec)
    write_sta_vars(Path("econt_sta_vars.tcl"), {
        "econt_liberty": liberty,
        "econt_netlist": netlist,
        "econt_top": top,
        "econt_clock_port": clock_port,
        "econt_clock_period_ns": clock_period_ns,
        "econt_input_delay_ns": io_delay_ns,
        "econt_activity_mode": activity_mode,
        "econt_default_activity": default_activity,
        "econt_activity_file": activity_file,
        "econt_report_paths": report_paths,
        "econt_sta_exe": sta_exe,
        "econt_power_script": POWER_SCRIPT,
        "econt_power_netlist": power_netlist,
        "econt_tie_ports": tie_ports,
    })


class LegacyStaTask(Task):
    """Timing and power on a synthesised netlist with Debian OpenSTA 2.0.17."""

    def __init__(self):
        super().__init__()
        self.add_parameter("activity_mode", "<vectorless,measured>", "how input activity is set", "vectorless")
        self.add_parameter("default_activity", "float", "toggles per clock cycle on unmeasured inputs", 0.1)
        self.add_parameter("activity_file", "str", "file of '<port> <toggles/cycle> <duty>' lines", "")
        self.add_parameter("liberty", "str", "prepared liberty file (kit cache)", "")
        self.add_parameter("clock_port", "str", "clock port of the top module", "clk")
        self.add_parameter("clock_period_ns", "float", "clock period in ns", 25.0)
        self.add_parameter("io_delay_ns", "float", "external input/output delay in ns", 0.0)
        self.add_parameter("report_paths", "int", "number of worst paths to report", 5)
        self.add_parameter("tie_cells", "str",
                           "tie cells as 'cell:pin:lo|hi' words; the power run replaces them by held ports", "")

    def tool(self):
        return "opensta"

    def task(self):
        return "econt_sta"

    def parse_version(self, stdout):
        return stdout.strip().split()[0] if stdout.strip() else ""

    def setup(self):
        super().setup()
        self.set_exe("sta", vswitch="-version")
        self.add_version(">=2.0")
        self.set_script(str(STA_SCRIPT), dataroot=None)
        self.add_input_file(ext="vg")
        self.add_input_file(ext="netlist.json")   # the same netlist as yosys JSON: the power run's untie reads it
        self.add_regex("errors", r"^Error")
        self.add_regex("warnings", r"^Warning")

    def runtime_options(self):
        return ["-no_init", "-exit", *super().runtime_options()]

    def pre_process(self):
        super().pre_process()
        prepare_sta_node(
            self.design_topmodule, liberty=self.get("var", "liberty"), clock_port=self.get("var", "clock_port"),
            clock_period_ns=self.get("var", "clock_period_ns"), io_delay_ns=self.get("var", "io_delay_ns"),
            activity_mode=self.get("var", "activity_mode"), default_activity=self.get("var", "default_activity"),
            activity_file=self.get("var", "activity_file"), report_paths=self.get("var", "report_paths"),
            sta_exe=shutil.which("sta") or "sta", tie_spec=self.get("var", "tie_cells"))

    def post_process(self):
        super().post_process()
        values = read_sta_results(Path("reports"))
        if "setup_slack_ns" in values:
            self.record_metric("setupslack", values["setup_slack_ns"], source_file="reports/econt_sta.txt",
                               source_unit="ns")
        if "total_w" in values:
            self.record_metric("totalpower", values["total_w"] * 1e3, source_file="reports/power.rpt",
                               source_unit="mW")
            self.record_metric("leakagepower", values["leakage_w"] * 1e3, source_file="reports/power.rpt",
                               source_unit="mW")
