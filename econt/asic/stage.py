"""The ASIC stage: generated designs × PDK configs → area, timing, power, energy reports.

``run_asic`` synthesises each (design, real library) pair once through SiliconCompiler, measures
switching activity by simulating real events through the RTL (once per design), runs OpenSTA
per activity scenario (measured; vectorless cross-check), derives the 65 nm-style estimate from
each real library, and writes ``reports/asic/summary.json``, ``summary.md`` and PNG charts.
"""
from __future__ import annotations

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
from econt.asic.liberty import load_library_model
from econt.asic.metrics import combine_65nm, derive_65nm, hierarchy_stats, is_config_module
from econt.asic.clock_gating import synthesis_sources
from econt.asic.pdk import PDK_CONFIG_DIR, PdkConfig, load_pdk_config, resolve_library
from econt.asic.power_methods import METHODS, check_method, opensta_saif_power
from econt.config import write_resolved_config
from econt.errors import ConfigError, StageError
from econt.paths import reports_dir, work_dir

# the real libraries `make asic` runs and the 65 nm-style estimate. gf180mcu runs by name (--pdk gf180mcu) but is
# not a default until the glitch simulation's inertial filter keeps late transitions (see cmos65lp-style.yaml)
DEFAULT_PDKS = ("sky130hd", "nangate45", "ihp-sg13g2", "cmos65lp-style")


@dataclass(frozen=True)
class DesignSpec:
    """A design to implement: a generated folder (manifest.json + Verilog) and its label."""

    label: str
    path: Path


def _load_design(path: Path):
    from econt.rtl.generator import GeneratedDesign

    return GeneratedDesign.load(path)


# the shipped RTL config of each (TMR variant, configuration storage)
DESIGN_CONFIGS = {("none", "refresh"): "econt_default", ("config", "refresh"): "econt_tmr_config",
                  ("full", "refresh"): "econt_tmr_full", ("selective", "refresh"): "econt_tmr_selective",
                  ("none", "gated"): "econt_gated", ("config", "gated"): "econt_tmr_config_gated",
                  ("full", "gated"): "econt_tmr_full_gated"}


def generate_default_designs(variants: Sequence[str] = ("config", "none"), reduced: bool = False,
                             storages: Sequence[str] = ("refresh",)) -> list[DesignSpec]:
    """Generate the default reconfigurable encoder for each TMR variant and configuration storage
    (``refresh`` | ``gated``) with the RTL stage's public API."""
    from econt.rtl.config import load_rtl_config, rtl_config_path
    from econt.rtl.generator import generate_design

    specs = []
    for tmr, storage in ((t, st) for st in storages for t in variants):
        if (tmr, storage) not in DESIGN_CONFIGS:
            raise ConfigError(f"no shipped RTL config for tmr={tmr} with cfg_storage={storage}; "
                              f"choose from {sorted(DESIGN_CONFIGS)}")
        name = DESIGN_CONFIGS[(tmr, storage)]
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


def measure_activity(design, label: str, pdk: PdkConfig, work: Path) -> dict:
    """Simulate the RTL in Icarus on real events ("measured") and on random input transitions
    ("vectorless"), keeping both VCDs (every signal of the design, one LHC-clock window) for the
    gate-level power calculation, and write the input-port activity file for OpenSTA."""
    manifest = design.manifest
    has_cfg = any(p["name"] == "cfg_we" for p in manifest["ports"])
    stim = act.make_stimulus(pdk.activity.source, pdk.activity.n_events, pdk.activity.seed, has_cfg)
    inputs = [p for p in manifest["ports"] if p["dir"] == "input"]
    scope = f"{act.TB_TOP}.dut"
    work.mkdir(parents=True, exist_ok=True)
    tb = act.write_testbench(manifest, stim, work, pdk.clock_period_ns)
    vcd = act.simulate(design.files, tb, work)
    rates = act.toggle_rates(vcd, pdk.clock_period_ns)
    lines = act.port_activity_lines(rates, scope, inputs)
    path = work / "activity.txt"
    path.write_text("\n".join(lines) + "\n")
    # vectorless cross-check: same register image, every event bit toggling at the configured rate
    vwork = work / "vectorless"
    vstim = act.random_toggle_stimulus(stim, manifest, pdk.activity.vectorless_toggle_rate, pdk.activity.seed)
    vvcd = act.simulate(design.files, act.write_testbench(manifest, vstim, vwork, pdk.clock_period_ns), vwork)
    vrates = act.toggle_rates(vvcd, pdk.clock_period_ns)
    return {
        "method": "Icarus simulation of the RTL on the events below (every signal dumped), then a zero-delay "
                  "gate-level simulation of each synthesised netlist driven by the RTL's sampled instance ports",
        "activity_file": path,
        "vcd_measured": vcd,
        "vcd_vectorless": vvcd,
        "events_source": stim.source,
        "weights_source": stim.weights_source,
        "vectorless_source": vstim.source,
        "n_events": int(len(stim.calq)),
        "window_cycles": rates["window_cycles"],
        "input_mean_toggle_rate": act.summarise_inputs(rates, scope, inputs),
        "vectorless_input_mean_toggle_rate": act.summarise_inputs(vrates, scope, inputs),
    }


