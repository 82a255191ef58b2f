"""End-to-end ASIC flow with the real tools (SiliconCompiler + pyosys yosys + OpenSTA + Icarus).

Default: a reduced encoder (2 conv filters, 2 latents, same modules and register file style),
tmr=config and tmr=none, on sky130hd, Nangate45 and the 65 nm-style estimate. With ECONT_FULL=1
the full default encoder runs instead (slow: that is the `make asic` workload).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from econt.asic.flow import STA_SCRIPT, read_sta_results

REQUIRED = ("flow_path", "tool_versions", "cell_area_um2", "die_area_mm2", "n_cells", "n_flops", "critical_path_ns",
            "fmax_mhz", "latency_cycles", "power_mw", "energy_per_inference_nj", "config_bits")


@pytest.fixture(scope="module")
def asic_run(tmp_path_factory, shared, full):
    tmp = tmp_path_factory.mktemp("asic")
    old = {k: os.environ.get(k) for k in ("ECONT_BUILD", "ECONT_REPORTS")}
    os.environ["ECONT_BUILD"] = str(tmp / "build")
    os.environ["ECONT_REPORTS"] = str(tmp / "reports")
    try:
        from econt.asic.stage import DEFAULT_PDKS, generate_default_designs, run_asic

        designs = generate_default_designs(("config", "none"), reduced=not full)
        summary = run_asic(designs, DEFAULT_PDKS, workers=2, out_dir=tmp / "reports" / "asic")
        yield {"summary": summary, "designs": designs, "dir": tmp}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _entry(run, tmr, pdk):
    for e in run["summary"]["entries"].values():
        if e["tmr"] == tmr and e["pdk"] == pdk:
            return e
    raise AssertionError(f"no entry for tmr={tmr} pdk={pdk}")


@pytest.mark.slow
def test_synthesis_on_sky130_gives_area_and_timing_report(asic_run):
    e = _entry(asic_run, "config", "sky130hd")
    assert e["flow_path"] in ("fallback", "stock")
    assert e["tool_versions"]["yosys"].startswith("Yosys 0.") and e["tool_versions"]["opensta"]
    assert e["cell_area_um2"] > 0 and e["n_cells"] > 0
    rpt = Path(e["reports"]["timing"]).read_text()
    assert "slack" in rpt and "sky130_fd_sc_hd__" in rpt
    assert 0 < e["critical_path_ns"] < 100 and e["fmax_mhz"] == pytest.approx(1000 / e["critical_path_ns"])
    # hierarchy kept: each filter / neuron module synthesised once, instantiated several times
    mods = e["modules"]
    assert mods["econt_conv_filter"]["instances"] >= 2 and mods["econt_dense_neuron"]["instances"] >= 2
    netlist = Path(e["reports"]["netlist"]).read_text()
    assert netlist.count("module econt_conv_filter") == 1


@pytest.mark.slow
def test_tmr_copies_survive_synthesis(asic_run):
    for pdk in ("sky130hd", "nangate45"):
        tmr, plain = _entry(asic_run, "config", pdk), _entry(asic_run, "none", pdk)
        bits = tmr["config_bits"]
        assert bits > 0 and plain["config_bits"] == bits
        # three copies of every configuration bit are flops after synthesis (not merged into one)
        assert tmr["n_flops"] - plain["n_flops"] >= 2 * bits
        assert tmr["tmr_overhead"]["area_ratio"] > 1.0
        assert tmr["area_split_um2"]["config_and_voters"] > plain["area_split_um2"]["config_and_voters"]


@pytest.mark.slow
def test_power_nonzero_and_rises_with_activity(asic_run, tmp_path):
    e = _entry(asic_run, "config", "sky130hd")
    assert e["power_mw"]["total_mw"] > 0 and e["power_mw"]["dynamic_mw"] > 0 and e["power_mw"]["leakage_mw"] > 0
    assert e["energy_per_inference_nj"] == pytest.approx(e["power_mw"]["total_mw"] * 1e-3 / 40e6 * 1e9)
    assert e["activity"]["n_events"] > 0 and e["activity"]["input_mean_toggle_rate"]["calq"] > 0
    # one OpenSTA invocation per activity level (OpenSTA 2.0.17 caches power after the first report)
    totals = []
    for rate in (0.02, 0.2):
        work = tmp_path / f"a{rate}"
        work.mkdir()
        (work / "econt_sta_vars.tcl").write_text("".join(f"set {k} {{{v}}}\n" for k, v in {
            "econt_liberty": e["library"]["prepared_liberty"], "econt_netlist": e["reports"]["netlist"],
            "econt_top": "econt_encoder", "econt_clock_port": "clk", "econt_clock_period_ns": 25.0,
            "econt_input_delay_ns": 0.0, "econt_activity_mode": "vectorless", "econt_default_activity": rate,
            "econt_activity_file": "", "econt_report_paths": 1, "econt_sta_exe": "sta",
            "econt_power_script": STA_SCRIPT.parent / "econt_power.tcl"}.items()))
        subprocess.run(["sta", "-no_init", "-exit", str(STA_SCRIPT)], cwd=work, capture_output=True, timeout=900)
        totals.append(read_sta_results(work / "reports")["dynamic_w"])
    assert 0 < totals[0] < totals[1]


@pytest.mark.slow
def test_summary_json_markdown_and_charts(asic_run):
    out = asic_run["dir"] / "reports" / "asic"
    doc = json.loads((out / "summary.json").read_text())
    assert len(doc["entries"]) == 6  # 2 designs x (sky130hd, nangate45, cmos65lp-style)
    for e in doc["entries"].values():
        for key in REQUIRED:
            assert key in e, key
        assert {"dynamic_mw", "leakage_mw", "total_mw"} <= set(e["power_mw"])
    est = _entry(asic_run, "config", "cmos65lp-style")
    assert est["estimate"] is True and set(est["per_source"]) == {"sky130hd", "nangate45"}
    assert est["spread"]["energy_per_inference_nj"]["min"] > 0
    assert "published_comparison" in est
    assert doc["target_65nm_energy"]["target_nj"] == 2.4
    md = (out / "summary.md").read_text()
    assert "ESTIMATE" in md and "Stillmaker" in md
    assert (out / "asic_summary.png").stat().st_size > 10_000
    assert (out / "resolved_config.yaml").is_file()
