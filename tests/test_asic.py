"""ASIC stage: PDK configs, liberty cache, yosys shim, activity, scaling — fast unit checks.

The tool-heavy checks (SiliconCompiler synthesis + OpenSTA on a reduced encoder) are in
tests/test_asic_flow.py.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from econt.asic import activity as act
from econt.asic.liberty import add_related_pg_pin, prepared_liberty
from econt.asic.metrics import _poly, derive_65nm, spread
from econt.asic.pdk import load_pdk_config, resolve_library
from econt.errors import ConfigError, ToolError

YOSYS = str(Path(sys.executable).parent / "econt-yosys")   # the kit's pyosys shim, under its private name


def test_pdk_configs_load_and_validate():
    sky = load_pdk_config("sky130hd")
    ng = load_pdk_config("nangate45")
    est = load_pdk_config("cmos65lp-style")
    assert (sky.corner, sky.voltage_v, sky.clock_period_ns) == ("tt", 1.8, 25.0)
    assert (ng.corner, ng.voltage_v) == ("tt", 1.1)
    assert est.kind == "derived" and est.voltage_v == 1.2
    assert set(est.derive_from) == {"sky130hd", "nangate45", "ihp-sg13g2"}
    assert set(est.scaling.counts_for) == {"sky130hd", "nangate45", "ihp-sg13g2", "gf180mcu"}
    # the stated rule: a high-performance 45 nm library's leakage is not an LP library's
    assert "dynamic" in est.scaling.counts_for["nangate45"] and "leakage" not in est.scaling.counts_for["nangate45"]
    two = load_pdk_config("cmos65lp-style", {"derive_from": ["sky130hd", "nangate45"]})
    assert two.derive_from == ("sky130hd", "nangate45")
    for cfg in (sky, ng, est):
        assert cfg.tmr in ("none", "config", "full") and 0 < cfg.utilisation <= 1
        assert cfg.activity.source in ("auto", "econt-vectors", "synthetic", "vectorless")


def test_pdk_config_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = Path(load_pdk_config.__globals__["PDK_CONFIG_DIR"] / "sky130hd.yaml").read_text()
    bad.write_text(text.replace("utilisation: 0.6", "utilisation: 1.7"))
    with pytest.raises(ConfigError, match=r"bad\.yaml.*utilisation"):
        load_pdk_config(bad)
    bad.write_text(text + "\nclock_perod_ns: 10\n")
    with pytest.raises(ConfigError, match=r"unknown field.*clock_perod_ns"):
        load_pdk_config(bad)
    with pytest.raises(ConfigError, match="no PDK config named 'gf180'"):
        load_pdk_config("gf180")


def test_missing_pdk_gives_clear_error_listing_all_three_places(tmp_path, monkeypatch):
    monkeypatch.setenv("ECONT_SHARED", str(tmp_path / "no_shared"))
    monkeypatch.setenv("ECONT_OFFLINE", "1")
    monkeypatch.setenv("ECONT_PDK_SKY130HD", str(tmp_path / "empty"))
    with pytest.raises(ToolError) as info:
        resolve_library(load_pdk_config("sky130hd"))
    msg = str(info.value)
    assert "sky130_fd_sc_hd__tt_025C_1v80.lib.gz" in msg
    assert "ECONT_PDK_SKY130HD" in msg and "no_shared" in msg and "lambdapdk" in msg
    assert "Fix:" in msg


def test_env_var_wins_over_shared(tmp_path, monkeypatch, shared):
    src = shared / "pdk" / "nangate45" / "nangate45_typ.lib.gz"
    (tmp_path / "nangate45_typ.lib.gz").symlink_to(src)
    monkeypatch.setenv("ECONT_PDK_NANGATE45", str(tmp_path))
    lib = resolve_library(load_pdk_config("nangate45"))
    assert lib.found_via == "env:ECONT_PDK_NANGATE45" and lib.liberty.parent == tmp_path


def test_related_pg_pin_patch_is_cached_not_in_place(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("ECONT_BUILD", str(tmp_path / "build"))
    src = shared / "pdk" / "sky130hd" / "sky130_fd_sc_hd__tt_025C_1v80.lib.gz"
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = prepared_liberty(src, "VPWR")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert str(out).startswith(str(tmp_path / "build" / "asic" / "liberty"))
    text = out.read_text()
    n_groups = text.count("internal_power ()")
    assert n_groups > 1000
    assert text.count('related_pg_pin : "VPWR";') == n_groups
    assert prepared_liberty(src, "VPWR") == out  # cache hit


def test_patch_keeps_existing_supply():
    text = 'internal_power () {\n related_pg_pin : "VDD";\n rise_power (t) { } }\ninternal_power () {\n fall_power (t) { } }'
    new, n = add_related_pg_pin(text, "VPWR")
    assert n == 1 and new.count("related_pg_pin") == 2 and '"VDD"' in new


def test_yosys_shim_runs_tcl_scripts_like_yosys(tmp_path):
    (tmp_path / "m.v").write_text("module m(input [3:0] a, b, output [7:0] y); assign y = a * b; endmodule\n")
    (tmp_path / "s.tcl").write_text(
        "yosys read_verilog m.v\n"
        "set r [yosys tee -q -s result.string ls]\n"
        "if {[string first m $r] < 0} { error \"ls result missing: $r\" }\n"
        "yosys synth -top m\n"
        "yosys setattr -mod -set area 7 m\n"
        "if {[rtlil::has_attr -mod m area] != 1} { error \"rtlil attr\" }\n"
        "yosys tee -o stat.json stat -json\n")
    r = subprocess.run([YOSYS, "-c", "s.tcl"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={"ECONT_YOSYS_SYNTH_ARGS": "-booth", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "synth -top m -booth" in r.stdout
    assert (tmp_path / "stat.json").is_file()
    v = subprocess.run([YOSYS, "--version"], capture_output=True, text=True)
    assert v.stdout.startswith("Yosys 0.")
    bad = subprocess.run([YOSYS, "-c", "nope.tcl"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "ERROR" in bad.stdout


def _shim_launcher(folder: Path, name: str) -> Path:
    """An executable ``folder/name`` running the kit's shim, as pip's console script does."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text(f"#!{sys.executable}\nimport sys\nfrom econt.asic.yosys_shim import main\nsys.exit(main())\n")
    exe.chmod(0o755)
    return exe