def _activity_job(ds: DesignSpec, pdk: PdkConfig, work: Path) -> dict:
    return measure_activity(_load_design(ds.path), ds.label, pdk, work)


def _entry_from_flow(res, design, pdk: PdkConfig, act_info: dict, tools: dict, gate: dict) -> dict:
    seq = load_library_model(res.liberty).sequential_cells()
    hs = hierarchy_stats(res.stat_json, seq, design.top)
    meas = res.scenarios["measured"]
    rate_hz = pdk.inference_rate_mhz * 1e6
    crit = pdk.clock_period_ns - meas["setup_slack_ns"]

    def pw(g) -> dict:
        return {"dynamic_mw": g.dynamic_w * 1e3, "leakage_mw": g.leakage_w * 1e3, "total_mw": g.total_w * 1e3,
                "internal_mw": g.internal_w * 1e3, "switching_mw": g.switching_w * 1e3, "clock_mw": g.clock_w * 1e3}

    def energy(g) -> float:
        return g.total_w / rate_hz * 1e9

    def opensta(v) -> dict:
        if "total_w" not in v:
            return {"total_mw": None, "error": f"OpenSTA power run failed; see {Path(v['reports_dir']) / 'power.log'}"}
        return {"dynamic_mw": v["dynamic_w"] * 1e3, "leakage_mw": v["leakage_w"] * 1e3, "total_mw": v["total_w"] * 1e3}

    gm, gv = gate["measured"], gate["vectorless"]

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
        "cfg_storage": design.manifest.get("cfg_storage", "refresh"),
        "cfg_gate_group": (design.manifest.get("cfg_gating") or {}).get("cfg_gate_group"),
        "clock_gates": int((design.manifest.get("cfg_gating") or {}).get("clock_gates", 0)),
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
        "power_mw": pw(gm),
        "power_vectorless_mw": pw(gv),
        # zero-delay split of power_mw (measured activity); _add_glitches adds the glitch row
        "power_split_mw": {k.replace("_w", "_mw"): v * 1e3 for k, v in gm.split_w(is_config_module).items()},
        "vectorless_toggle_rate": pdk.activity.vectorless_toggle_rate,
        "energy_per_inference_nj": energy(gm),
        "energy_per_inference_vectorless_nj": energy(gv),
        "inference_rate_mhz": pdk.inference_rate_mhz,
        "power_method": "kit",
        "power_method_description": METHODS["kit"].description,
        "gate_sim": {name: {"mismatched_bits": g.mismatched_bits, "checked_bits": g.checked_bits,
                            "seeded_flops": g.seeded_flops, "n_flops": g.n_flops, "n_cycles": g.n_cycles,
                            "mean_toggle_rate": g.mean_toggle_rate, "slew_ns": g.slew_ns,
                            "per_module_mw": {k: v * 1e3 for k, v in g.per_module_w.items()}}
                     for name, g in gate.items()},
        # OpenSTA 2.0.17's own estimate (input-port activities propagated probabilistically); kept as a
        # diagnostic: its propagation through the XOR-rich adder trees is not physical on sky130
        "power_opensta_propagated_mw": {"measured_inputs": opensta(meas)},
        "config_bits": int(design.manifest.get("config_bits", 0)),
        "activity": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in act_info.items()},
                     "note": "every net's transitions are counted in the gate-level simulation of real events; "
                             "zero delay, so glitches are not counted"},
        "reports": {"netlist": str(res.netlist), "synthesis_log": str(res.synth_log),
                    "timing": str(Path(meas["reports_dir"]) / "timing.rpt"),
                    "power_opensta": str(Path(meas["reports_dir"]) / "power.rpt")},
        "caveats": ["pre-layout: no wire parasitics" + ("" if res.flow_path == "stock" else ", ideal clock (no clock tree)"),
                    "typical corner only",
                    "power: zero-delay activity (no glitch power); internal energies read at one nominal slew "
                    f"({gm.slew_ns:.3f} ns, the median slew on the worst timing paths)"],
    }


