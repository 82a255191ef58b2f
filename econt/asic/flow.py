"""SiliconCompiler 0.38 projects for a generated design: elaborate → synthesis → timing/power.

Two paths, chosen by :func:`detect_tools`:

* ``stock``: OpenROAD and OpenSTA >= 2.6 are installed → SiliconCompiler's own ASIC flow with
  place and route (SC's lambdapdk targets), timing/power from SC's own scripts.
* ``fallback`` (this machine): SC's stock ``elaborate`` (slang) and ``syn_asic`` (yosys with
  ``synth -booth``: a yosys >= 0.48 on PATH, else the kit's pyosys shim ``econt-yosys``), then the kit-owned SC
  task :class:`LegacyStaTask` for Debian OpenSTA 2.0.17, one node per activity scenario
  (that OpenSTA caches power after the first report).

Hierarchy is kept (``flatten`` and ``auto_flatten`` off) so each distinct module — the identical
neurons and filters — is synthesised once; OpenSTA reads the hierarchical netlist.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from econt.asic.liberty import prepared_liberty
from econt.asic.netlist import verilog_to_json
from econt.asic.pdk import PdkConfig, ResolvedLibrary
from econt.asic.tools.opensta.task import (STA_SCRIPT, LegacyStaTask, prepare_sta_node, read_sta_results,
                                           tie_cells_spec)
from econt.asic.tools.yosys import KitStdCellLibrary, configure_synthesis
from econt.errors import StageError, ToolError


# ----------------------------------------------------------------------------- tool discovery
def _version(cmd: Sequence[str]) -> str | None:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0].strip() if text else None


def _parse_ver(text: str | None) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else ()


YOSYS_MIN = (0, 48)       # SiliconCompiler 0.38's yosys tasks
YOSYS_SHIM = "econt-yosys"  # the kit's pyosys entry point (econt.asic.yosys_shim), installed beside python


@dataclass
class YosysChoice:
    exe: str
    version: str
    shim: bool                # the kit's pyosys shim (no real yosys >= 0.48 found)
    rejected: str | None = None  # a yosys found on PATH but too old, e.g. Debian's 0.23


def find_yosys(search_path: str | None = None, shim_dir: Path | None = None) -> YosysChoice:
    """The yosys SiliconCompiler runs: a real ``yosys`` >= 0.48 on ``search_path`` (default PATH),
    else the kit's shim ``econt-yosys`` from ``shim_dir`` (default: beside this interpreter) or PATH."""
    rejected = None
    real = shutil.which("yosys", path=search_path)
    if real:
        version = _version([real, "--version"])
        if _parse_ver(version) >= YOSYS_MIN:
            return YosysChoice(real, version or "", shim=False)
        rejected = f"{real}: {version}"
    shim_dir = Path(sys.executable).parent if shim_dir is None else Path(shim_dir)
    shim = shim_dir / YOSYS_SHIM
    shim_exe = str(shim) if shim.is_file() else shutil.which(YOSYS_SHIM, path=search_path)
    version = _version([shim_exe, "--version"]) if shim_exe else None
    if shim_exe is None or _parse_ver(version) < YOSYS_MIN:
        raise ToolError(
            "yosys >= 0.48 with Tcl is needed by SiliconCompiler 0.38 and none was found "
            f"(yosys on PATH: {rejected or 'none'}; kit shim {YOSYS_SHIM}: {shim_exe or 'not installed'} {version or ''}). "
            f"Fix: `make setup` installs pyosys and the kit's `{YOSYS_SHIM}` entry point into .venv/bin, "
            "or put a yosys >= 0.48 on PATH.")
    return YosysChoice(shim_exe, version or "", shim=True, rejected=rejected)


