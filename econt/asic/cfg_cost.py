"""Cost of the configuration storage alone: synthesise ``econt_cfg_regs`` of several TMR variants.

The TMR variants ``none``, ``config`` and ``selective`` differ only in the configuration register
file (the datapath, normaliser and pipeline registers are the same RTL), so their difference in
silicon is the difference of this one module. Synthesising it alone (the kit's SiliconCompiler
fallback flow with ``top = econt_cfg_regs``) costs minutes where the full encoder costs more than
half an hour per design. Area and flops come from yosys ``stat``; power from OpenSTA 2.0.17 on
the synthesised module in its steady state between reloads: the clock toggles every cycle, the
write port is idle (activity 0 on every input but the clock), so every flop's clock-pin energy
and the leakage are counted and data switching is zero (a refresh register file reloads its own
value). A whole-chip figure is this module plus the shared rest of the encoder, which these
runs do not synthesise (``shared_rest`` is reported as not measured unless given).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

CFG_MODULE = "econt_cfg_regs"


@dataclass
class CfgRegsCost:
    design: str
    tmr: str
    pdk: str
    config_bits: int
    protected_bits: int | None
    manifest_config_flops: int
    cell_area_um2: float
    n_cells: int
    n_flops: int
    power_total_mw: float | None
    power_dynamic_mw: float | None
    power_leakage_mw: float | None
    energy_per_inference_nj: float | None
    setup_slack_ns: float | None
    synth_seconds: float
    netlist: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cfg_regs_cost(design_path: Path, pdk_name: str, build: Path) -> CfgRegsCost:
    """Synthesise and time the register file of the generated design at ``design_path``."""
    from econt.asic.clock_gating import synthesis_sources
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.liberty import load_library_model
    from econt.asic.metrics import hierarchy_stats
    from econt.asic.pdk import PDK_CONFIG_DIR, load_pdk_config, resolve_library
    from econt.rtl.generator import GeneratedDesign

    design = GeneratedDesign.load(design_path)
    m = design.manifest
    pdk = load_pdk_config(pdk_name)
    lib = resolve_library(pdk)
    tools = detect_tools()
    label = f"{m['name']}_cfgregs_{pdk.name}"
    verilog = synthesis_sources(design.files, lib.liberty, pdk.cells.clock_gate,
                                str(PDK_CONFIG_DIR / f"{pdk.name}.yaml"), build / f"{label}_sources")
    # steady state between reloads: inputs idle (activity 0), the clock toggling every cycle
    req = FlowRequest(design_name=label, top=CFG_MODULE, verilog=verilog, library=lib,
                      scenarios=[PowerScenario("idle", "vectorless", 0.0)])
    t0 = time.perf_counter()
    res = run_fallback(req, build, tools)
    secs = time.perf_counter() - t0
    hs = hierarchy_stats(res.stat_json, load_library_model(res.liberty).sequential_cells(), CFG_MODULE)
    v = res.scenarios["idle"]
    rate_hz = pdk.inference_rate_mhz * 1e6
    total = v.get("total_w")
    return CfgRegsCost(
        design=m["name"], tmr=m["tmr"], pdk=pdk.name, config_bits=int(m["config_bits"]),
        protected_bits=m.get("protected_bits"), manifest_config_flops=int(m["config_flops"]),
        cell_area_um2=float(hs["cell_area_um2"]), n_cells=int(hs["n_cells"]), n_flops=int(hs["n_flops"]),
        power_total_mw=None if total is None else total * 1e3,
        power_dynamic_mw=None if total is None else v["dynamic_w"] * 1e3,
        power_leakage_mw=None if total is None else v["leakage_w"] * 1e3,
        energy_per_inference_nj=None if total is None else total / rate_hz * 1e9,
        setup_slack_ns=v.get("setup_slack_ns"), synth_seconds=round(secs, 1), netlist=str(res.netlist))


def compare(costs: Sequence[CfgRegsCost], out: Path) -> dict[str, Any]:
    """Side-by-side table (ratios against tmr=config) written to ``out`` (JSON)."""
    by = {c.tmr: c for c in costs}
    ref = by.get("config")
    rows = {}
    for c in costs:
        r = c.to_dict()
        if ref is not None:
            r["area_over_tmr_config"] = c.cell_area_um2 / ref.cell_area_um2
            r["flops_over_tmr_config"] = c.n_flops / ref.n_flops
            if c.power_total_mw is not None and ref.power_total_mw:
                r["power_over_tmr_config"] = c.power_total_mw / ref.power_total_mw
        rows[c.tmr] = r
    doc = {"module": CFG_MODULE, "method": __doc__.strip().split("\n\n")[1].replace("\n", " "), "designs": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


def run_cfg_cost(variants: Sequence[str] = ("none", "config", "selective"), pdk_name: str = "sky130hd",
                 reduced: bool = False, storage: str = "refresh") -> dict[str, Any]:
    """Generate the default encoder for each TMR variant (the shipped RTL configs), synthesise its
    register file alone on ``pdk_name`` and write ``reports/asic/cfg_regs_cost[_reduced].json``."""
    from econt.asic.stage import generate_default_designs
    from econt.paths import reports_dir, work_dir

    costs = []
    for tmr in variants:
        spec = generate_default_designs([tmr], reduced=reduced, storages=[storage])[0]
        costs.append(cfg_regs_cost(spec.path, pdk_name, work_dir("asic", "cfg_cost", "sc")))
    name = "cfg_regs_cost" + ("_reduced" if reduced else "") + ("" if storage == "refresh" else f"_{storage}")
    doc = compare(costs, reports_dir("asic") / f"{name}.json")
    doc["report"] = str(reports_dir("asic") / f"{name}.json")
    return doc