def gate_power(res, design, pdk: PdkConfig, act_info: dict) -> dict:
    """Gate-level power of the synthesised netlist for the measured and vectorless RTL dumps; a
    gate-level output that differs from the RTL stops the run (the activity would be wrong)."""
    from econt.asic.gatepower import gate_level_power, load_gate_netlist, nominal_slew_ns
    lib = load_library_model(res.liberty)
    netlist = load_gate_netlist(res.netlist, lib, design.top)
    meas_dir = Path(res.scenarios["measured"]["reports_dir"])
    slew = nominal_slew_ns(meas_dir / "timing.rpt", default=0.1)
    out = {}
    for name, key in (("measured", "vcd_measured"), ("vectorless", "vcd_vectorless")):
        g = gate_level_power(netlist, lib, design.top, Path(act_info[key]), f"{act.TB_TOP}.dut", "clk",
                             pdk.clock_period_ns, slew,
                             record_activity=(name == "measured" and pdk.power.method == "opensta"))
        if g.mismatched_bits:
            raise StageError(f"gate-level simulation of {res.netlist} disagrees with the RTL on {g.mismatched_bits} "
                             f"of {g.checked_bits} output bits ({g.mismatch_detail}); power not computed")
        out[name] = g
    return out


# glitch power: timed gate-level simulation of each distinct module (econt.asic.glitch)
GLITCH_MAX_INSTANCES = 2   # sampled instances per module (the sampling error is reported)


def _add_glitches(entry: dict, res, design, pdk: PdkConfig, act_info: dict) -> None:
    """Glitch share of the measured activity; energy per inference with and without glitches."""
    from econt.asic.gatepower import load_gate_netlist
    from econt.asic.glitch import glitch_power

    lib = load_library_model(res.liberty)
    g = glitch_power(load_gate_netlist(res.netlist, lib, design.top), lib, Path(act_info["vcd_measured"]),
                     f"{act.TB_TOP}.dut", "clk", pdk.clock_period_ns, entry["gate_sim"]["measured"]["slew_ns"],
                     max_instances=GLITCH_MAX_INSTANCES)
    zero = entry["energy_per_inference_nj"]
    entry["glitch"] = g.as_dict()
    entry["glitch_share"] = g.glitch_share
    entry["energy_per_inference_zero_delay_nj"] = zero
    entry["energy_per_inference_nj"] = zero + g.glitch_w / (pdk.inference_rate_mhz * 1e6) * 1e9
    entry["power_with_glitches_mw"] = entry["power_mw"]["total_mw"] + g.glitch_w * 1e3
    entry["power_split_mw"]["glitch_mw"] = g.glitch_w * 1e3
    entry["caveats"] = [c.replace("power: zero-delay activity (no glitch power)",
                                  "power_mw: zero-delay activity; glitches from the timed simulation are in "
                                  "glitch_share, power_with_glitches_mw and energy_per_inference_nj")
                        for c in entry["caveats"]]


