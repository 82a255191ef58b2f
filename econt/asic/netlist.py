"""The kit's one reader of synthesised gate-level netlists: yosys's JSON netlist (``write_json``).

SiliconCompiler's stock synthesis writes ``outputs/<top>.netlist.json`` beside the Verilog
``<top>.vg`` from the same design in the same yosys run, so both describe one netlist: yosys
writes net bits as integers shared by every name of an electrical net, so no Verilog text is
parsed here.

Names are given as ``write_verilog`` prints them, because the tools that read the activity the
kit writes (SAIF) read the Verilog: a hidden yosys name (``$abc$2041$...``) is renamed to
``_NNN_`` with yosys's own numbering (per module: the hidden wire names in order, then the hidden
cell names, offset past any public ``_NNN_`` name), and a name that is not a plain Verilog
identifier is escaped (``\\g[0].r``). A net bit's *key* is the name for a one-bit wire and
``name[i]`` otherwise, ``i`` the Verilog index (the wire's offset and direction applied).

Two views of the file:

* :func:`read_netlist`: the yosys structure (modules, wires, cells with bit lists), which
  :func:`write_verilog` writes back as a structural netlist (used for the power run's untied
  netlist, econt.asic.power_netlist);
* :func:`gate_modules`: per module its ports, leaf cells, sub-module instances and aliases as
  bit keys, which the kit's gate-level simulator (econt.asic.gatepower) works on.
"""
from __future__ import annotations

import gc
import json
import re
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from econt.errors import ToolError

CONST0, CONST1 = "1'b0", "1'b1"
_CONST_KEY = {"0": CONST0, "1": CONST1, "x": CONST0, "z": CONST0}
_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_AUTO_ID = re.compile(r"_(\d+)_?\Z")

Bit = int | str   # a net id, or a constant "0" / "1" / "x" / "z"


# ----------------------------------------------------------------------------- yosys structure
@dataclass
class Wire:
    """A named wire (or port) of a module; ``bits`` LSB first (yosys order)."""

    name: str                     # as write_verilog prints it, without the escape
    bits: list[Bit]
    offset: int = 0
    upto: bool = False
    direction: str | None = None  # "input" | "output" | "inout" for ports
    hidden: bool = False          # a yosys-internal name (renamed ``_NNN_``)
    single_bit_vector: bool = False  # declared ``[i:i]`` in the source: a vector of one bit

    @property
    def vector(self) -> bool:
        """Declared with a range (and its bits named ``name[i]``), as write_verilog writes it."""
        return len(self.bits) != 1 or self.single_bit_vector

    def index(self, i: int) -> int:
        """Verilog index of bit ``i`` (yosys order)."""
        return self.offset + (len(self.bits) - 1 - i if self.upto else i)


@dataclass
class NetlistCell:
    name: str
    type: str
    connections: dict[str, list[Bit]]   # pin → bits LSB first
    directions: dict[str, str] = field(default_factory=dict)


@dataclass
class NetlistModule:
    name: str
    ports: list[str]                # in declaration order
    wires: dict[str, Wire]          # every named wire, ports included
    cells: list[NetlistCell]

    def next_net_id(self) -> int:
        ids = [b for w in self.wires.values() for b in w.bits if isinstance(b, int)]
        ids += [b for c in self.cells for bits in c.connections.values() for b in bits if isinstance(b, int)]
        return max(ids, default=1) + 1


def verilog_id(name: str) -> str:
    """``name`` as a Verilog identifier (escaped when it is not a plain one)."""
    return name if _PLAIN_ID.match(name) else f"\\{name} "


def json_netlist_of(netlist: Path) -> Path:
    """The yosys JSON netlist of a synthesis output: ``netlist`` itself if it is one, else the
    ``<top>.netlist.json`` SiliconCompiler's synthesis writes beside ``<top>.vg``."""
    netlist = Path(netlist)
    if netlist.name.endswith(".json"):
        return netlist
    stem = netlist.name[:-len(netlist.suffix)] if netlist.suffix else netlist.name
    candidate = netlist.with_name(f"{stem}.netlist.json")
    if not candidate.is_file():
        raise ToolError(f"netlist {netlist}: no yosys JSON netlist {candidate.name} beside it; the kit reads the "
                        "JSON that synthesis writes with the Verilog (SiliconCompiler's syn_asic writes both). "
                        "Fix: rerun synthesis, or write it with yosys `write_json`")
    return candidate


def verilog_to_json(verilog: Path, liberty: Path, yosys_exe: str) -> Path:
    """Have yosys write the JSON of a structural Verilog netlist for which no synthesis JSON exists
    (a netlist after place and route), beside it as ``<stem>.netlist.json``; the liberty cells are
    read as black boxes. Returns the JSON's path."""
    verilog = Path(verilog)
    out = verilog.with_name(f"{verilog.stem}.netlist.json")
    script = f"read_liberty -lib {liberty}; read_verilog {verilog}; write_json {out}"
    run = subprocess.run([yosys_exe, "-q", "-p", script], capture_output=True, text=True)
    if run.returncode != 0 or not out.is_file():
        raise ToolError(f"netlist {verilog}: yosys ({yosys_exe}) could not write its JSON netlist:\n"
                        f"{(run.stdout + run.stderr)[-2000:]}")
    return out


