"""The ASIC stage: generated designs × PDK configs → area, timing, power, energy reports.

``run_asic`` synthesises each (design, real library) pair once through SiliconCompiler, measures
switching activity by simulating real events through the RTL (once per design), runs OpenSTA
per activity scenario (measured; vectorless cross-check), derives the 65 nm-style estimate from
each real library, and writes ``reports/asic/summary.json``, ``summary.md`` and PNG charts.
"""
from __future__ import annotations

import json
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from econt.summary import merge_json
from econt.asic import activity as act
from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback, run_stock
from econt.asic.metrics import derive_65nm, hierarchy_stats, sequential_cells, spread
from econt.asic.pdk import PdkConfig, load_pdk_config, resolve_library
from econt.config import write_resolved_config
from econt.errors import ConfigError, StageError
from econt.paths import reports_dir, work_dir

DEFAULT_PDKS = ("sky130hd", "nangate45", "cmos65lp-style")


@dataclass(frozen=True)
class DesignSpec:
    """A design to implement: a generated folder (manifest.json + Verilog) and its label."""

    label: str
    path: Path


def _load_design(path: Path):
    from econt.rtl.generator import GeneratedDesign

    return GeneratedDesign.load(path)


def generate_default_designs(variants: Sequence[str] = ("config", "none"), reduced: bool = False) -> list[DesignSpec]:
    """Generate the default reconfigurable encoder for each TMR variant with the RTL stage's public API."""
    from econt.rtl.config import load_rtl_config, rtl_config_path
    from econt.rtl.generator import generate_design

    specs = []
    for tmr in variants:
        name = {"none": "econt_default", "config": "econt_tmr_config", "full": "econt_tmr_full"}[tmr]
        cfg = load_rtl_config(rtl_config_path(name))
        out = work_dir("asic", "designs", cfg.name + ("_reduced" if reduced else ""))
        kwargs = {}
        if reduced:
            kwargs = _reduced_arch_kwargs(cfg)
        generate_design(cfg, out, **kwargs)
        specs.append(DesignSpec(label=cfg.name + ("_reduced" if reduced else ""), path=out))
    return specs


def _reduced_arch_kwargs(cfg) -> dict:
    """A small encoder of the same structure (2 filters, 2 latents) for tests and quick runs."""
    import dataclasses

    from econt.model.config import load_encoder_config
    from econt.rtl.arch import arch_from_encoder_config
    from econt.rtl.layout import sequential_layout

    spec = arch_from_encoder_config(load_encoder_config(cfg.model_config), calq_bits=cfg.calq_bits)
    spec = dataclasses.replace(spec, conv_filters=2, latent=2)
    return {"spec": spec, "layout": sequential_layout(spec)}


def _instance_output_ports(design) -> dict[str, list[str]]:
    """Output ports of each sub-module instance of the top (they stay hierarchy pins after synthesis)."""
    import re

    outputs: dict[str, list[str]] = {}
    for f in design.files:
        text = Path(f).read_text()
        for m in re.finditer(r"\bmodule\s+(\w+)\s*(?:#\s*\(.*?\))?\s*\((.*?)\);", text, flags=re.S):
            outputs[m.group(1)] = re.findall(r"\boutput\s+(?:wire|reg)?\s*(?:signed\s*)?(?:\[[^\]]*\]\s*)?(\w+)",
                                             m.group(2))
    top_text = next(Path(f).read_text() for f in design.files if Path(f).stem == design.top)
    inst = {}
    for m in re.finditer(r"^\s*(\w+)\s*(?:#\s*\((?:[^;]*?)\))?\s+(u_\w+)\s*\(", top_text, flags=re.M):
        mod, name = m.group(1), m.group(2)
        if mod in outputs and outputs[mod]:
            inst[name] = outputs[mod]
    return inst