def run_one(design_spec: DesignSpec, pdk_name: str, act_info: dict, tools: dict, build: Path) -> dict:
    design = _load_design(design_spec.path)
    pdk = load_pdk_config(pdk_name)
    lib = resolve_library(pdk)
    # one OpenSTA node: timing, plus OpenSTA's own power from the measured input activities as a
    # diagnostic (the reported power is the gate-level calculation, for both activity scenarios)
    scenarios = [PowerScenario("measured", "measured", 0.0, Path(act_info["activity_file"]))]
    # clock gates (cfg_storage: gated) are synthesised as the PDK's ICG cell, not as latch + AND
    verilog = synthesis_sources(design.files, lib.liberty, pdk.cells.clock_gate,
                                str(PDK_CONFIG_DIR / f"{pdk.name}.yaml"), build / f"{design_spec.label}_{pdk.name}_sources")
    req = FlowRequest(design_name=f"{design_spec.label}_{pdk.name}", top=design.top, verilog=verilog,
                      library=lib, scenarios=scenarios)
    runner = run_stock if tools["flow_path"] == "stock" else run_fallback
    res = runner(req, build, tools)
    gate = gate_power(res, design, pdk, act_info)
    entry = _entry_from_flow(res, design, pdk, act_info, tools, gate)
    entry["library"] = {"liberty": str(lib.liberty), "found_via": lib.found_via, "prepared_liberty": str(res.liberty)}
    _add_glitches(entry, res, design, pdk, act_info)
    if pdk.power.method == "opensta":
        _opensta_power(entry, res, design, pdk, gate["measured"], tools)
    return entry


def _opensta_power(entry: dict, res, design, pdk: PdkConfig, measured, tools: dict) -> None:
    """Replace the measured power by OpenSTA's read_saif + report_power on the kit's SAIF (method 'opensta')."""
    from econt.asic.saif import write_saif

    work = Path(res.build_dir) / "opensta_saif"
    work.mkdir(parents=True, exist_ok=True)
    saif = write_saif(measured.net_activity, work / "measured.saif", design.top, measured.n_cycles - 1,
                      pdk.clock_period_ns)
    w = opensta_saif_power(tools["executables"]["sta"], res.liberty, res.netlist, design.top, saif,
                           f"{act.TB_TOP}/dut", "clk", pdk.clock_period_ns, work)
    entry["power_kit_mw"] = entry["power_mw"]
    entry["power_mw"] = {k.replace("_w", "_mw"): v * 1e3 for k, v in w.items()}
    entry["energy_per_inference_nj"] = w["total_w"] / (pdk.inference_rate_mhz * 1e6) * 1e9
    entry["power_method"] = "opensta"
    entry["power_method_description"] = METHODS["opensta"].description
    entry["reports"]["saif"] = str(saif)