def detect_tools() -> dict:
    """Find yosys, OpenSTA and OpenROAD and decide which flow path can run."""
    yosys = find_yosys()
    sta = shutil.which("sta")
    openroad = shutil.which("openroad")
    versions = {
        "siliconcompiler": _sc_version(),
        "yosys": yosys.version + (f" ({YOSYS_SHIM})" if yosys.shim else ""),
        "opensta": _version([sta, "-version"]) if sta else None,
        "openroad": _version([openroad, "-version"]) if openroad else None,
    }
    if sta is None:
        raise ToolError("OpenSTA (`sta`) not found. Fix: `make setup` (Debian package opensta) or apt-get install opensta.")
    stock = openroad is not None and _parse_ver(versions["opensta"]) >= (2, 6, 2)
    return {
        "flow_path": "stock" if stock else "fallback",
        "flow_description": (
            "SiliconCompiler stock ASIC flow (OpenROAD place and route, OpenSTA >= 2.6)"
            if stock else
            f"SiliconCompiler: stock slang elaborate + stock yosys syn_asic "
            f"({'pyosys shim ' + YOSYS_SHIM if yosys.shim else 'yosys'}, synth -booth), "
            "kit OpenSTA 2.0.17 task (pre-layout, ideal clocks, no wire parasitics)"
        ),
        "tool_versions": versions,
        "executables": {"yosys": yosys.exe, "sta": sta, "openroad": openroad},
    }


def _sc_version() -> str:
    import siliconcompiler

    return siliconcompiler.__version__


# ----------------------------------------------------------------------------- project
@dataclass
class PowerScenario:
    """One OpenSTA invocation: ``measured`` (per-port toggle rates from simulation) or ``vectorless``."""

    name: str
    mode: str  # "measured" | "vectorless"
    default_activity: float
    activity_file: Path | None = None


@dataclass
class FlowRequest:
    design_name: str
    top: str
    verilog: list[Path]
    library: ResolvedLibrary
    clock_port: str = "clk"
    scenarios: list[PowerScenario] = field(default_factory=list)
    io_delay_ns: float = 0.0
    jobname: str = "job0"


@dataclass
class FlowResult:
    flow_path: str
    tool_versions: dict
    build_dir: Path
    netlist: Path
    stat_json: Path
    synth_log: Path
    scenarios: dict  # name -> parsed STA values + report paths
    liberty: Path


def _make_library(name: str, cfg: PdkConfig, liberty: Path):
    lib = KitStdCellLibrary()
    lib.configure(name, cfg, liberty)
    return lib


def build_project(req: FlowRequest, build_dir: Path, tools: dict):
    """Create the SC ``ASIC`` project for the fallback path."""
    from siliconcompiler import ASIC, Design, Flowgraph, PDK
    from siliconcompiler.tools.slang.elaborate import Elaborate
    from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

    cfg = req.library.pdk
    liberty = prepared_liberty(req.library.liberty, cfg.related_pg_pin or None)
    lib_name = f"econt_{cfg.name}"

    design = Design(req.design_name)
    with design.active_fileset("rtl"):
        design.set_topmodule(req.top)
        for f in req.verilog:
            design.add_file(str(Path(f).resolve()))

    project = ASIC(design)
    project.add_fileset("rtl")
    pdk = PDK(f"econt_{cfg.name}_pdk")
    pdk.set_node(float(cfg.node_nm))
    library = _make_library(lib_name, cfg, liberty)
    library.add_asic_pdk(pdk)
    project.set_pdk(pdk)
    project.set_mainlib(library)
    project.set_asic_delaymodel("nldm")
    scenario = project.constraint.timing.make_scenario("typical")
    scenario.add_libcorner("typical")
    scenario.add_check(["setup", "hold", "power"])

    flow = Flowgraph("econt_fallback")
    flow.node("elaborate", Elaborate())
    syn = ASICSynthesis()
    flow.node("synthesis", syn)
    flow.edge("elaborate", "synthesis")
    for i, sc in enumerate(req.scenarios):
        flow.node("sta", LegacyStaTask(), index=i)
        flow.edge("synthesis", "sta", head_index=i)
    project.set_flow(flow)

    # synthesis options: keep hierarchy so each distinct module is synthesised once
    configure_synthesis(ASICSynthesis.find_task(project), tools["executables"]["yosys"],
                        abc_clock_period_ps=cfg.clock_period_ns * 1000.0)
    sta_tasks = LegacyStaTask.find_task(project)
    sta_tasks = sta_tasks if isinstance(sta_tasks, set) else {sta_tasks}
    sta_task = next(iter(sta_tasks))
    for i, sc in enumerate(req.scenarios):
        idx = str(i)
        sta_task.set("var", "liberty", str(liberty), step="sta", index=idx)
        sta_task.set("var", "clock_port", req.clock_port, step="sta", index=idx)
        sta_task.set("var", "clock_period_ns", cfg.clock_period_ns, step="sta", index=idx)
        sta_task.set("var", "io_delay_ns", req.io_delay_ns, step="sta", index=idx)
        sta_task.set("var", "activity_mode", sc.mode, step="sta", index=idx)
        sta_task.set("var", "default_activity", sc.default_activity, step="sta", index=idx)
        sta_task.set("var", "activity_file", str(sc.activity_file.resolve()) if sc.activity_file else "",
                     step="sta", index=idx)
        sta_task.set("var", "tie_cells", tie_cells_spec(cfg), step="sta", index=idx)

    project.set("option", "builddir", str(build_dir))
    project.set("option", "jobname", req.jobname)
    project.set("option", "quiet", True)
    project.set("option", "nodisplay", True) if project.valid("option", "nodisplay") else None
    return project, liberty