def test_yosys_discovery_prefers_a_real_yosys_and_falls_back_to_the_shim(tmp_path):
    """A `yosys` >= 0.48 on PATH is used as it is; one older than SC needs (Debian's 0.23) is passed
    over for the kit's shim `econt-yosys`; with neither, the error names the fix."""
    from econt.asic.flow import YOSYS_SHIM, find_yosys

    shim_dir = tmp_path / "venv_bin"
    _shim_launcher(shim_dir, YOSYS_SHIM)
    # a real yosys 0.70 (pyosys' library) installed under the name `yosys`
    new = _shim_launcher(tmp_path / "new", "yosys")
    chosen = find_yosys(search_path=str(new.parent), shim_dir=shim_dir)
    assert chosen.exe == str(new) and not chosen.shim and chosen.version.startswith("Yosys 0.70")
    # Debian 12's yosys (not installed here) answers --version with this line
    old = tmp_path / "old" / "yosys"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'Yosys 0.23 (git sha1 7ce5011c24b)'\n")
    old.chmod(0o755)
    chosen = find_yosys(search_path=str(old.parent), shim_dir=shim_dir)
    assert chosen.shim and chosen.exe == str(shim_dir / YOSYS_SHIM) and "0.23" in chosen.rejected
    # the shim may also be found on PATH
    assert find_yosys(search_path=f"{old.parent}:{shim_dir}", shim_dir=tmp_path / "none").shim
    with pytest.raises(ToolError, match="make setup"):
        find_yosys(search_path=str(old.parent), shim_dir=tmp_path / "none")


