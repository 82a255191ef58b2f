"""The netlist the kit's power run reads: tie cells replaced by zero-activity top-level ports.

Debian OpenSTA 2.0.17 segfaults in ``report_power`` when a constant net crosses a hierarchy
boundary (pinned on the encoder: the tie-low cell that drives the convolution's zero padding
into the filter instances; with that one cell removed the same netlist reports power, and an
``assign net = 1'b0`` crashes the same way). Timing is unaffected and keeps reading the
synthesised netlist unchanged.

The rewrite removes every tie cell, drives its nets from a new input port of the module
(``econt_tie_lo`` / ``econt_tie_hi``), and threads those ports up through every parent instance
to the top. The power script then holds the top-level tie ports still (activity 0, duty 0 for
low and 1 for high), so the nets carry the same constant value and zero toggles, and the
constant's effect on downstream state probabilities is kept. What is lost is the tie cells' own
leakage (a few cells; reported in :class:`UntieReport`).

The netlist is read from yosys's JSON (econt.asic.netlist) and the power netlist is written from
that structure, never by editing Verilog text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from econt.asic.netlist import NetlistCell, Wire, json_netlist_of, read_netlist, write_verilog
from econt.errors import ToolError

TIE_PORTS = {"lo": "econt_tie_lo", "hi": "econt_tie_hi"}
TIE_DUTY = {"lo": 0.0, "hi": 1.0}


@dataclass
class UntieReport:
    """What :func:`untie_netlist` changed."""

    removed_tie_cells: int = 0
    modules_with_ties: list[str] = field(default_factory=list)
    top_ports: dict[str, float] = field(default_factory=dict)  # port → duty (its constant value)


def untie_netlist(src: Path, dst: Path, top: str, tie_cells: dict[str, dict[str, str]]) -> UntieReport:
    """Write ``dst`` (Verilog): the netlist ``src`` (yosys JSON, or the ``.vg`` it was written with)
    with every tie cell replaced by a port threaded to ``top``.

    ``tie_cells`` maps a liberty cell name to its constant output pins, e.g.
    ``{"sky130_fd_sc_hd__conb_1": {"LO": "lo", "HI": "hi"}}``.
    """
    src = json_netlist_of(src)
    modules = read_netlist(src)
    if top not in modules:
        raise ToolError(f"power netlist: top module {top!r} not found in {src}; modules: {sorted(modules)[:10]}")
    report = UntieReport()

    # 1. per module: drop its tie cells; the nets they drove become the tie ports' nets
    tie_net: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, mod in modules.items():
        keep: list[NetlistCell] = []
        merge: dict[int, int] = {}
        for cell in mod.cells:
            if cell.type not in tie_cells:
                keep.append(cell)
                continue
            pins = tie_cells[cell.type]
            for pin, bits in cell.connections.items():
                if pin not in pins:
                    raise ToolError(f"power netlist: tie cell {cell.type} pin {pin} is not a known constant "
                                    f"output ({sorted(pins)}); check the PDK config's tie_low/tie_high cells")
                for b in bits:
                    if isinstance(b, int):
                        first = tie_net[name].setdefault(pins[pin], b)
                        if first != b:
                            merge[b] = first
            report.removed_tie_cells += 1
        mod.cells = keep
        if merge:       # a second tie cell of the same constant: its nets join the first one's
            for w in mod.wires.values():
                w.bits = [merge.get(b, b) if isinstance(b, int) else b for b in w.bits]
            for cell in mod.cells:
                cell.connections = {p: [merge.get(b, b) if isinstance(b, int) else b for b in bits]
                                    for p, bits in cell.connections.items()}
        if tie_net[name]:
            report.modules_with_ties.append(name)

    # 2. a module needs a tie port if it or any sub-module instance needs it (fixpoint)
    need = {name: set(nets) for name, nets in tie_net.items()}
    changed = True
    while changed:
        changed = False
        for name, mod in modules.items():
            for cell in mod.cells:
                extra = need.get(cell.type, set()) - need[name]
                if extra:
                    need[name] |= extra
                    changed = True

    # 3. the tie ports on each needing module, connected on each instance of a needing module
    for name, mod in modules.items():
        nets = tie_net[name]
        for kind in sorted(need[name]):
            if kind not in nets:
                nets[kind] = mod.next_net_id()
            port = TIE_PORTS[kind]
            mod.wires[port] = Wire(port, [nets[kind]], direction="input")
        mod.ports = [TIE_PORTS[k] for k in sorted(need[name])] + mod.ports
        for cell in mod.cells:
            for kind in sorted(need.get(cell.type, ())):
                cell.connections = {TIE_PORTS[kind]: [nets[kind]], **cell.connections}
    write_verilog(modules, dst)
    report.top_ports = {TIE_PORTS[k]: TIE_DUTY[k] for k in sorted(need[top])}
    return report


def tie_cells_of(cfg) -> dict[str, dict[str, str]]:
    """The tie cells of a PDK config as ``{cell: {pin: "lo"|"hi"}}``."""
    cells: dict[str, dict[str, str]] = {}
    cell, pin = cfg.cells.tie_low
    cells.setdefault(cell, {})[pin] = "lo"
    cell, pin = cfg.cells.tie_high
    cells.setdefault(cell, {})[pin] = "hi"
    return cells