def failed_node_report(job_dir: Path, tail_lines: int = 25) -> str:
    """What a failed SiliconCompiler job's failing nodes said: for every node whose output
    manifest does not record success, its SC log and tool log, last ``tail_lines`` lines each.

    SC in quiet mode prints only "errors in: synthesis/0"; the reason (a tool error, a crash,
    a killed process) is in the node's own logs, which a CI run deletes with its temporary
    folder, so the error message carries them."""
    import json

    job_dir = Path(job_dir)
    parts: list[str] = []
    for node in sorted(p for p in job_dir.glob("*/*") if p.is_dir() and p.name.isdigit()):
        step, index = node.parent.name, node.name
        status = "no output manifest"
        for manifest in node.glob("outputs/*.pkg.json"):
            try:
                record = json.loads(manifest.read_text())["record"]["status"]["node"]
                status = record[step][index]["value"]
            except (OSError, ValueError, KeyError, TypeError):
                status = f"unreadable manifest {manifest.name}"
        if status == "success":
            continue
        parts.append(f"--- node {step}/{index}: {status}")
        for log in (node / f"sc_{step}_{index}.log", node / f"{step}.log"):
            if log.is_file():
                lines = log.read_text(errors="replace").splitlines()[-tail_lines:]
                parts.append(f"    {log}:\n" + "\n".join(f"    | {line}" for line in lines))
        if not any((node / f).is_file() for f in (f"sc_{step}_{index}.log", f"{step}.log")):
            parts.append(f"    (no log in {node})")
    return "\n".join(parts)


def run_fallback(req: FlowRequest, build_dir: Path, tools: dict) -> FlowResult:
    """Run the fallback flow and collect the node outputs."""
    if not req.scenarios:
        raise StageError("asic flow: at least one power scenario is needed")
    project, liberty = build_project(req, build_dir, tools)
    try:
        project.run()
    except Exception as exc:
        job = Path(build_dir) / req.design_name / req.jobname
        raise StageError(f"asic flow for {req.design_name} on {req.library.pdk.name} failed: {exc}. "
                         f"Logs: {job}\n{failed_node_report(job)}") from exc
    job = Path(build_dir) / req.design_name / req.jobname
    syn_dir = job / "synthesis" / "0"
    netlist = syn_dir / "outputs" / f"{req.top}.vg"
    if not netlist.is_file():
        raise StageError(f"asic flow: synthesis produced no netlist {netlist}; see {syn_dir}/synthesis.log")
    scenarios = {}
    for i, sc in enumerate(req.scenarios):
        node = job / "sta" / str(i)
        vals = read_sta_results(node / "reports")
        if "setup_slack_ns" not in vals:
            raise StageError(f"asic flow: OpenSTA produced no timing result for scenario {sc.name}; see {node}/sta.log")
        vals["reports_dir"] = str(node / "reports")
        scenarios[sc.name] = vals
    return FlowResult(
        flow_path="fallback",
        tool_versions=tools["tool_versions"],
        build_dir=job,
        netlist=netlist,
        stat_json=syn_dir / "reports" / "stat.json",
        synth_log=syn_dir / "synthesis.log",
        scenarios=scenarios,
        liberty=liberty,
    )


