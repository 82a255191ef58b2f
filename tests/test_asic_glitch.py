"""Glitch power (econt.asic.glitch): timed gate-level simulation with liberty delays.

The fast test synthesises the small MAC array of test_asic_flow (a 6×8 multiplier into an
accumulator: unequal paths) on sky130hd and checks that delays from the liberty give glitch
transitions, that the same timed simulator with all delays zero gives none (its counts are then
the zero-delay simulator's), and that inertial delays filter some of what transport delays pass.
"""
from __future__ import annotations

import numpy as np
import pytest

from econt.asic.glitch import advance_waveforms, inertial, shift_waveforms
from test_asic_flow import MAC_ARRAY, _mac_vcd


def _bits(x: np.ndarray) -> np.ndarray:
    return np.array([[[(int(w) >> b) & 1 for w in row for b in range(64)] for row in c] for c in x])


def _packed(ticks: np.ndarray) -> np.ndarray:
    words = ticks.reshape(-1, 64)
    return np.array([[sum(int(v) << b for b, v in enumerate(w)) for w in words]], dtype=np.uint64)


def test_waveform_shifts_and_inertial_filter():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2 ** 63, size=(4, 3, 3), dtype=np.uint64)
    xb = _bits(x)
    for d in (0, 1, 5, 63, 64, 65, 130, 200):
        delayed = np.concatenate([np.repeat(xb[..., :1], min(d, 192), axis=-1), xb[..., :max(192 - d, 0)]], axis=-1)
        assert (_bits(shift_waveforms(x, np.full(4, d))) == delayed).all()
        early = np.concatenate([xb[..., min(d, 192):], np.repeat(xb[..., -1:], min(d, 192), axis=-1)], axis=-1)
        assert (_bits(advance_waveforms(x, np.full(4, d))) == early).all()
    # a 3-tick pulse is rejected by a 4-tick inertial delay, a 5-tick pulse and a step pass unchanged
    waves = np.zeros((3, 128), dtype=int)
    waves[0, 10:13] = 1
    waves[1, 10:15] = 1
    waves[2, 10:] = 1
    z = np.stack([_packed(w) for w in waves])
    out = _bits(inertial(z, np.array([4, 4, 4])))[:, 0]
    assert not out[0].any()
    assert (out[1] == waves[1]).all() and (out[2] == waves[2]).all()


def test_glitches_in_a_multiplier_with_delays_and_none_without(tmp_path):
    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.gatepower import gate_level_power, load_gate_netlist
    from econt.asic.glitch import glitch_power
    from econt.asic.liberty import load_library_model
    from econt.asic.pdk import load_pdk_config, resolve_library

    src = tmp_path / "mac_array.v"
    src.write_text(MAC_ARRAY)
    lib = resolve_library(load_pdk_config("sky130hd"))
    req = FlowRequest("mac_array", "mac_array", [src], lib, scenarios=[PowerScenario("v", "vectorless", 0.1)])
    res = run_fallback(req, tmp_path / "sc", detect_tools())
    model = load_library_model(res.liberty)
    gn = load_gate_netlist(res.netlist, model, "mac_array")
    vcd = _mac_vcd(tmp_path / "sim", src, 0.3, n=60)
    args = (gn, model, vcd, "tb.dut", "clk", 25.0, 0.1)
    timed = glitch_power(*args)
    transport = glitch_power(*args, inertial_delays=False)
    zero = glitch_power(*args, tick_ns=1e9)          # every arc rounds to 0 ticks: zero delay
    mac = timed.modules["mac"]
    assert mac.n_instances == 4 and mac.n_sampled == 4 and mac.glitch_share_stderr == 0.0
    assert mac.transitions_timed > mac.transitions_zero_delay > 0
    assert (mac.transitions_timed - mac.transitions_zero_delay) % 2 == 0   # a glitch is a pair of transitions
    assert 0.0 < timed.glitch_share < transport.glitch_share < 1.0
    assert transport.modules["mac"].transitions_timed > mac.transitions_timed
    assert zero.glitch_share == 0.0 and zero.glitch_w == 0.0
    assert zero.modules["mac"].transitions_timed == zero.modules["mac"].transitions_zero_delay \
        == mac.transitions_zero_delay
    # the zero-delay energy of the timed simulator is the kit's gate-level dynamic power
    g = gate_level_power(gn, model, "mac_array", vcd, "tb.dut", "clk", 25.0, 0.1)
    assert zero.zero_delay_dynamic_w == pytest.approx(g.dynamic_w, rel=1e-9)
    # sampling: two of four instances, with a finite sampling error
    sampled = glitch_power(*args, max_instances=2)
    assert sampled.modules["mac"].n_sampled == 2
    assert sampled.modules["mac"].glitch_share_stderr is not None and sampled.glitch_share_stderr > 0
    assert abs(sampled.glitch_share - timed.glitch_share) < 0.5 * timed.glitch_share
    # the zero-delay energy is every instance's, not the sample's scaled by N/n
    assert sampled.zero_delay_dynamic_w == pytest.approx(g.dynamic_w, rel=1e-9)


def test_instance_sample_depends_on_the_module_not_on_the_run_order():
    from econt.asic.glitch import sample_instances

    paths = [f"top.slice_{i}" for i in range(128)]
    a = sample_instances(paths, 2, 1234, "econt_dense_slice")
    assert a == sample_instances(paths, 2, 1234, "econt_dense_slice")   # e.g. in the gated design, after
    assert len(set(a)) == 2 and set(a) <= set(paths)                    # econt_clock_gate was simulated
    assert sample_instances(paths, 2, 1234, "econt_conv_filter") != a or sample_instances(paths, 2, 99, "econt_dense_slice") != a
    assert sample_instances(paths[:3], 5, 1234, "m") == paths[:3]