def run_asic(designs: Sequence[DesignSpec], pdk_names: Sequence[str] = DEFAULT_PDKS, workers: int = 2,
             out_dir: Path | None = None, seed: int = 1234, pdk_overrides: dict[str, dict] | None = None) -> dict:
    """Run every (design, pdk) pair; write summary.json / summary.md / charts; return the summary.
    ``pdk_overrides[name]`` (dotted keys) override fields of PDK config ``name``, e.g.
    ``{"cmos65lp-style": {"derive_from": ["sky130hd", "nangate45"]}}`` for an estimate from two sources."""
    t0 = time.time()
    out_dir = out_dir or reports_dir("asic")
    build = work_dir("asic", "sc")
    tools = detect_tools()
    cfgs = {n: load_pdk_config(n, (pdk_overrides or {}).get(n)) for n in pdk_names}
    real = [n for n, c in cfgs.items() if c.kind == "library"]
    derived = [n for n, c in cfgs.items() if c.kind == "derived"]
    for d in derived:
        for src in cfgs[d].derive_from:
            if src not in cfgs:
                cfgs[src] = load_pdk_config(src)
                real.append(src)
    for n in real:
        resolve_library(cfgs[n])  # fail early with the clear three-place error
        check_method(cfgs[n].power.method, f"{n}: power.method")  # e.g. OpenSTA too old for 'opensta'
    first = cfgs[real[0]]
    # activity once per design (RTL level, library independent). Each design is simulated itself,
    # even where only its registers differ (TMR): the gate-level simulation takes every flip-flop's
    # starting state from the RTL register it is named after.
    acts = {}
    # separate processes: SiliconCompiler changes the working directory while a node runs
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool, \
            tqdm(total=len(designs), desc="activity simulation", unit="design") as bar:
        futs = {pool.submit(_activity_job, ds, first, work_dir("asic", "activity", ds.label)): ds for ds in designs}
        for fut in futs:
            acts[futs[fut].label] = fut.result()
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
    _add_storage_comparison(entries, designs, list(cfgs))
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
    """The 65 nm-style estimate of one design: each quantity the mean of the sources the config's
    rule admits for it (``scaling.counts_for``), with every source's figures and the spread."""
    est = combine_65nm(per_src, tgt)
    crit = est["critical_path_ns"]
    vec_srcs = [v for v in per_src.values() if "dynamic" in v["counts_for"]]
    vec_dyn = sum(v["power_vectorless_mw"]["dynamic_mw"] for v in vec_srcs) / len(vec_srcs)
    vec_leak = est["power_mw"]["leakage_mw"]
    rate_hz = tgt.inference_rate_mhz * 1e6
    counted = {q: est["spread"][k]["sources"] for q, k in (("area", "cell_area_um2"), ("delay", "critical_path_ns"),
                                                             ("dynamic", "dynamic_nj"), ("leakage", "leakage_nj"))}
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
        "cfg_storage": base.get("cfg_storage", "refresh"),
        "inference_rate_mhz": tgt.inference_rate_mhz,
        "weights": base["weights"],
        "cell_area_um2": est["cell_area_um2"],
        "utilisation": tgt.utilisation,
        "die_area_mm2": est["cell_area_um2"] / tgt.utilisation / 1e6,
        "n_cells": base["n_cells"],
        "n_flops": base["n_flops"],
        "critical_path_ns": crit,
        "fmax_mhz": 1000.0 / crit if crit > 0 else None,
        "latency_cycles": base["latency_cycles"],
        "latency_ns": base["latency_cycles"] * tgt.clock_period_ns,
        "power_mw": est["power_mw"],
        "power_with_glitches_mw": est["power_mw"]["total_mw"] + est["glitch_nj"] * rate_hz * 1e-6,
        "power_vectorless_mw": {"dynamic_mw": vec_dyn, "leakage_mw": vec_leak, "total_mw": vec_dyn + vec_leak},
        "power_method": base.get("power_method"),
        "glitch_share": est["glitch_share"],
        "energy_per_inference_nj": est["energy_per_inference_nj"],
        "energy_per_inference_zero_delay_nj": est["energy_per_inference_zero_delay_nj"],
        "energy_split_nj": {"dynamic": est["dynamic_nj"], "glitch": est["glitch_nj"], "leakage": est["leakage_nj"]},
        "energy_per_inference_vectorless_nj": (vec_dyn + vec_leak) * 1e-3 / rate_hz * 1e9,
        "config_bits": base["config_bits"],
        "sources": list(per_src),
        "sources_counted": counted,
        "rule": tgt.scaling.rule,
        "per_source": per_src,
        "spread": est["spread"],
        "activity": base["activity"],
        "caveats": [f"ESTIMATE: scaled from {', '.join(per_src)} synthesis results with Stillmaker & Baas (2017) "
                    "polynomial node/voltage fits; each quantity is the mean of the sources the rule admits "
                    f"(area {', '.join(counted['area'])}; delay {', '.join(counted['delay'])}; dynamic energy "
                    f"{', '.join(counted['dynamic'])}; leakage {', '.join(counted['leakage'])}); the 65 nm fit "
                    "is a generic (PTM) 65 nm, not an LP process, so leakage especially is uncertain",
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


def _labels_by(entries: dict, designs: Sequence[DesignSpec]) -> dict[tuple[str, str], str]:
    """(tmr, cfg_storage) → the label of the first design run with them."""
    out: dict[tuple[str, str], str] = {}
    for ds in designs:
        e = next((entries[k] for k in entries if k.startswith(ds.label + "/")), None)
        if e is not None:
            out.setdefault((e["tmr"], e.get("cfg_storage", "refresh")), ds.label)
    return out


def _dynamic_energy_nj(e: dict) -> float | None:
    """Dynamic energy per inference (with glitches where measured), leakage left out."""
    energy, leak = e.get("energy_per_inference_nj"), e["power_mw"].get("leakage_mw")
    if energy is None or leak is None:
        return None
    return energy - leak * 1e-3 / (e["inference_rate_mhz"] * 1e6) * 1e9


def _add_storage_comparison(entries: dict, designs: Sequence[DesignSpec], pdks: Sequence[str]) -> None:
    """``gated_vs_refresh`` on each gated entry whose refresh twin (same TMR, same PDK) ran."""
    labels = _labels_by(entries, designs)
    for (tmr, storage), label in labels.items():
        base = labels.get((tmr, "refresh"))
        if storage != "gated" or base is None:
            continue
        for p in pdks:
            k, b = f"{label}/{p}", f"{base}/{p}"
            if k not in entries or b not in entries:
                continue
            e, eb = entries[k], entries[b]
            de, db = _dynamic_energy_nj(e), _dynamic_energy_nj(eb)
            e["gated_vs_refresh"] = {
                "versus": eb["design"],
                "dynamic_energy_ratio": de / db if de is not None and db else None,
                "energy_ratio": (e["energy_per_inference_nj"] / eb["energy_per_inference_nj"]
                                 if e["energy_per_inference_nj"] and eb["energy_per_inference_nj"] else None),
                "area_ratio": e["cell_area_um2"] / eb["cell_area_um2"],
                "timing_met": _timing_met(e),
            }


def _timing_met(e: dict) -> bool:
    """Setup slack >= 0 at the entry's clock; a 65 nm-style estimate has no STA run, only its scaled
    critical path (its slack is the clock period minus that path)."""
    slack = e.get("setup_slack_ns")
    if slack is None and e.get("estimate") and e.get("critical_path_ns") is not None:
        slack = e["clock_period_ns"] - e["critical_path_ns"]
    return bool(slack is not None and slack >= 0)


def _add_tmr_overhead(entries: dict, designs: Sequence[DesignSpec], pdks: Sequence[str]) -> None:
    """``tmr_overhead`` of each TMR entry against the tmr=none design of the same storage."""
    labels = _labels_by(entries, designs)
    for (tmr, storage), label in labels.items():
        base_label = labels.get(("none", storage))
        if tmr == "none" or base_label is None:
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


# the admitted sources' energies per inference should lie within ± this % of the estimate
SPREAD_TARGET_PCT = 35.0


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
                sp = e["spread"]["energy_per_inference_nj"]
                return {"design": e["design"], "pdk": d, "estimate": True,
                        "energy_per_inference_nj": v, "target_nj": limit, "met": v <= limit,
                        "factor_below_target": limit / v if v > 0 else None,
                        # each admitted source's energy by the rule (a source whose leakage does not count
                        # carries the estimate's leakage), and how far they spread around the estimate
                        "per_source_nj": sp["values"],
                        "per_source_own_nj": {s: x["energy_per_inference_nj"] for s, x in e["per_source"].items()},
                        "spread_within_pct": sp["within_pct"], "spread_max_over_min": sp["max_over_min"],
                        "spread_target_pct": SPREAD_TARGET_PCT,
                        "spread_met": sp["within_pct"] is not None and sp["within_pct"] <= SPREAD_TARGET_PCT}
    return None




def run_stage(quick: bool = False, pdks: Sequence[str] = DEFAULT_PDKS, workers: int = 2,
              variants: Sequence[str] = ("config", "none"), storages: Sequence[str] = ("refresh",)) -> dict:
    """Entry point for ``make asic`` / ``make all``: default encoder (tmr=config and tmr=none for the
    TMR overhead) on sky130hd, Nangate45 and the 65 nm-style estimate. ``quick`` uses a reduced
    encoder (2 filters, 2 latents) for smoke runs."""
    for n in pdks:
        load_pdk_config(n)  # validate names first
    designs = generate_default_designs(variants, reduced=quick, storages=storages)
    return run_asic(designs, pdks, workers=workers)