def run_stock(req: FlowRequest, build_dir: Path, tools: dict) -> FlowResult:
    """SiliconCompiler's own ASIC flow (place and route) where OpenROAD and OpenSTA >= 2.6 exist.

    Uses SC's lambdapdk demo targets for the library (skywater130 / freepdk45), keeps the synthesis
    hierarchy and ``synth -booth`` as in the fallback, and reads SC's own metrics from the final
    timing node (post-route parasitics and clock tree). Activity: SC's stock power reports use
    OpenSTA's default activity, so the 'measured' and 'vectorless' scenarios are then run with the
    kit's OpenSTA task on the routed netlist, which a modern OpenSTA also runs.
    """
    from siliconcompiler import ASIC, Design
    from siliconcompiler.targets import freepdk45_demo, skywater130_demo
    from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

    targets = {"sky130hd": skywater130_demo, "nangate45": freepdk45_demo}
    cfg = req.library.pdk
    if cfg.name not in targets:
        raise StageError(f"stock SiliconCompiler flow: no SC target for PDK {cfg.name}; use the fallback path")
    sdc = Path(build_dir) / f"{req.design_name}.sdc"
    sdc.parent.mkdir(parents=True, exist_ok=True)
    sdc.write_text(f"create_clock -name core_clk -period {cfg.clock_period_ns} [get_ports {req.clock_port}]\n")
    design = Design(req.design_name)
    with design.active_fileset("rtl"):
        design.set_topmodule(req.top)
        for f in req.verilog:
            design.add_file(str(Path(f).resolve()))
    with design.active_fileset("sdc"):
        design.add_file(str(sdc))
    project = ASIC(design)
    project.add_fileset(["rtl", "sdc"])
    targets[cfg.name](project)
    configure_synthesis(ASICSynthesis.find_task(project), tools["executables"]["yosys"])
    project.set("option", "builddir", str(build_dir))
    project.set("option", "jobname", req.jobname)
    try:
        project.run()
    except Exception as exc:
        job = Path(build_dir) / req.design_name / req.jobname
        raise StageError(f"stock SC flow for {req.design_name} failed: {exc}. Logs: {job}\n"
                         f"{failed_node_report(job)}") from exc
    job = Path(build_dir) / req.design_name / req.jobname
    netlists = sorted(job.glob("write.views/*/outputs/*.vg")) or sorted(job.glob("*/*/outputs/*.vg"))
    syn_dir = job / "synthesis" / "0"
    # the kit's STA task then applies the activity scenarios to the final netlist
    final = netlists[-1] if netlists else syn_dir / "outputs" / f"{req.top}.vg"
    liberty = prepared_liberty(req.library.liberty, cfg.related_pg_pin or None)
    # the kit reads netlists as yosys JSON (econt.asic.netlist); a routed netlist has none yet
    final_json = final.with_name(f"{final.stem}.netlist.json")
    if not final_json.is_file():
        final_json = verilog_to_json(final, liberty, tools["executables"]["yosys"])
    scenarios = {}
    for sc in req.scenarios:
        work = job / "econt_sta" / sc.name
        work.mkdir(parents=True, exist_ok=True)
        (work / "inputs").mkdir(exist_ok=True)
        shutil.copy(final, work / "inputs" / f"{req.top}.vg")
        shutil.copy(final_json, work / "inputs" / f"{req.top}.netlist.json")
        cwd = os.getcwd()
        os.chdir(work)  # the helpers write inputs/, outputs/ and reports/ relative to the node directory
        try:
            prepare_sta_node(req.top, liberty=liberty, clock_port=req.clock_port,
                             clock_period_ns=cfg.clock_period_ns, io_delay_ns=req.io_delay_ns,
                             activity_mode=sc.mode, default_activity=sc.default_activity,
                             activity_file=sc.activity_file.resolve() if sc.activity_file else "",
                             report_paths=5, sta_exe=tools["executables"]["sta"], tie_spec=tie_cells_spec(cfg))
        finally:
            os.chdir(cwd)
        subprocess.run([tools["executables"]["sta"], "-no_init", "-exit", str(STA_SCRIPT)], cwd=work,
                       capture_output=True, text=True, check=False)
        vals = read_sta_results(work / "reports")
        if "total_w" not in vals:
            raise StageError(f"OpenSTA produced no power report in {work}")
        vals["reports_dir"] = str(work / "reports")
        scenarios[sc.name] = vals
    return FlowResult(flow_path="stock", tool_versions=tools["tool_versions"], build_dir=job, netlist=final,
                      stat_json=syn_dir / "reports" / "stat.json", synth_log=syn_dir / "synthesis.log",
                      scenarios=scenarios, liberty=liberty)