def test_vcd_toggle_rates(tmp_path):
    # 4 cycles of 10 ns: bit0 toggles every cycle, bit1 once, scalar s never
    vcd = tmp_path / "t.vcd"
    vcd.write_text("$timescale 1ps $end\n$scope module tb $end\n$scope module dut $end\n"
                   "$var wire 2 ! v [1:0] $end\n$var wire 1 \" s $end\n$upscope $end\n$upscope $end\n"
                   "$enddefinitions $end\n#0\n$dumpvars\nb00 !\n1\"\n$end\n"
                   "#10000\nb01 !\n#20000\nb00 !\n#30000\nb11 !\n#40000\nb10 !\n")
    r = act.toggle_rates(vcd, clock_period_ns=10.0)
    assert r["window_cycles"] == pytest.approx(4.0)
    v = r["signals"]["tb.dut"]["v"]
    assert v["rate"] == pytest.approx([1.0, 0.25])
    assert v["duty"] == pytest.approx([0.5, 0.25])
    s = r["signals"]["tb.dut"]["s"]
    assert s["rate"] == [0.0] and s["duty"] == pytest.approx([1.0])
    lines = act.port_activity_lines(r, "tb.dut", [{"name": "v", "width": 2}, {"name": "s", "width": 1}])
    assert "v[0] 1 0.5" in lines and "s 0 1" in lines


