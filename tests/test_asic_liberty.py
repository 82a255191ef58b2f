"""The kit's one liberty reader on the four open libraries: units normalised to ns / fF / fJ / nW / um²,
a known cell's area, leakage and pin capacitances, flops, clock-gating cells and internal power."""
from __future__ import annotations

import pytest

from econt.asic.liberty import build_library_model, load_library_model, prepared_liberty
from econt.asic.pdk import load_pdk_config, resolve_library

# (pdk, inverter, input pin, area um², leakage nW, input cap fF, file units: cap F, leakage W) — figures
# copied from each liberty file's inverter group, in the file's own units converted by hand
KNOWN = {
    "sky130hd": ("sky130_fd_sc_hd__inv_1", "A", 3.7536, 0.0053266820, 2.302, 1e-12, 1e-9, 1.8),
    "nangate45": ("INV_X1", "A", 0.532, 14.353185, 1.70023, 1e-15, 1e-9, 1.1),
    # IHP: cell_leakage_power 63.0032 pW; capacitance 0.0028674 pF
    "ihp-sg13g2": ("sg13g2_inv_1", "A", 5.4432, 0.0630032, 2.8674, 1e-12, 1e-12, 1.2),
    # GF180: no cell_leakage_power; the unconditional leakage_power group is 3.34719e-05 uW
    "gf180mcu": ("gf180mcu_fd_sc_mcu9t5v0__inv_1", "I", 11.2896, 0.0334719, 6.813, 1e-12, 1e-6, 3.3),
}
FLOPS = {"sky130hd": "sky130_fd_sc_hd__dfrtp_1", "nangate45": "DFFR_X1", "ihp-sg13g2": "sg13g2_dfrbp_1",
         "gf180mcu": "gf180mcu_fd_sc_mcu9t5v0__dffrnq_1"}


@pytest.fixture(scope="module", params=sorted(KNOWN))
def library(request, shared):
    cfg = load_pdk_config(request.param)
    lib = resolve_library(cfg)
    return cfg, load_library_model(prepared_liberty(lib.liberty, cfg.related_pg_pin or None))


def test_units_are_read_from_each_header(library):
    cfg, model = library
    _, _, _, _, _, cap_f, leak_w, volt = KNOWN[cfg.name]
    assert model.units.time_s == pytest.approx(1e-9)
    assert model.units.capacitance_f == pytest.approx(cap_f)
    assert model.units.leakage_power_w == pytest.approx(leak_w)
    assert model.units.voltage_v == pytest.approx(1.0)
    assert model.voltage == pytest.approx(volt) == pytest.approx(cfg.voltage_v)


def test_known_inverter_in_kit_units(library):
    cfg, model = library
    name, pin, area, leak_nw, cap_ff, *_ = KNOWN[cfg.name]
    inv = model.cells[name]
    assert inv.area_um2 == pytest.approx(area)
    assert inv.leakage_nw == pytest.approx(leak_nw, rel=1e-6)
    assert inv.pins[pin].capacitance_ff == pytest.approx(cap_ff, rel=1e-4)
    out = inv.outputs[0]
    assert inv.pins[out].function.replace(" ", "").strip("()").lstrip("!").strip("()") == pin
    # internal energy of one output transition at 0.1 ns and 2 fF: a few fJ at most tens (3.3 V GF180)
    arc = inv.pins[out].power[0]
    e = float(arc.rise.energy(0.1, [2.0])[0])
    assert 0.1 < e < 100.0


def test_flops_and_the_configured_clock_gate(library):
    cfg, model = library
    dff = model.cells[FLOPS[cfg.name]]
    assert dff.flop is not None and dff.flop.clocked_on and dff.flop.clear
    assert FLOPS[cfg.name] in model.sequential_cells()
    icg = model.cells[cfg.cells.clock_gate]
    assert icg.clock_gating and icg.clock_gating.startswith("latch_posedge")
    assert cfg.cells.clock_gate in model.clock_gating_cells()
    assert icg.flop is None and icg.clock_gate_pin("clock") and icg.clock_gate_pin("enable") \
        and icg.clock_gate_pin("out")
    for name in (cfg.cells.driver, cfg.cells.tie_low[0], cfg.cells.tie_high[0], cfg.cells.buffer[0]):
        assert name in model.cells, name


def test_cells_subset_and_unit_error(tmp_path):
    from econt.errors import ToolError

    lib = tmp_path / "tiny.lib"
    lib.write_text('library (tiny) { time_unit : 1ns ; voltage_unit : 1V ; leakage_power_unit : 1uW ;\n'
                   ' capacitive_load_unit (1, pf) ; nom_voltage : 3.3 ;\n'
                   ' cell (a) { area : 2 ; leakage_power () { when : "A" ; value : 2 ; }\n'
                   '   leakage_power () { when : "!A" ; value : 4 ; }\n'
                   '   pin (A) { direction : input ; capacitance : 0.001 ; } }\n'
                   ' cell (b) { area : 1 ; } }\n')
    model = build_library_model(lib, wanted={"a"})
    assert set(model.cells) == {"a"}
    assert model.cells["a"].leakage_nw == pytest.approx(3000.0)  # mean of the states, uW → nW
    assert model.cells["a"].pins["A"].capacitance_ff == pytest.approx(1.0)
    bad = tmp_path / "bad.lib"
    bad.write_text("library (bad) { time_unit : 1ns ; capacitive_load_unit (1, pf) ; nom_voltage : 1 ; }\n")
    with pytest.raises(ToolError, match="voltage_unit"):
        build_library_model(bad)
