"""Clock-gated registers through the real flow (SiliconCompiler + pyosys yosys + OpenSTA 2.0.17):
the RTL's ``econt_clock_gate`` becomes the PDK's integrated clock-gating cell in synthesis
(econt.asic.clock_gating), and the kit's gate-level power simulates it as a gated clock
(econt.asic.gatepower): the gated flops hold between writes exactly as in the RTL, the gated
clock nets switch only on open edges, and clock power falls against the same register file
whose flops are clocked every cycle.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from econt.rtl.generator import CLOCK_GATE_MODEL
from test_asic_flow import stream_vcd

REGFILE_GATED = """
module regfile (input clk, input rst_n, input we, input [1:0] addr, input [7:0] wdata, output [31:0] q);
  genvar j;
  generate for (j = 0; j < 4; j = j + 1) begin : g
    wire en = !rst_n || (we && addr == j);
    wire gclk;
    (* keep *) econt_clock_gate u_cg (.clk(clk), .en(en), .gclk(gclk));
    reg [7:0] r;
    always @(posedge gclk) r <= rst_n ? wdata : 8'd0;
    assign q[8*j +: 8] = r;
  end endgenerate
endmodule
"""

REGFILE_REFRESH = """
module regfile (input clk, input rst_n, input we, input [1:0] addr, input [7:0] wdata, output [31:0] q);
  genvar j;
  generate for (j = 0; j < 4; j = j + 1) begin : g
    reg [7:0] r;
    always @(posedge clk) r <= !rst_n ? 8'd0 : (we && addr == j) ? wdata : r;
    assign q[8*j +: 8] = r;
  end endgenerate
endmodule
"""

N_CYCLES = 120
WRITE_RATE = 0.1


def _simulate(work: Path, sources: list[Path]) -> tuple[Path, np.ndarray]:
    """Icarus run with a write in ~10 % of the cycles; returns the VCD and the stimulus words."""
    rng = np.random.default_rng(7)
    we = rng.random(N_CYCLES) < WRITE_RATE
    addr = rng.integers(0, 4, N_CYCLES)
    data = rng.integers(0, 256, N_CYCLES)
    words = (we.astype(int) << 10) | (addr << 8) | data
    vcd = stream_vcd(work, sources, "  reg we = 0; reg [1:0] addr = 0; reg [7:0] wdata = 0;\n  wire [31:0] q;",
                     "regfile dut (.clk(clk), .rst_n(rst_n), .we(we), .addr(addr), .wdata(wdata), .q(q));",
                     "we, addr, wdata", words.tolist(), 11)
    return vcd, words


def _flow(tmp: Path, name: str, rtl: str, pdk_name: str, gated: bool):
    from econt.asic.clock_gating import synthesis_sources
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.gatepower import gate_level_power
    from econt.asic.liberty import load_library_model
    from econt.asic.pdk import load_pdk_config, resolve_library

    work = tmp / f"{name}_{pdk_name}"
    work.mkdir(parents=True)
    src = work / "regfile.v"
    src.write_text(rtl)
    rtl_files = [src]
    if gated:
        (work / "econt_clock_gate.v").write_text(CLOCK_GATE_MODEL)
        rtl_files.append(work / "econt_clock_gate.v")
    cfg = load_pdk_config(pdk_name)
    lib = resolve_library(cfg)
    syn_files = synthesis_sources(rtl_files, lib.liberty, cfg.cells.clock_gate, pdk_name,
                                  work / "syn_sources")
    req = FlowRequest(f"regfile_{name}", "regfile", syn_files, lib,
                      scenarios=[PowerScenario("v", "vectorless", 0.1)])
    res = run_fallback(req, work / "sc", detect_tools())
    model = load_library_model(res.liberty)
    vcd, words = _simulate(work / "sim", rtl_files)
    power = gate_level_power(res.netlist, model, "regfile", vcd, "tb.dut", "clk", 25.0, 0.1, record_activity=True)
    return res, model, power, words


@pytest.mark.slow
@pytest.mark.parametrize("pdk_name", ["sky130hd", "nangate45"])
def test_clock_gates_map_to_the_icg_cell_and_gated_flops_hold(tmp_path, pdk_name):
    from econt.asic.pdk import load_pdk_config

    icg = load_pdk_config(pdk_name).cells.clock_gate
    res, model, gated, words = _flow(tmp_path, "gated", REGFILE_GATED, pdk_name, gated=True)
    netlist = res.netlist.read_text()
    assert netlist.count(f"{icg} ") == 1            # one ICG cell inside the econt_clock_gate module
    assert "econt_clock_gate" in netlist
    assert not any(model.cells[c].latch for c in model.cells if f"{c} " in netlist)  # no latch from the model
    # the gated flops reproduce the RTL's held values on every sampled cycle
    assert gated.mismatched_bits == 0 and gated.checked_bits > 0
    assert gated.seeded_flops == gated.n_flops == 32
    # the gated clock nets switch twice per open edge: the clock gates' output ports make as
    # many transitions as there are writes (the enable before each edge) in the window
    T = gated.n_cycles
    gclk_tc = sum(nets.get("gclk", (0, 0))[0] for path, nets in gated.net_activity.items() if path.endswith("u_cg"))
    clk_tc = sum(nets.get("clk", (0, 0))[0] for path, nets in gated.net_activity.items() if path.endswith("u_cg"))
    assert clk_tc == 4 * 2 * (T - 1)                 # the ICG's own clock pin: every cycle
    assert 0 < gclk_tc < clk_tc
    writes = int(np.count_nonzero(words >> 10))
    assert abs(gclk_tc // 2 - writes) <= 2           # the window drops the edges at its two ends
    # timing treats the gated clock nets as clocks: OpenSTA times a gated flop against the core clock
    flop = re.search(r"\n\s*\S+\s+(\S+)\s*\(\s*\.(?:CLK|CK)\([^)]*gclk[^)]*\)", netlist)
    assert flop, "no flop on a gated clock in the netlist"
    tcl = res.netlist.parent / "gated_check.tcl"
    tcl.write_text(f"read_liberty {res.liberty}\nread_verilog {res.netlist}\nlink_design regfile\n"
                   "create_clock -name core_clk -period 25 [get_ports clk]\n"
                   "set_input_delay -clock core_clk 1 [delete_from_list [all_inputs] [get_ports clk]]\n"
                   f"report_checks -to [get_pins g*u_cg*/*] -unconstrained\n"
                   f"report_checks -to [get_cells {{{flop.group(1)}}}]\n")
    sta = subprocess.run(["sta", "-no_init", "-exit", str(tcl)], capture_output=True, text=True, timeout=300).stdout
    assert "flip-flop clocked by core_clk" in sta and "slack (MET)" in sta, sta[-2000:]
    # the same registers clocked every cycle (load enable, "refresh") spend more clock power
    _, _, refresh, _ = _flow(tmp_path, "refresh", REGFILE_REFRESH, pdk_name, gated=False)
    assert refresh.mismatched_bits == 0
    assert gated.clock_w < 0.5 * refresh.clock_w
