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