def test_init_yaml_register_image(shared):
    writes = act.init_yaml_register_image(shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml")
    assert len(writes) == 12 * 134
    assert {b for b, _, _ in writes} == set(range(12))
    assert all(0 <= v < 256 for _, _, v in writes) and any(v for _, _, v in writes)


def test_scaling_coefficients_match_published_erratum():
    # Stillmaker & Baas erratum example: 65 nm energy factor at 1.3 V = 3.755*1.3^2 - 4.398*1.3 + 1.975 = 2.604
    est = load_pdk_config("cmos65lp-style")
    assert _poly(est.scaling.fits["65"]["energy"], 1.3) == pytest.approx(2.604, abs=1e-3)


def test_derive_65nm_scales_each_metric():
    est = load_pdk_config("cmos65lp-style")
    sky = load_pdk_config("sky130hd")
    entry = {"cell_area_um2": 1e6, "critical_path_ns": 10.0,
             "power_mw": {"dynamic_mw": 2.0, "leakage_mw": 0.01, "total_mw": 2.01},
             "power_vectorless_mw": {"dynamic_mw": 3.0, "leakage_mw": 0.01, "total_mw": 3.01}}
    d = derive_65nm(entry, sky, est)
    f = d["factors"]
    assert d["cell_area_um2"] == pytest.approx(1e6 * 0.23)
    assert d["critical_path_ns"] == pytest.approx(10.0 * f["delay"])
    assert d["power_mw"]["dynamic_mw"] == pytest.approx(2.0 * f["energy"])
    # 130 nm at 1.8 V → 65 nm at 1.2 V: smaller, faster, less energy
    assert f["energy"] < 1 and f["delay"] < 1
    assert d["energy_per_inference_nj"] == pytest.approx(d["power_mw"]["total_mw"] * 1e-3 / 40e6 * 1e9)
    assert spread([1.0, 2.0])["max_over_min"] == 2.0


def test_estimate_takes_each_quantity_from_the_sources_the_rule_admits(tmp_path):
    """Dynamic energy from sky130hd, Nangate45 and IHP; leakage from sky130hd and IHP only (Nangate45 is a
    high-performance library); GF180 reported, not counted; the spread is measured around the estimate."""
    from econt.asic.metrics import combine_65nm

    est = load_pdk_config("cmos65lp-style")

    def entry(dyn, leak, glitch):
        return {"cell_area_um2": 1e5, "critical_path_ns": 10.0, "glitch": {"glitch_mw": glitch},
                "power_mw": {"dynamic_mw": dyn, "leakage_mw": leak, "total_mw": dyn + leak},
                "power_vectorless_mw": {"dynamic_mw": dyn, "leakage_mw": leak, "total_mw": dyn + leak}}

    per = {n: derive_65nm(entry(*v), load_pdk_config(n), est) for n, v in
           {"sky130hd": (10.0, 0.1, 2.0), "nangate45": (1.0, 5.0, 0.2), "ihp-sg13g2": (4.0, 0.01, 1.0),
            "gf180mcu": (50.0, 0.001, 5.0)}.items()}
    c = combine_65nm(per, est)
    dyn = {n: per[n]["dynamic_nj"] for n in ("sky130hd", "nangate45", "ihp-sg13g2")}
    leak = {n: per[n]["leakage_nj"] for n in ("sky130hd", "ihp-sg13g2")}
    glitch = sum(per[n]["glitch_nj"] for n in dyn) / 3
    assert c["dynamic_nj"] == pytest.approx(sum(dyn.values()) / 3)
    assert c["leakage_nj"] == pytest.approx(sum(leak.values()) / 2)
    assert c["energy_per_inference_nj"] == pytest.approx(c["dynamic_nj"] + glitch + c["leakage_nj"])
    assert c["energy_per_inference_zero_delay_nj"] == pytest.approx(c["dynamic_nj"] + c["leakage_nj"])
    sp = c["spread"]["energy_per_inference_nj"]
    assert sp["sources"] == ["ihp-sg13g2", "nangate45", "sky130hd"]
    # Nangate45 carries the estimate's leakage, not its own
    assert sp["values"]["nangate45"] == pytest.approx(dyn["nangate45"] + per["nangate45"]["glitch_nj"]
                                                      + c["leakage_nj"])
    assert sp["values"]["sky130hd"] == pytest.approx(per["sky130hd"]["energy_per_inference_nj"])
    vals = list(sp["values"].values())
    assert sp["estimate"] == pytest.approx(sum(vals) / 3) == pytest.approx(c["energy_per_inference_nj"])
    assert sp["plus_pct"] == pytest.approx((max(vals) / sp["estimate"] - 1) * 100)
    assert sp["minus_pct"] == pytest.approx((1 - min(vals) / sp["estimate"]) * 100)
    assert sp["max_over_min"] == pytest.approx(max(vals) / min(vals))
    assert "gf180mcu" not in c["spread"]["cell_area_um2"]["sources"]
    # a rule that leaves a quantity without any source is refused with the field named
    bad = tmp_path / "est.yaml"
    text = Path(load_pdk_config.__globals__["PDK_CONFIG_DIR"] / "cmos65lp-style.yaml").read_text()
    bad.write_text(text.replace("ihp-sg13g2: [area, delay, dynamic, leakage]", "ihp-sg13g2: [area, delay, dynamic]")
                   .replace("sky130hd: [area, delay, dynamic, leakage]", "sky130hd: [area, delay, dynamic]"))
    with pytest.raises(ConfigError, match="counts for 'leakage'"):
        load_pdk_config(bad)


def test_liberty_functions_follow_liberty_precedence():
    """Inversion binds tightest, then XOR, then AND (also by juxtaposition), then OR."""
    import itertools

    import numpy as np

    from econt.asic.liberty import compile_function, evaluate

    cases = {
        "A B' + C": lambda a, b, c: (a and not b) or c,
        "!(A & B) | C": lambda a, b, c: (not (a and b)) or c,
        "A ^ B & C": lambda a, b, c: (a ^ b) and c,
        "A | B ^ C": lambda a, b, c: a or (b ^ c),
        "(A*B)+!C": lambda a, b, c: (a and b) or not c,
        "!A'": lambda a, b, c: a,
    }
    rows = list(itertools.product((0, 1), repeat=3))
    values = {n: np.array([r[i] for r in rows], dtype=bool) for i, n in enumerate("ABC")}
    for expr, ref in cases.items():
        fn, names = compile_function(expr)
        got = evaluate(fn, values, (8,))
        assert got.tolist() == [bool(ref(*r)) for r in rows], expr
        assert set(names) <= {"A", "B", "C"}


def test_liberty_cell_models_read_functions_flops_and_power(shared):
    from econt.asic.liberty import load_library_model
    from econt.asic.pdk import load_pdk_config, resolve_library

    lib = resolve_library(load_pdk_config("sky130hd"))
    model = load_library_model(prepared_liberty(lib.liberty, "VPWR"))
    assert model.voltage == pytest.approx(1.8) and model.units.energy_j == pytest.approx(1e-12)
    xor = model.cells["sky130_fd_sc_hd__xor2_1"]
    assert xor.pins["X"].function.replace(" ", "") == "(A&!B)|(!A&B)" and xor.pins["A"].capacitance_ff > 0
    e = xor.pins["X"].power[0].rise.energy(0.1, [1.0, 50.0])
    assert 0 < e[0] < e[1] < 1000.0  # fJ per transition, more with more load
    dff = model.cells["sky130_fd_sc_hd__dfrtp_1"]
    assert dff.flop.clocked_on == "CLK" and dff.flop.next_state == "D" and dff.flop.clear == "!RESET_B"
    assert dff.pins["CLK"].power and dff.leakage_nw > 0


def test_power_netlist_threads_tie_cells_to_held_top_ports(tmp_path):
    """Tie cells inside a sub-module become a port of that module, wired up through its parent to a
    new top-level input; the rest of the netlist is unchanged. The netlist is yosys JSON (as
    SiliconCompiler's synthesis writes it beside the .vg), the output Verilog is written from it."""
    import json

    from econt.asic.netlist import gate_modules, read_netlist
    from econt.asic.power_netlist import untie_netlist

    def cell(ctype, conns, hidden=1):
        return {"hide_name": hidden, "type": ctype, "connections": conns}

    netlist = {"modules": {
        "TIE0": {"attributes": {"blackbox": "00000000000000000000000000000001"}, "ports": {}, "cells": {}},
        "leaf": {"ports": {"a": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [3]}},
                 "cells": {"$abc$1": cell("TIE0", {"Z": [4]}), "$abc$2": cell("AND2", {"A": [2], "B": [4], "Y": [3]})},
                 "netnames": {"$abc$9": {"hide_name": 1, "bits": [4]}, "a": {"hide_name": 0, "bits": [2]},
                              # declared `output [0:0] y` in the source: written and named as a vector
                              "y": {"hide_name": 0, "bits": [3], "attributes": {"single_bit_vector": "1"}}}},
        "top": {"ports": {"a": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [3]}},
                "cells": {"$abc$5": cell("TIE1", {"Z": [5]}), "u": cell("leaf", {"a": [5], "y": [3]}, hidden=0)},
                "netnames": {"$abc$7": {"hide_name": 1, "bits": [5]}, "a": {"hide_name": 0, "bits": [2]},
                             "y": {"hide_name": 0, "bits": [3]}}}}}
    src = tmp_path / "top.netlist.json"
    src.write_text(json.dumps(netlist))
    # write_verilog's names: hidden wires, then hidden cells, numbered per module
    leaf = gate_modules(read_netlist(src))["leaf"]
    assert [(c.type, c.name, c.pins) for c in leaf.cells] == [("TIE0", "_1_", {"Z": "_0_"}),
                                                              ("AND2", "_2_", {"A": "a", "B": "_0_", "Y": "y[0]"})]
    assert leaf.ports == {"a": ("input", ["a"]), "y": ("output", ["y[0]"])}
    rep = untie_netlist(src, tmp_path / "out.vg", "top", {"TIE0": {"Z": "lo"}, "TIE1": {"Z": "hi"}})
    out = (tmp_path / "out.vg").read_text()
    assert rep.removed_tie_cells == 2 and rep.top_ports == {"econt_tie_hi": 1.0, "econt_tie_lo": 0.0}
    assert rep.modules_with_ties == ["leaf", "top"]
    assert "TIE0" not in out and "TIE1" not in out and "module TIE0" not in out
    assert "module leaf(econt_tie_lo, a, y);" in out and "assign _0_ = econt_tie_lo;" in out
    assert "module top(econt_tie_hi, econt_tie_lo, a, y);" in out and ".econt_tie_lo(econt_tie_lo)," in out
    assert "assign _0_ = econt_tie_hi;" in out and ".a(econt_tie_hi)" in out and "AND2 _2_" in out
    assert "output [0:0] y;" in out and ".Y(y[0])" in out


