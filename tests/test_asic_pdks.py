"""The two further open, fabricable libraries (IHP SG13G2 130 nm, GF180MCU 180 nm) through the kit's
flow on the small MAC array of test_asic_flow: SiliconCompiler + pyosys synthesis onto the library's
cells, OpenSTA 2.0.17 timing, the kit's zero-delay gate-level power (bit-exact against the RTL) and
the timed glitch simulation. Leakage is compared with OpenSTA's own, which reads the liberty file by
itself: the two agree only if the kit converts the file's leakage unit (IHP pW, GF180 uW) right.
"""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest

from test_asic_flow import MAC_ARRAY, _mac_vcd

PREFIX = {"ihp-sg13g2": "sg13g2_", "gf180mcu": "gf180mcu_fd_sc_mcu9t5v0__"}


@pytest.mark.slow
@pytest.mark.parametrize("pdk", sorted(PREFIX))
def test_mac_array_synthesis_timing_and_power(pdk, tmp_path, shared):
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.gatepower import gate_level_power, load_gate_netlist, nominal_slew_ns
    from econt.asic.glitch import glitch_power
    from econt.asic.liberty import load_library_model
    from econt.asic.pdk import load_pdk_config, resolve_library

    cfg = load_pdk_config(pdk)
    src = tmp_path / "mac_array.v"
    src.write_text(MAC_ARRAY)
    req = FlowRequest("mac_array", "mac_array", [src], resolve_library(cfg),
                      scenarios=[PowerScenario("v", "vectorless", 0.1)])
    res = run_fallback(req, tmp_path / "sc", detect_tools())
    sta = res.scenarios["v"]
    assert 0.0 < cfg.clock_period_ns - sta["setup_slack_ns"] < cfg.clock_period_ns
    rpt = (Path(sta["reports_dir"]) / "timing.rpt").read_text()
    assert "slack" in rpt and PREFIX[pdk] in rpt
    text = res.netlist.read_text()
    assert text.count("module mac(") == 1
    model = load_library_model(res.liberty)
    gn = load_gate_netlist(res.netlist, model, "mac_array")
    used = {c.type for m in gn.modules.values() for c in m.cells}
    assert used and all(c.startswith(PREFIX[pdk]) for c in used)
    assert not [c for c in used if any(fnmatch(c, p) for p in cfg.cells.dont_use)]
    slew = nominal_slew_ns(Path(sta["reports_dir"]) / "timing.rpt", default=-1.0)
    assert 0.0 < slew < 5.0
    vcd = _mac_vcd(tmp_path / "sim", src, 0.3, n=100)
    g = gate_level_power(gn, model, "mac_array", vcd, "tb.dut", "clk", cfg.clock_period_ns, slew)
    assert g.mismatched_bits == 0 and g.checked_bits >= 72 * 90
    assert g.seeded_flops == g.n_flops == 72
    assert g.internal_w > 0 and g.switching_w > 0 and 0 < g.clock_w < g.dynamic_w
    # leakage in the kit's units = OpenSTA's reading of the same liberty (state-dependent there)
    assert sta["leakage_w"] > 0 and g.leakage_w == pytest.approx(sta["leakage_w"], rel=0.5)
    glitch = glitch_power(gn, model, vcd, "tb.dut", "clk", cfg.clock_period_ns, slew)
    assert glitch.zero_delay_dynamic_w == pytest.approx(g.dynamic_w, rel=1e-9)
    assert 0.0 < glitch.glitch_share < 1.0


def test_a_failing_flow_names_the_node_and_quotes_its_log(tmp_path):
    """SC in quiet mode only says "errors in: <node>"; the StageError must carry the failing
    node's own log, since a CI run deletes the build folder with its temporary directory."""
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.pdk import load_pdk_config, resolve_library
    from econt.errors import StageError

    src = tmp_path / "broken.v"
    # elaborates (slang accepts it) but yosys rejects the missing module at synthesis
    src.write_text("module broken(input clk, output y);\n  no_such_cell u0 (.a(clk), .y(y));\nendmodule\n")
    req = FlowRequest("broken", "broken", [src], resolve_library(load_pdk_config("nangate45")),
                      scenarios=[PowerScenario("v", "vectorless", 0.1)])
    with pytest.raises(StageError) as info:
        run_fallback(req, tmp_path / "sc", detect_tools())
    text = str(info.value)
    assert "--- node " in text and "| " in text
    assert "no_such_cell" in text
