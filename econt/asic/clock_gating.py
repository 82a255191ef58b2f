"""The RTL's clock gate ``econt_clock_gate`` as the PDK's integrated clock-gating (ICG) cell.

The generator writes ``econt_clock_gate`` as a behavioural latch + AND for RTL simulation
(``econt.rtl.generator``). Synthesis must not build that from a latch and a gate: a library ICG
cell is one glitch-free cell that timing treats as a clock gate (its ``clock_gating_integrated_cell``
attribute) and that the kit's gate-level power simulates as a gated clock
(``econt.asic.gatepower``). So for synthesis the behavioural file is replaced by a wrapper of the
same name and ports that instantiates the PDK config's ``cells.clock_gate``; its pins come from the
liberty's ``clock_gate_*_pin`` attributes, a test-enable pin (scan) is tied low.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from econt.asic.liberty import LibraryModel, load_library_model
from econt.errors import ConfigError

CLOCK_GATE_MODULE = "econt_clock_gate"   # the generator's module name and ports: clk, en, gclk


@dataclass(frozen=True)
class IcgCell:
    """An integrated clock-gating cell and its pins."""

    name: str
    clock_pin: str
    enable_pin: str
    out_pin: str
    test_pin: str | None

    @classmethod
    def from_library(cls, library: LibraryModel, name: str, source: str) -> "IcgCell":
        """The ICG ``name`` of ``library``; ``source`` names the PDK config for errors."""
        model = library.cells.get(name)
        if model is None:
            raise ConfigError(f"{source}: cells.clock_gate {name!r} is not a cell of {library.path}; name the "
                              "library's integrated clock-gating cell (liberty clock_gating_integrated_cell)")
        pins = {r: model.clock_gate_pin(r) for r in ("clock", "enable", "out", "test")}
        if not model.clock_gating or not all(pins[r] for r in ("clock", "enable", "out")):
            raise ConfigError(f"{source}: cells.clock_gate {name!r} in {library.path} is not an integrated clock-gating "
                              "cell (no clock_gating_integrated_cell with clock/enable/out pins)")
        return cls(name, pins["clock"], pins["enable"], pins["out"], pins["test"])

    def wrapper_verilog(self) -> str:
        """``econt_clock_gate`` (clk, en, gclk) as one instance of this cell."""
        conns = [f".{self.clock_pin}(clk)", f".{self.enable_pin}(en)", f".{self.out_pin}(gclk)"]
        if self.test_pin:
            conns.append(f".{self.test_pin}(1'b0)")  # scan test enable: not used, tied low
        return (f"// {CLOCK_GATE_MODULE} mapped to the PDK's integrated clock-gating cell {self.name}\n"
                f"// (written by econt.asic.clock_gating for synthesis; RTL simulation uses the behavioural model)\n"
                f"module {CLOCK_GATE_MODULE} (\n  input  wire clk,\n  input  wire en,\n  output wire gclk\n);\n"
                f"  {self.name} u_icg ({', '.join(conns)});\nendmodule\n")


def synthesis_sources(files: Sequence[Path], liberty: Path, cell: str, source: str, out_dir: Path) -> list[Path]:
    """The design's Verilog files for synthesis: ``econt_clock_gate.v`` replaced by the wrapper of
    the PDK's ICG ``cell`` of ``liberty`` (written into ``out_dir``); unchanged, and the library
    not read, for a design without clock gates."""
    files = [Path(f) for f in files]
    if not any(f.stem == CLOCK_GATE_MODULE for f in files):
        return files
    if not cell:
        raise ConfigError(f"{source}: the design uses clock gates (cfg_storage: gated) but cells.clock_gate is not set; "
                          "name the library's integrated clock-gating cell")
    icg = IcgCell.from_library(load_library_model(liberty), cell, source)
    out_dir.mkdir(parents=True, exist_ok=True)
    wrapper = out_dir / f"{CLOCK_GATE_MODULE}.v"
    wrapper.write_text(icg.wrapper_verilog())
    return [wrapper if f.stem == CLOCK_GATE_MODULE else f for f in files]