def _renamer(name: str, mod: dict) -> dict[str, str]:
    """write_verilog's names for the hidden wire and cell names of one JSON module (yosys's
    ``reset_auto_counter``: wires, then cells, numbered past every public ``_NNN_`` name)."""
    nets, cells = mod.get("netnames", {}), mod.get("cells", {})
    hidden = [n for n, v in nets.items() if v.get("hide_name")] + [n for n, v in cells.items() if v.get("hide_name")]
    public = [name] + [n for n, v in nets.items() if not v.get("hide_name")]
    public += [n for n, v in cells.items() if not v.get("hide_name")] + [v["type"] for v in cells.values()]
    offset = 0
    for n in public:
        m = _AUTO_ID.match(n)
        if m:
            offset = max(offset, int(m.group(1)) + 1)
    digits = 1
    i = 10
    while i < offset + len(hidden):
        i *= 10
        digits += 1
    return {n: f"_{offset + k:0{digits}d}_" for k, n in enumerate(hidden)}


def read_netlist(path: Path) -> dict[str, NetlistModule]:
    """The modules of a yosys JSON netlist, library cells (blackbox / whitebox modules) left out."""
    path = Path(path)
    with _no_cyclic_gc():
        return _read_netlist(path)


@contextmanager
def _no_cyclic_gc():
    """Millions of small objects, none of them cyclic: the cyclic collector only costs time here
    (reading the full encoder's netlist took 8 s with it, 2 s without)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_netlist(path: Path) -> dict[str, NetlistModule]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolError(f"netlist {path}: cannot read the yosys JSON netlist ({exc}); rerun synthesis") from exc
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise ToolError(f"netlist {path}: no 'modules' object; expected yosys `write_json` output")
    out: dict[str, NetlistModule] = {}
    for mname, mod in data["modules"].items():
        attrs = mod.get("attributes", {})
        if any(_attr_true(attrs.get(a)) for a in ("blackbox", "whitebox", "liberty_cell")):
            continue
        rename = _renamer(mname, mod)
        wires: dict[str, Wire] = {}
        for wname, net in mod.get("netnames", {}).items():
            name = rename.get(wname, wname)
            wires[name] = Wire(name, list(net["bits"]), int(net.get("offset", 0)), bool(net.get("upto", 0)),
                               hidden=wname in rename,
                               single_bit_vector=_attr_true(net.get("attributes", {}).get("single_bit_vector")))
        ports = []
        for pname, port in mod.get("ports", {}).items():
            if pname not in wires:
                wires[pname] = Wire(pname, list(port["bits"]), int(port.get("offset", 0)), bool(port.get("upto", 0)))
            wires[pname].direction = port["direction"]
            ports.append(pname)
        cells = [NetlistCell(rename.get(cname, cname), c["type"], c.get("connections", {}),
                             c.get("port_directions", {}))
                 for cname, c in mod.get("cells", {}).items()]
        out[mname] = NetlistModule(mname, ports, wires, cells)
    if not out:
        raise ToolError(f"netlist {path}: no design modules (only library cells); expected a synthesised netlist")
    return out


def _attr_true(value) -> bool:
    return value is not None and str(value).strip("0") != ""


# ----------------------------------------------------------------------------- bit keys
def _bit_keys(mod: NetlistModule) -> dict[Bit, list[str]]:
    """Every key of each net of ``mod`` (a net id, or a constant's key), in wire order."""
    keys: dict[Bit, list[str]] = {}
    for w in mod.wires.values():
        for i, b in enumerate(w.bits):
            keys.setdefault(b if isinstance(b, int) else _CONST_KEY[str(b)], []).append(_key(w, i))
    return keys


def _key(w: Wire, i: int) -> str:
    base = w.name if _PLAIN_ID.match(w.name) else f"\\{w.name}"
    return f"{base}[{w.index(i)}]" if w.vector else base


def _rank(key_wire: dict[str, Wire]):
    """Sort order of a net's names for the one a cell pin is read through: input ports, output
    ports, public names, then hidden (renamed) ones; shorter first, then alphabetical."""
    def rank(key: str) -> tuple:
        w = key_wire[key]
        port = {"input": 0, "inout": 1, "output": 2}.get(w.direction or "", 3)
        return port, w.hidden, len(key), key
    return rank


@dataclass
class Cell:
    type: str
    name: str
    pins: dict[str, str]          # pin → net key (one bit)


@dataclass
class Instance:
    module: str
    name: str
    ports: dict[str, list[str]]   # port → net keys, index i = port bit i (LSB first)


@dataclass
class Module:
    name: str
    ports: dict[str, tuple[str, list[str]]]   # port → (direction, net keys LSB first)
    cells: list[Cell] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # names of one net (bit keys)


def gate_modules(netlist: dict[str, NetlistModule]) -> dict[str, Module]:
    """The netlist as bit keys: a net with several names gets one key per name, tied by aliases,
    and is read by cells through its first name in :func:`_rank` order."""
    with _no_cyclic_gc():
        return _gate_modules(netlist)


def _gate_modules(netlist: dict[str, NetlistModule]) -> dict[str, Module]:
    out: dict[str, Module] = {}
    for name, nm in netlist.items():
        keys = _bit_keys(nm)
        key_wire = {_key(w, i): w for w in nm.wires.values() for i in range(len(w.bits))}
        rank = _rank(key_wire)
        canon: dict[int, str] = {}
        mod = Module(name=name, ports={})
        for b, names in keys.items():
            if isinstance(b, str):      # wires driven by a constant
                mod.aliases += [(n, b) for n in names]
                continue
            names = sorted(names, key=rank)
            canon[b] = names[0]
            mod.aliases += [(n, names[0]) for n in names[1:]]

        def key_of(bit: Bit) -> str:
            if isinstance(bit, int):
                if bit not in canon:
                    canon[bit] = f"$net{bit}"   # a net no wire names (yosys keeps a name on every used net)
                return canon[bit]
            return _CONST_KEY[str(bit)]

        for p in nm.ports:
            w = nm.wires[p]
            mod.ports[p] = (w.direction, [_key(w, i) for i in range(len(w.bits))])
        for c in nm.cells:
            if c.type in netlist:
                mod.instances.append(Instance(c.type, c.name, {p: [key_of(b) for b in bits]
                                                               for p, bits in c.connections.items()}))
            else:
                if any(len(bits) > 1 for bits in c.connections.values()):
                    raise ToolError(f"netlist module {name}: cell {c.name} of type {c.type} has a multi-bit pin; "
                                    "expected library cells (one bit per pin) or sub-module instances")
                mod.cells.append(Cell(c.type, c.name, {p: key_of(bits[0]) if bits else ""
                                                       for p, bits in c.connections.items()}))
        out[name] = mod
    return out


# ----------------------------------------------------------------------------- Verilog out
def _sig(bits: list[Bit], canon: dict[int, tuple[Wire, int]]) -> str:
    """Verilog expression of ``bits`` (LSB first): one element per bit, MSB first."""
    parts = []
    for b in reversed(bits):
        if isinstance(b, int):
            w, i = canon[b]
            parts.append(f"{verilog_id(w.name)}[{w.index(i)}]" if w.vector else verilog_id(w.name))
        else:
            parts.append("1'b1" if str(b) == "1" else "1'b0" if str(b) == "0" else "1'bx")
    return parts[0] if len(parts) == 1 else "{ " + ", ".join(parts) + " }"


def write_verilog(netlist: dict[str, NetlistModule], path: Path) -> None:
    """A structural Verilog netlist of ``netlist``: every wire declared, every cell with named pin
    connections, and an ``assign`` for each further name of a net (driven from its input port
    or first name)."""
    lines = []
    for nm in netlist.values():
        canon: dict[int, tuple[Wire, int]] = {}
        order = sorted(nm.wires.values(), key=lambda w: ({"input": 0, "inout": 1}.get(w.direction or "", 2)))
        for w in order:
            for i, b in enumerate(w.bits):
                if isinstance(b, int):
                    canon.setdefault(b, (w, i))
        lines.append(f"module {verilog_id(nm.name)}({', '.join(verilog_id(p) for p in nm.ports)});")
        for w in nm.wires.values():
            rng = ""
            if w.vector:
                lo, hi = w.offset, w.offset + len(w.bits) - 1
                rng = f" [{lo}:{hi}]" if w.upto else f" [{hi}:{lo}]"
            if w.direction:
                lines.append(f"  {w.direction}{rng} {verilog_id(w.name)};")
            lines.append(f"  wire{rng} {verilog_id(w.name)};")
        for c in nm.cells:
            conns = ",\n".join(f"    .{verilog_id(p)}({_sig(bits, canon) if bits else ''})"
                               for p, bits in c.connections.items())
            lines.append(f"  {verilog_id(c.type)} {verilog_id(c.name)} (\n{conns}\n  );")
        for w in nm.wires.values():
            if w.direction == "input":
                continue
            for i, b in enumerate(w.bits):
                lhs = f"{verilog_id(w.name)}[{w.index(i)}]" if w.vector else verilog_id(w.name)
                if not isinstance(b, int):
                    lines.append(f"  assign {lhs} = {_sig([b], canon)};")
                elif canon[b] != (w, i):
                    lines.append(f"  assign {lhs} = {_sig([b], canon)};")
        lines.append("endmodule")
    Path(path).write_text("\n".join(lines) + "\n")