GATE_TB = """`timescale 1ns / 1ps
module tb;
  reg clk = 0; reg rst_n = 0; reg [23:0] w = 0; reg [7:0] x = 0;
  wire [71:0] acc;
  reg [31:0] mem [0:{n}];
  integer i;
  mac_array dut (.clk(clk), .rst_n(rst_n), .w(w), .x(x), .acc(acc));
  always #12.5 clk = ~clk;
  initial begin
    $readmemh("stim.hex", mem);
    repeat (2) @(negedge clk);
    rst_n = 1;
    @(posedge clk) {{w, x}} <= mem[0];
    @(negedge clk);
    $dumpfile("gate.vcd");
    $dumpvars(0, dut);
    for (i = 1; i < {n}; i = i + 1) @(posedge clk) {{w, x}} <= mem[i];
    @(negedge clk);
    $finish;
  end
endmodule
"""


def _vcd_toggles(vcd, t_from: float, t_to: float) -> dict[tuple[str, str, int], int]:
    """Value changes per (scope, variable, bit) with timestamps in [t_from, t_to] (VCD time units)."""
    from econt.asic.activity import read_vcd_header

    counts: dict[tuple[str, str, int], int] = {}
    with open(vcd) as fh:
        header = read_vcd_header(fh, vcd)
        var: dict[str, list[tuple[str, str, int, int]]] = {}
        for code, path, name, width, lsb in header.variables:     # one code may name several nets
            var.setdefault(code, []).append((path.replace("\\", ""), name.replace("\\", ""), width, lsb))
        state: dict[str, str] = {}
        t = 0
        for line in fh:
            if line[:1] == "#":
                t = int(line[1:])
                continue
            if line[:1] in "bB":
                val, code = line[1:].split()
            elif line[:1] in "01xzXZ":
                val, code = line[0], line[1:].strip()
            else:
                continue
            if code not in var:
                continue
            width = var[code][0][2]
            val = val.rjust(width, "0")
            old = state.get(code)
            if old is not None and t_from <= t <= t_to:
                for path, name, _, lsb in var[code]:
                    for b in range(width):
                        if old[width - 1 - b] != val[width - 1 - b]:
                            k = (path, f"{name}[{lsb + b}]" if width > 1 else name, 0)
                            counts[k] = counts.get(k, 0) + 1
            state[code] = val
    return counts


@pytest.mark.slow
def test_zero_delay_toggles_equal_icarus_with_cell_models_net_for_net(tmp_path, shared):
    """The kit's zero-delay per-net transition counts equal those of an event-driven Icarus
    simulation of the synthesised netlist with the PDK's Verilog cell models (sky130hd), net for
    net. On the small MAC array (4 instances): whole-netlist Icarus of the reduced encoder takes
    ~30 min. The gate-level testbench changes the inputs at the clock edge (non-blocking), as a
    register feeding the block would; the RTL dump the kit reads drives them on falling edges."""
    import gzip
    import subprocess

    from econt.asic.flow import FlowRequest, PowerScenario, detect_tools, run_fallback
    from econt.asic.gatepower import gate_level_power, load_gate_netlist
    from econt.asic.liberty import load_library_model
    from econt.asic.pdk import load_pdk_config, resolve_library

    src = tmp_path / "mac_array.v"
    src.write_text(MAC_ARRAY)
    lib = resolve_library(load_pdk_config("sky130hd"))
    req = FlowRequest("mac_array", "mac_array", [src], lib, scenarios=[PowerScenario("v", "vectorless", 0.1)])
    res = run_fallback(req, tmp_path / "sc", detect_tools())
    model = load_library_model(res.liberty)
    gn = load_gate_netlist(res.netlist, model, "mac_array")
    n = 80
    rtl_vcd = _mac_vcd(tmp_path / "rtl", src, 0.3, n=n)
    kit = gate_level_power(gn, model, "mac_array", rtl_vcd, "tb.dut", "clk", 25.0, 0.1, record_activity=True)
    work = tmp_path / "rtl"
    models = []
    for name in ("sky130_fd_sc_hd.cells.v.gz", "sky130_fd_sc_hd.primitives.v.gz"):
        out = work / name.removesuffix(".gz")
        out.write_bytes(gzip.decompress((shared / "pdk" / "sky130hd" / name).read_bytes()))
        models.append(str(out))
    (work / "gate_tb.v").write_text(GATE_TB.format(n=n))
    subprocess.run(["iverilog", "-g2005", "-DFUNCTIONAL", "-o", "gate.vvp", "-s", "tb", "gate_tb.v",
                    str(res.netlist), *models], cwd=work, check=True, capture_output=True)
    subprocess.run(["vvp", "-n", "gate.vvp"], cwd=work, check=True, capture_output=True)
    # the kit counts transitions between the samples before rising edges 0 … n−1 of its window:
    # in the gate-level run those happen at rising edges 0 … n−2 (dump starts at a falling edge)
    with open(work / "gate.vcd") as fh:
        first = next(int(line[1:]) for line in fh if line.startswith("#"))
    half = 12500  # ps
    counts = _vcd_toggles(work / "gate.vcd", first + half, first + half + (n - 2) * 2 * half)
    compared = differing = 0
    clocks = {"clk"}
    for path, nets in kit.net_activity.items():
        for name, (tc, _) in nets.items():
            key_name = name.lstrip("\\")
            if key_name in clocks:
                continue
            got = counts.get((path.replace("\\", ""), key_name, 0))
            assert got is not None or tc == 0, f"{path}.{name}: not in the Icarus dump"
            compared += 1
            differing += int((got or 0) != tc)
    assert compared > 1000 and sum(tc for nets in kit.net_activity.values() for tc, _ in nets.values()) > 0
    assert differing == 0