def test_tool_scripts_live_in_the_package_and_tasks_do_not_import_the_flow():
    """The OpenSTA task finds its Tcl scripts through __file__ (so an installed kit has them), and the
    task module does not import the flow module (the old flow ↔ task import cycle)."""
    import econt
    from econt.asic.tools.opensta import task

    pkg = Path(econt.__file__).resolve().parent
    for script in (task.STA_SCRIPT, task.POWER_SCRIPT):
        assert script.is_file() and pkg in script.parents
    source = Path(task.__file__).read_text()
    assert "econt.asic.flow" not in source and "econt.asic.stage" not in source


def test_power_method_registry_and_a_clear_error_for_an_old_opensta():
    """power.method: 'kit' always works; 'opensta' needs OpenSTA >= 2.6 (Debian's 2.0.17 has no
    read_saif) and says so; an unknown method names the known ones."""
    from econt.asic.power_methods import check_method, opensta_version

    assert check_method("kit").name == "kit"
    assert load_pdk_config("sky130hd").power.method == "kit"
    assert load_pdk_config("sky130hd", {"power": {"method": "opensta"}}).power.method == "opensta"
    with pytest.raises(ToolError, match="known: kit, opensta"):
        check_method("spice")
    version, _ = opensta_version()
    if version < (2, 6):
        with pytest.raises(ToolError, match=r"needs OpenSTA >= 2\.6"):
            check_method("opensta")
    else:
        assert check_method("opensta").name == "opensta"


