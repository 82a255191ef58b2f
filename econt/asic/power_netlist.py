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

The parser reads what yosys ``write_verilog -noexpr`` emits (one instance per block, one pin per
line); an unexpected layout is an error naming the file, never a silent partial rewrite.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from econt.errors import ToolError

TIE_PORTS = {"lo": "econt_tie_lo", "hi": "econt_tie_hi"}
TIE_DUTY = {"lo": 0.0, "hi": 1.0}

_MODULE_RE = re.compile(r"^module\s+(\S+?)\s*\((.*?)\);\n(.*?)^endmodule\b", re.S | re.M)
_INSTANCE_RE = re.compile(r"^  (\S+)\s+(\S+)\s*\(\n((?:    \..*\n)*?)  \);\n", re.M)
# the same block with the attribute lines yosys writes above it, so a removed cell leaves none behind
_ATTR_INSTANCE_RE = re.compile(r"^(?:  \(\*.*\*\)\n)*  (\S+)\s+(\S+)\s*\(\n((?:    \..*\n)*?)  \);\n", re.M)
_PIN_RE = re.compile(r"\.(\w+)\((.*)\)\s*,?\s*$")


@dataclass
class UntieReport:
    """What :func:`untie_netlist` changed."""

    removed_tie_cells: int = 0
    modules_with_ties: list[str] = field(default_factory=list)
    top_ports: dict[str, float] = field(default_factory=dict)  # port → duty (its constant value)


def _strip_escape(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def untie_netlist(src: Path, dst: Path, top: str, tie_cells: dict[str, dict[str, str]]) -> UntieReport:
    """Write ``dst``: ``src`` with every tie cell replaced by a port threaded to ``top``.

    ``tie_cells`` maps a liberty cell name to its constant output pins, e.g.
    ``{"sky130_fd_sc_hd__conb_1": {"LO": "lo", "HI": "hi"}}``.
    """
    text = Path(src).read_text()
    modules = {m.group(1): m for m in _MODULE_RE.finditer(text)}
    if not modules:
        raise ToolError(f"power netlist: no Verilog module found in {src}; expected a yosys netlist")
    names = {_strip_escape(n): n for n in modules}
    if top not in names:
        raise ToolError(f"power netlist: top module {top!r} not found in {src}; modules: {sorted(names)[:10]}")
    report = UntieReport()

    # 1. per module: which constants its own tie cells drive, and the body without them
    own: dict[str, set[str]] = {}
    bodies: dict[str, str] = {}
    for name, m in modules.items():
        body = m.group(3)
        needs: set[str] = set()
        assigns: list[str] = []

        def _drop(inst: re.Match) -> str:
            if inst.group(1) not in tie_cells:
                return inst.group(0)
            pins = tie_cells[inst.group(1)]
            for line in inst.group(3).splitlines():
                pm = _PIN_RE.search(line.strip())
                if pm is None:
                    raise ToolError(f"power netlist: cannot read pin line {line.strip()!r} of tie cell "
                                    f"{inst.group(2)} in {src}")
                pin, net = pm.group(1), pm.group(2).strip()
                if pin not in pins:
                    raise ToolError(f"power netlist: tie cell {inst.group(1)} pin {pin} is not a known constant "
                                    f"output ({sorted(pins)}); check the PDK config's tie_low/tie_high cells")
                if net:
                    needs.add(pins[pin])
                    assigns.append(f"  assign {net} = {TIE_PORTS[pins[pin]]};\n")
            report.removed_tie_cells += 1
            return ""

        body = _ATTR_INSTANCE_RE.sub(_drop, body)
        own[name] = needs
        bodies[name] = body + "".join(assigns)
        if needs:
            report.modules_with_ties.append(_strip_escape(name))

    # 2. a module needs a tie port if it or any sub-module instance needs it (fixpoint)
    children: dict[str, list[str]] = {
        name: [inst.group(1) for inst in _INSTANCE_RE.finditer(bodies[name]) if inst.group(1) in modules]
        for name in modules}
    need = {name: set(v) for name, v in own.items()}
    changed = True
    while changed:
        changed = False
        for name, kids in children.items():
            for kid in kids:
                extra = need[kid] - need[name]
                if extra:
                    need[name] |= extra
                    changed = True

    # 3. rewrite: ports on each needing module, connections on each instance of it
    out = []
    pos = 0
    for name, m in modules.items():
        out.append(text[pos:m.start()])
        ports = [TIE_PORTS[k] for k in sorted(need[name])]
        header_ports = m.group(2)
        if ports:
            header_ports = ", ".join(ports) + (", " + header_ports if header_ports.strip() else "")
        decls = "".join(f"  input {p};\n  wire {p};\n" for p in ports)

        def _connect(inst: re.Match) -> str:
            kid_ports = [TIE_PORTS[k] for k in sorted(need.get(inst.group(1), ()))] if inst.group(1) in modules else []
            if not kid_ports:
                return inst.group(0)
            conns = "".join(f"    .{p}({p}),\n" for p in kid_ports)
            return f"  {inst.group(1)} {inst.group(2)} (\n{conns}{inst.group(3)}  );\n"

        body = _INSTANCE_RE.sub(_connect, bodies[name])
        out.append(f"module {name} ({header_ports});\n{decls}{body}endmodule")
        pos = m.end()
    out.append(text[pos:])
    Path(dst).write_text("".join(out))
    top_name = names[top]
    report.top_ports = {TIE_PORTS[k]: TIE_DUTY[k] for k in sorted(need[top_name])}
    return report


def tie_cells_of(cfg) -> dict[str, dict[str, str]]:
    """The tie cells of a PDK config as ``{cell: {pin: "lo"|"hi"}}``."""
    cells: dict[str, dict[str, str]] = {}
    cell, pin = cfg.cells.tie_low
    cells.setdefault(cell, {})[pin] = "lo"
    cell, pin = cfg.cells.tie_high
    cells.setdefault(cell, {})[pin] = "hi"
    return cells