def measure_activity(design, label: str, pdk: PdkConfig, work: Path, simulate_rtl: bool = True) -> dict:
    """Measure switching activity of real events and write the STA activity file.

    ``simulate_rtl``: run the RTL in Icarus and read input and sub-module port rates from the VCD;
    otherwise compute the input-port rates from the stimulus words (identical for inputs)."""
    manifest = design.manifest
    has_cfg = any(p["name"] == "cfg_we" for p in manifest["ports"])
    stim = act.make_stimulus(pdk.activity.source, pdk.activity.n_events, pdk.activity.seed, has_cfg)
    inputs = [p for p in manifest["ports"] if p["dir"] == "input"]
    scope = f"{act.TB_TOP}.dut"
    work.mkdir(parents=True, exist_ok=True)
    if simulate_rtl:
        tb = act.write_testbench(manifest, stim, work, pdk.clock_period_ns)
        vcd = act.simulate(design.files, tb, work)
        rates = act.toggle_rates(vcd, pdk.clock_period_ns)
        lines = act.port_activity_lines(rates, scope, inputs, instance_ports=_instance_output_ports(design))
        vcd.unlink()  # large; the per-bit rates are kept in activity.txt
        method = "Icarus simulation of the RTL (VCD of inputs and sub-module ports)"
    else:
        rates = act.stimulus_toggle_rates(manifest, stim, scope)
        lines = act.port_activity_lines(rates, scope, inputs)
        method = ("input-port rates from the stimulus words (the STA here cannot use internal activities; "
                  "equal to the Icarus VCD input rates, checked in tests)")
    path = work / "activity.txt"
    path.write_text("\n".join(lines) + "\n")
    return {
        "method": method,
        "activity_file": path,
        "events_source": stim.source,
        "weights_source": stim.weights_source,
        "n_events": int(len(stim.calq)),
        "window_cycles": rates["window_cycles"],
        "input_mean_toggle_rate": act.summarise_inputs(rates, scope, inputs),
        "n_instance_pins": sum(1 for line in lines if line.startswith("@pin")),
    }


_TMR_ORDER = {"none": 0, "config": 1, "full": 2}


def _activity_key(manifest: dict) -> str:
    return json.dumps({"ports": manifest.get("ports"), "arch": manifest.get("arch"),
                       "weights": manifest.get("weights"), "latency": manifest.get("latency_cycles"),
                       "register_map": manifest.get("register_map")}, sort_keys=True)


def _activity_job(ds: DesignSpec, pdk: PdkConfig, work: Path, simulate_rtl: bool) -> dict:
    return measure_activity(_load_design(ds.path), ds.label, pdk, work, simulate_rtl)


def _entry_from_flow(res, design, pdk: PdkConfig, act_info: dict, tools: dict) -> dict:
    seq = sequential_cells(res.liberty)
    hs = hierarchy_stats(res.stat_json, seq, design.top)
    meas = res.scenarios["measured"]
    vect = res.scenarios["vectorless"]
    rate_hz = pdk.inference_rate_mhz * 1e6
    crit = pdk.clock_period_ns - meas["setup_slack_ns"]

    def pw(v):
        if "total_w" not in v:  # OpenSTA's power run failed (reported, never replaced by a guess)
            return {"dynamic_mw": None, "leakage_mw": None, "total_mw": None,
                    "error": "OpenSTA power run failed (2.0.17 segfaults in report_power on this netlist); "
                             f"see {Path(v['reports_dir']) / 'power.log'}"}
        return {"dynamic_mw": v["dynamic_w"] * 1e3, "leakage_mw": v["leakage_w"] * 1e3, "total_mw": v["total_w"] * 1e3}

    def energy(v):
        return v["total_w"] / rate_hz * 1e9 if "total_w" in v else None

    latency = int(design.manifest["latency_cycles"])
    return {
        "design": design.manifest.get("name"),
        "pdk": pdk.name,
        "estimate": False,
        "flow_path": res.flow_path,
        "flow_description": tools["flow_description"],
        "tool_versions": res.tool_versions,
        "corner": pdk.corner,
        "voltage_v": pdk.voltage_v,
        "clock_period_ns": pdk.clock_period_ns,
        "tmr": design.manifest.get("tmr"),
        "weights": design.manifest.get("weights"),
        "cell_area_um2": hs["cell_area_um2"],
        "utilisation": pdk.utilisation,
        "die_area_mm2": hs["cell_area_um2"] / pdk.utilisation / 1e6,
        "n_cells": hs["n_cells"],
        "n_flops": hs["n_flops"],
        "area_split_um2": hs["area_split_um2"],
        "modules": hs["modules"],
        "synthesised_modules": hs["synthesised_modules"],
        "critical_path_ns": crit,
        "setup_slack_ns": meas["setup_slack_ns"],
        "hold_slack_ns": meas.get("hold_slack_ns"),
        "fmax_mhz": 1000.0 / crit if crit > 0 else None,
        "latency_cycles": latency,
        "latency_ns": latency * pdk.clock_period_ns,
        "power_mw": pw(meas),
        "power_vectorless_mw": pw(vect),
        "vectorless_toggle_rate": pdk.activity.vectorless_toggle_rate,
        "energy_per_inference_nj": energy(meas),
        "energy_per_inference_vectorless_nj": energy(vect),
        "inference_rate_mhz": pdk.inference_rate_mhz,
        "config_bits": int(design.manifest.get("config_bits", 0)),
        "activity": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in act_info.items()},
                     "sta_input_bits_applied": int(meas.get("activity_ports_applied", 0)),
                     "sta_instance_pins_applied": int(meas.get("activity_pins_applied", 0)),
                     "sta_instance_pins_rejected": int(meas.get("activity_pins_rejected", 0)),
                     "note": "OpenSTA propagates the measured input activities through the netlist; measured "
                             "activities of sub-module ports are applied where the OpenSTA version accepts "
                             "`set_power_activity -pins` (2.0.17 rejects them, so there only inputs are used)"},
        "reports": {"netlist": str(res.netlist), "synthesis_log": str(res.synth_log),
                    "timing": str(Path(meas["reports_dir"]) / "timing.rpt"),
                    "power_measured": str(Path(meas["reports_dir"]) / "power.rpt"),
                    "power_vectorless": str(Path(vect["reports_dir"]) / "power.rpt")},
        "caveats": ["pre-layout: no wire parasitics" + ("" if res.flow_path == "stock" else ", ideal clock (no clock tree)"),
                    "typical corner only"],
    }


