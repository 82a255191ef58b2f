"""End-to-end ASIC flow with the real tools (SiliconCompiler + pyosys yosys + OpenSTA + Icarus).

Default: a reduced encoder (2 conv filters, 2 latents, same modules and register file style),
tmr=config and tmr=none, on sky130hd, Nangate45 and the 65 nm-style estimate. With ECONT_FULL=1
the full default encoder runs instead (slow: that is the `make asic` workload).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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


MAC_ARRAY = """
module mac (input clk, input [5:0] w, input [7:0] x, output reg [17:0] acc);
  always @(posedge clk) acc <= acc + $signed(w) * $signed({1'b0, x});
endmodule
module mac_array (input clk, input [23:0] w, input [7:0] x, output [71:0] acc);
  genvar i;
  generate for (i = 0; i < 4; i = i + 1) begin : g
    mac u (.clk(clk), .w(w[6*i +: 6]), .x(x), .acc(acc[18*i +: 18]));
  end endgenerate
endmodule
"""


def test_power_nonzero_and_rises_with_activity(tmp_path):
    """Kit flow (SC synthesis + kit OpenSTA task) on a small MAC array: power > 0 and higher at
    higher input activity — one OpenSTA invocation per activity (2.0.17 caches power)."""
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.pdk import load_pdk_config, resolve_library

    src = tmp_path / "mac_array.v"
    src.write_text(MAC_ARRAY)
    tools = detect_tools()
    lib = resolve_library(load_pdk_config("sky130hd"))
    req = FlowRequest("mac_array", "mac_array", [src], lib,
                      scenarios=[PowerScenario("low", "vectorless", 0.02), PowerScenario("high", "vectorless", 0.2)])
    res = run_fallback(req, tmp_path / "sc", tools)
    low, high = res.scenarios["low"], res.scenarios["high"]
    assert low["power_status"] == "ok" and high["power_status"] == "ok"
    assert 0 < low["dynamic_w"] < high["dynamic_w"]
    assert low["leakage_w"] > 0 and low["leakage_w"] == pytest.approx(high["leakage_w"])
    assert "mac" in res.netlist.read_text()  # the repeated MAC stays one module
    assert res.netlist.read_text().count("module mac(") == 1


@pytest.mark.slow
def test_encoder_power_reported_or_failure_explained(asic_run):
    e = _entry(asic_run, "config", "sky130hd")
    p = e["power_mw"]
    if p["total_mw"] is None:  # OpenSTA 2.0.17 crash: said so, with the log, never a made-up number
        assert "OpenSTA" in p["error"] and e["energy_per_inference_nj"] is None
    else:
        assert p["total_mw"] > 0 and p["dynamic_mw"] > 0 and p["leakage_mw"] > 0
        assert e["energy_per_inference_nj"] == pytest.approx(p["total_mw"] * 1e-3 / 40e6 * 1e9)
    assert e["activity"]["n_events"] > 0 and e["activity"]["input_mean_toggle_rate"]["calq"] > 0


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
    assert est["spread"]["cell_area_um2"]["min"] > 0
    if est["energy_per_inference_nj"] is not None:
        assert est["spread"]["energy_per_inference_nj"]["min"] > 0
    else:  # no source library gave power (OpenSTA 2.0.17 crash): the target is then undecided, not faked
        assert doc["target_65nm_energy"]["met"] is None
    assert "published_comparison" in est
    assert doc["target_65nm_energy"]["target_nj"] == 2.4
    md = (out / "summary.md").read_text()
    assert "ESTIMATE" in md and "Stillmaker" in md
    assert (out / "asic_summary.png").stat().st_size > 10_000
    assert (out / "resolved_config.yaml").is_file()