def test_gated_storage_is_compared_with_its_refresh_twin_and_tabled():
    """A gated entry gets gated_vs_refresh against the refresh entry of the same TMR and PDK
    (dynamic energy = energy per inference minus leakage), and summary.md gets the side-by-side table."""
    from econt.asic.report import _storage_table
    from econt.asic.stage import DesignSpec, _add_storage_comparison

    def entry(design, storage, energy, leak, area):
        return {"design": design, "pdk": "sky130hd", "tmr": "config", "cfg_storage": storage,
                "cfg_gate_group": "block" if storage == "gated" else None, "clock_gates": 3 if storage == "gated" else 0,
                "inference_rate_mhz": 40.0, "energy_per_inference_nj": energy, "cell_area_um2": area,
                "setup_slack_ns": 1.0, "power_mw": {"leakage_mw": leak, "dynamic_mw": 1.0, "total_mw": 1.0 + leak},
                "power_split_mw": {"clock_mw": 1.0, "config_storage_mw": 0.5, "datapath_mw": 2.0, "leakage_mw": leak,
                                   "glitch_mw": 0.3}}
    entries = {"r/sky130hd": entry("r", "refresh", 0.5, 4.0, 100.0), "g/sky130hd": entry("g", "gated", 0.3, 4.0, 104.0)}
    _add_storage_comparison(entries, [DesignSpec("r", Path("r")), DesignSpec("g", Path("g"))], ["sky130hd"])
    cmp_ = entries["g/sky130hd"]["gated_vs_refresh"]
    leak_nj = 4.0e-3 / 40e6 * 1e9
    assert cmp_["versus"] == "r" and cmp_["timing_met"] is True
    assert cmp_["dynamic_energy_ratio"] == pytest.approx((0.3 - leak_nj) / (0.5 - leak_nj))
    assert cmp_["energy_ratio"] == pytest.approx(0.6) and cmp_["area_ratio"] == pytest.approx(1.04)
    assert "gated_vs_refresh" not in entries["r/sky130hd"]
    table = "\n".join(_storage_table(entries))
    assert "| g | sky130hd | config | gated | block | 3 |" in table and "×0.6" in table


def test_a_65nm_estimate_meets_timing_by_its_scaled_critical_path():
    from econt.asic.stage import _timing_met

    assert _timing_met({"estimate": True, "clock_period_ns": 25.0, "critical_path_ns": 10.6}) is True
    assert _timing_met({"estimate": True, "clock_period_ns": 25.0, "critical_path_ns": 26.0}) is False
    assert _timing_met({"setup_slack_ns": -0.1, "clock_period_ns": 25.0, "critical_path_ns": 25.1}) is False
    assert _timing_met({"clock_period_ns": 25.0, "critical_path_ns": 10.0}) is False   # a library run without STA slack