def run_one(design_spec: DesignSpec, pdk_name: str, act_info: dict, tools: dict, build: Path) -> dict:
    design = _load_design(design_spec.path)
    pdk = load_pdk_config(pdk_name)
    lib = resolve_library(pdk)
    scenarios = [
        PowerScenario("measured", "measured", 0.0, Path(act_info["activity_file"])),
        PowerScenario("vectorless", "vectorless", pdk.activity.vectorless_toggle_rate),
    ]
    req = FlowRequest(design_name=f"{design_spec.label}_{pdk.name}", top=design.top, verilog=list(design.files),
                      library=lib, scenarios=scenarios)
    runner = run_stock if tools["flow_path"] == "stock" else run_fallback
    res = runner(req, build, tools)
    entry = _entry_from_flow(res, design, pdk, act_info, tools)
    entry["library"] = {"liberty": str(lib.liberty), "found_via": lib.found_via, "prepared_liberty": str(res.liberty)}
    return entry


def run_asic(designs: Sequence[DesignSpec], pdk_names: Sequence[str] = DEFAULT_PDKS, workers: int = 2,
             out_dir: Path | None = None, seed: int = 1234) -> dict:
    """Run every (design, pdk) pair; write summary.json / summary.md / charts; return the summary."""
    t0 = time.time()
    out_dir = out_dir or reports_dir("asic")
    build = work_dir("asic", "sc")
    tools = detect_tools()
    cfgs = {n: load_pdk_config(n) for n in pdk_names}
    real = [n for n, c in cfgs.items() if c.kind == "library"]
    derived = [n for n, c in cfgs.items() if c.kind == "derived"]
    for d in derived:
        for src in cfgs[d].derive_from:
            if src not in cfgs:
                cfgs[src] = load_pdk_config(src)
                real.append(src)
    for n in real:
        resolve_library(cfgs[n])  # fail early with the clear three-place error
    first = cfgs[real[0]]
    # activity once per design (RTL-level, library independent)
    # Designs with the same ports, arithmetic and weight mode compute the same values on the same
    # events (TMR only triplicates registers), so their measured activities are identical: simulate
    # one representative per group (the one with the fewest registers).
    groups: dict[str, list[DesignSpec]] = {}
    for ds in designs:
        groups.setdefault(_activity_key(_load_design(ds.path).manifest), []).append(ds)
    reps = [sorted(g, key=lambda d: _TMR_ORDER.get(_load_design(d.path).manifest.get("tmr"), 9))[0]
            for g in groups.values()]
    acts = {}
    # separate processes: SiliconCompiler changes the working directory while a node runs
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool, \
            tqdm(total=len(reps), desc="activity simulation", unit="design") as bar:
        mode = first.activity.rtl_simulation
        simulate_rtl = mode == "always" or (mode == "auto" and tools["flow_path"] == "stock")
        futs = {pool.submit(_activity_job, ds, first, work_dir("asic", "activity", ds.label), simulate_rtl): ds
                for ds in reps}
        for fut in futs:
            rep = futs[fut]
            info = fut.result()
            for key, members in groups.items():
                if rep in members:
                    for m in members:
                        acts[m.label] = {**info, "simulated_design": rep.label}
            bar.update(1)
    jobs = [(ds, n) for ds in designs for n in real]
    entries: dict[str, dict] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool, \
            tqdm(total=len(jobs), desc="synthesis + STA", unit="run") as bar:
        futs = {pool.submit(run_one, ds, n, acts[ds.label], tools, build): (ds, n) for ds, n in jobs}
        for fut in futs:
            ds, n = futs[fut]
            entries[f"{ds.label}/{n}"] = fut.result()
            bar.update(1)
    for d in derived:
        tgt = cfgs[d]
        for ds in designs:
            per_src = {src: derive_65nm(entries[f"{ds.label}/{src}"], cfgs[src], tgt)
                       for src in tgt.derive_from}
            entries[f"{ds.label}/{d}"] = _derived_entry(ds, tgt, per_src, entries[f"{ds.label}/{tgt.derive_from[0]}"])
    _add_tmr_overhead(entries, designs, list(cfgs))
    summary = {
        "generated_s": round(time.time() - t0, 1),
        "flow_path": tools["flow_path"],
        "flow_description": tools["flow_description"],
        "tool_versions": tools["tool_versions"],
        "entries": entries,
    }
    target = _energy_target(entries, designs, derived, cfgs)
    if target:
        summary["target_65nm_energy"] = target
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_json(out_dir / "summary.json", summary)
    write_resolved_config(out_dir, {"pdks": {n: c for n, c in cfgs.items()},
                                    "designs": [str(d.path) for d in designs]}, seed=seed)
    from econt.asic.report import write_charts, write_markdown

    write_markdown(summary, out_dir / "summary.md")
    write_charts(summary, out_dir)
    return summary


def _derived_entry(ds: DesignSpec, tgt: PdkConfig, per_src: dict, base: dict) -> dict:
    def mean(key, sub=None):
        vals = [(v[key][sub] if sub else v[key]) for v in per_src.values()]
        vals = [x for x in vals if x is not None]
        return sum(vals) / len(vals) if vals else None

    def sp(vals):
        vals = [x for x in vals if x is not None]
        return spread(vals) if vals else None

    spreads = {
        "cell_area_um2": sp([v["cell_area_um2"] for v in per_src.values()]),
        "critical_path_ns": sp([v["critical_path_ns"] for v in per_src.values()]),
        "total_power_mw": sp([v["power_mw"]["total_mw"] for v in per_src.values()]),
        "energy_per_inference_nj": sp([v["energy_per_inference_nj"] for v in per_src.values()]),
    }
    crit = mean("critical_path_ns")
    entry = {
        "design": base["design"],
        "pdk": tgt.name,
        "estimate": True,
        "label": "ESTIMATE (derived by published node scaling, not a synthesis on a 65 nm library)",
        "flow_path": base["flow_path"] + "+scaling",
        "flow_description": base["flow_description"] + "; 65 nm figures derived with "
                                                      f"{tgt.scaling.reference}",
        "tool_versions": base["tool_versions"],
        "voltage_v": tgt.voltage_v,
        "clock_period_ns": tgt.clock_period_ns,
        "tmr": base["tmr"],
        "weights": base["weights"],
        "cell_area_um2": mean("cell_area_um2"),
        "utilisation": tgt.utilisation,
        "die_area_mm2": mean("cell_area_um2") / tgt.utilisation / 1e6,
        "n_cells": base["n_cells"],
        "n_flops": base["n_flops"],
        "critical_path_ns": crit,
        "fmax_mhz": 1000.0 / crit if crit > 0 else None,
        "latency_cycles": base["latency_cycles"],
        "latency_ns": base["latency_cycles"] * tgt.clock_period_ns,
        "power_mw": {k: mean("power_mw", k) for k in ("dynamic_mw", "leakage_mw", "total_mw")},
        "power_vectorless_mw": {k: mean("power_vectorless_mw", k) for k in ("dynamic_mw", "leakage_mw", "total_mw")},
        "energy_per_inference_nj": mean("energy_per_inference_nj"),
        "energy_per_inference_vectorless_nj": mean("energy_per_inference_vectorless_nj"),
        "config_bits": base["config_bits"],
        "per_source": per_src,
        "spread": spreads,
        "activity": base["activity"],
        "caveats": ["ESTIMATE: scaled from sky130hd and Nangate45 synthesis results with Stillmaker & Baas (2017) "
                    "polynomial node/voltage fits; the 65 nm fit is a generic (PTM) 65 nm, not an LP process, so "
                    "leakage especially is uncertain",
                    "pre-layout: no wire parasitics, no clock tree (no place and route ran)",
                    "n_cells / n_flops are those of the first source library's netlist"],
    }
    if tgt.published is not None:
        pub = tgt.published
        entry["published_comparison"] = {
            "label": pub.label,
            "die_area_mm2": pub.die_area_mm2, "power_mw": pub.power_mw,
            "energy_per_inference_nj": pub.energy_per_inference_nj,
            "ratio_die_area": entry["die_area_mm2"] / pub.die_area_mm2,
            "ratio_power": (entry["power_mw"]["total_mw"] / pub.power_mw
                            if entry["power_mw"]["total_mw"] is not None else None),
            "ratio_energy": (entry["energy_per_inference_nj"] / pub.energy_per_inference_nj
                             if entry["energy_per_inference_nj"] is not None else None),
            "caveats": "published figures are for the whole ECON-T chip (all algorithms, I/O, PLL, fast commands, "
                       "clock tree, after layout); this estimate covers only the autoencoder block, pre-layout",
        }
    return entry


def _add_tmr_overhead(entries: dict, designs: Sequence[DesignSpec], pdks: Sequence[str]) -> None:
    by_tmr = {}
    for ds in designs:
        e = next((entries[k] for k in entries if k.startswith(ds.label + "/")), None)
        if e is not None:
            by_tmr.setdefault(e["tmr"], ds.label)
    if "none" not in by_tmr:
        return
    base_label = by_tmr["none"]
    for tmr, label in by_tmr.items():
        if tmr == "none":
            continue
        for p in pdks:
            k, b = f"{label}/{p}", f"{base_label}/{p}"
            if k in entries and b in entries:
                e, eb = entries[k], entries[b]
                e["tmr_overhead"] = {
                    "versus": eb["design"],
                    "area_ratio": e["cell_area_um2"] / eb["cell_area_um2"],
                    "area_increase_um2": e["cell_area_um2"] - eb["cell_area_um2"],
                    "power_ratio": (e["power_mw"]["total_mw"] / eb["power_mw"]["total_mw"]
                                    if e["power_mw"]["total_mw"] and eb["power_mw"]["total_mw"] else None),
                    "power_increase_mw": (e["power_mw"]["total_mw"] - eb["power_mw"]["total_mw"]
                                          if e["power_mw"]["total_mw"] is not None
                                          and eb["power_mw"]["total_mw"] is not None else None),
                    "flop_ratio": e["n_flops"] / eb["n_flops"] if eb["n_flops"] else None,
                }


def _energy_target(entries, designs, derived, cfgs) -> dict | None:
    for d in derived:
        for ds in designs:
            e = entries.get(f"{ds.label}/{d}")
            if e and e["tmr"] == "config" and e["weights"] == "reconfigurable" and cfgs[d].published:
                limit = cfgs[d].published.energy_per_inference_nj
                v = e["energy_per_inference_nj"]
                if v is None:
                    return {"design": e["design"], "pdk": d, "estimate": True, "energy_per_inference_nj": None,
                            "target_nj": limit, "met": None,
                            "reason": "power unavailable from the source libraries' OpenSTA runs"}
                return {"design": e["design"], "pdk": d, "estimate": True,
                        "energy_per_inference_nj": v, "target_nj": limit, "met": v <= limit,
                        "factor_below_target": limit / v if v > 0 else None,
                        "per_source_nj": {s: x["energy_per_inference_nj"] for s, x in e["per_source"].items()}}
    return None




def run_stage(quick: bool = False, pdks: Sequence[str] = DEFAULT_PDKS, workers: int = 2,
              variants: Sequence[str] = ("config", "none")) -> dict:
    """Entry point for ``make asic`` / ``make all``: default encoder (tmr=config and tmr=none for the
    TMR overhead) on sky130hd, Nangate45 and the 65 nm-style estimate. ``quick`` uses a reduced
    encoder (2 filters, 2 latents) for smoke runs."""
    for n in pdks:
        load_pdk_config(n)  # validate names first
    designs = generate_default_designs(variants, reduced=quick)
    return run_asic(designs, pdks, workers=workers)
