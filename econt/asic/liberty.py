"""The kit's one liberty reader: cell models in normalised units, and liberty copies prepared for the tools.

It reads the four open libraries the kit supports, whose conventions differ: sky130hd and Nangate45
give leakage in nW, IHP SG13G2 in pW, GF180MCU in uW; values are quoted or not
(GF180 writes ``voltage_unit : 1V ;``); capacitance is in pF (sky130, IHP, GF180) or fF (Nangate45);
GF180 has no ``cell_leakage_power`` (only ``leakage_power`` groups); ``related_pg_pin`` is present
(GF180) or not. Everything is converted on reading to the kit's units:

* time ns, capacitance fF, energy fJ, leakage power nW, area um² (liberty area is um² in all four).

Internal-power table values are energies in ``capacitive_load_unit × voltage_unit²`` (the
convention OpenSTA uses), so they become fJ here whatever the library's units.

Liberty boolean functions are compiled to numpy expressions over boolean arrays. Operator
precedence follows the Liberty reference: inversion (``!`` prefix, ``'`` postfix) first, then
``^``, then AND (``&``, ``*`` or juxtaposition), then OR (``|``, ``+``).

Prepared copies (:func:`prepared_liberty`): Debian's OpenSTA 2.0.17 computes the internal power of
a sky130 cell as zero unless each ``internal_power`` group names its supply (``related_pg_pin :
"VPWR";``), which sky130 leaves implicit. The kit writes a decompressed, patched copy under
``build/asic/liberty/`` keyed by the source's content hash, so shared files stay untouched.
"""
from __future__ import annotations

import gzip
import os
import hashlib
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from econt.errors import ToolError
from econt.paths import work_dir

MODEL_VERSION = 3   # bump when the model's fields or units change (pickle cache key)
PATCH_VERSION = 1   # bump when the patch logic changes so old prepared copies are not reused


# ----------------------------------------------------------------------------- prepared copies
def read_liberty_text(path: Path) -> str:
    """The text of a liberty file, gzip or plain."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8", errors="replace")


def add_related_pg_pin(text: str, pg_pin: str) -> tuple[str, int]:
    """Insert ``related_pg_pin : "<pg_pin>";`` into every ``internal_power`` group whose
    simple attributes (before its first sub-group) do not name a supply yet.
    Returns the new text and the number of groups patched."""
    head = re.compile(r"internal_power\s*\(\s*\)\s*\{")
    out: list[str] = []
    pos = 0
    count = 0
    for match in head.finditer(text):
        body_start = match.end()
        nxt = min((i for i in (text.find("{", body_start), text.find("}", body_start)) if i >= 0),
                  default=len(text))
        out.append(text[pos:body_start])
        if "related_pg_pin" not in text[body_start:nxt]:
            out.append(f'\n                related_pg_pin : "{pg_pin}";')
            count += 1
        pos = body_start
    out.append(text[pos:])
    return "".join(out), count


def prepared_liberty(source: Path, related_pg_pin: str | None) -> Path:
    """Return a decompressed (and, when ``related_pg_pin`` is given, patched) copy of
    ``source`` in the kit cache; built on first use."""
    source = Path(source)
    if not source.is_file():
        raise ToolError(f"liberty file {source} does not exist; check the PDK config's library paths.")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    tag = f"pg-{related_pg_pin}" if related_pg_pin else "plain"
    stem = source.name.removesuffix(".gz").removesuffix(".lib")
    out = work_dir("asic", "liberty") / f"{stem}.{digest}.{tag}.v{PATCH_VERSION}.lib"
    if out.is_file():
        return out
    text = read_liberty_text(source)
    if related_pg_pin:
        text, n = add_related_pg_pin(text, related_pg_pin)
        if n == 0 and "related_pg_pin" not in text:
            raise ToolError(f"{source}: no internal_power groups found to patch; is this a liberty file?")
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(out)  # atomic: parallel runs never see a half-written library
    return out


# ----------------------------------------------------------------------------- generic liberty parse
# a backslash ending a line (optionally followed by blanks or a carriage return) continues it
_TOKEN_RE = re.compile(r'/\*.*?\*/|"(?:[^"\\]|\\.)*"|[{}():;,]|\\[ \t\r]*\n|[^\s{}():;,"]+', re.S)


@dataclass
class Group:
    kind: str
    args: list[str]
    attrs: dict[str, str] = field(default_factory=dict)
    complex: dict[str, list[str]] = field(default_factory=dict)
    groups: list["Group"] = field(default_factory=list)

    def sub(self, kind: str) -> list["Group"]:
        return [g for g in self.groups if g.kind == kind]


def _unquote(tok: str) -> str:
    return tok[1:-1] if tok.startswith('"') and tok.endswith('"') else tok


def parse_liberty_text(text: str, source: str) -> Group:
    """Parse liberty text into nested :class:`Group` objects (attributes kept as strings)."""
    toks = [t for t in _TOKEN_RE.findall(text) if not t.startswith("/*") and t.rstrip(" \t\r\n") != "\\"]
    pos = 0
    n = len(toks)

    def err(msg: str) -> ToolError:
        return ToolError(f"liberty {source}: {msg} near token {pos} ({' '.join(toks[max(0, pos - 5):pos + 5])})")

    def parse_body(group: Group) -> None:
        nonlocal pos
        while pos < n:
            t = toks[pos]
            if t == "}":
                pos += 1
                return
            if t == ";":
                pos += 1
                continue
            name = t
            pos += 1
            if pos >= n:
                raise err("unexpected end of file")
            if toks[pos] == ":":
                pos += 1
                value = []
                while pos < n and toks[pos] not in (";", "}") and not (
                        pos + 1 < n and toks[pos + 1] in (":", "(") and value):
                    value.append(toks[pos])
                    pos += 1
                group.attrs[name] = _unquote(" ".join(value))
                continue
            if toks[pos] == "(":
                pos += 1
                args = []
                while pos < n and toks[pos] != ")":
                    if toks[pos] != ",":
                        args.append(_unquote(toks[pos]))
                    pos += 1
                pos += 1  # ')'
                if pos < n and toks[pos] == "{":
                    pos += 1
                    child = Group(name, args)
                    parse_body(child)
                    group.groups.append(child)
                else:
                    group.complex[name] = args
                continue
            raise err(f"cannot parse statement starting with {name!r}")

    root = Group("root", [])
    parse_body(root)
    libs = root.sub("library")
    if not libs:
        raise ToolError(f"liberty {source}: no library group found")
    return libs[0]


# ----------------------------------------------------------------------------- boolean functions
_FN_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\[\]\.]*|[01]|[!'&*|+^()])")


def compile_function(expr: str) -> tuple[Callable[[dict], np.ndarray], list[str]]:
    """Compile a liberty function to ``f(values: {name: bool array}) -> bool array`` and its inputs."""
    toks: list[str] = []
    pos = 0
    s = expr.strip()
    while pos < len(s):
        m = _FN_TOKEN.match(s, pos)
        if not m:
            raise ToolError(f"liberty function {expr!r}: cannot read at {s[pos:]!r}")
        toks.append(m.group(1))
        pos = m.end()
    # juxtaposition is AND: insert '&' where an operand ends and the next one starts
    def ends(t: str) -> bool:
        return t in (")", "'") or t[0].isalnum() or t[0] == "_"

    def starts(t: str) -> bool:
        return t in ("(", "!") or t[0].isalnum() or t[0] == "_"

    toks = [t for k, tok in enumerate(toks) for t in ((["&"] if k and ends(toks[k - 1]) and starts(tok) else [])
                                                      + [tok])]
    i = 0
    names: list[str] = []

    def primary() -> str:
        nonlocal i
        t = toks[i]
        if t == "!":
            i += 1
            return f"(~{primary()})"
        if t == "(":
            i += 1
            e = p_or()
            if i >= len(toks) or toks[i] != ")":
                raise ToolError(f"liberty function {expr!r}: missing ')'")
            i += 1
            out = e
        elif t in ("0", "1"):
            i += 1
            out = f"_c{t}"
        else:
            i += 1
            if t not in names:
                names.append(t)
            out = f"v[{t!r}]"
        while i < len(toks) and toks[i] == "'":
            i += 1
            out = f"(~{out})"
        return out

    # binary operators by rising precedence: OR, AND, XOR (inversion binds in primary())
    levels = [(("|", "+"), "|"), (("&", "*"), "&"), (("^",), "^")]

    def binary(level: int) -> str:
        nonlocal i
        if level == len(levels):
            return primary()
        tokens, op = levels[level]
        e = binary(level + 1)
        while i < len(toks) and toks[i] in tokens:
            i += 1
            e = f"({e} {op} {binary(level + 1)})"
        return e

    def p_or() -> str:
        return binary(0)

    code = p_or()
    if i != len(toks):
        raise ToolError(f"liberty function {expr!r}: unexpected {toks[i]!r}")
    src = f"lambda v, _c0, _c1: {code}"
    fn = eval(src, {"__builtins__": {}})  # the source is built above from a closed token set
    return fn, names


def evaluate(fn: Callable, values: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    c0 = np.zeros(shape, dtype=bool)
    out = fn(values, c0, ~c0)
    return np.broadcast_to(out, shape)


# ----------------------------------------------------------------------------- cell models
@dataclass
class PowerTable:
    """An internal-power lookup table in kit units (axes: slew ns, load fF; values fJ).
    ``slew_axis``/``load_axis`` say which index is which (None = absent)."""

    index_1: np.ndarray
    index_2: np.ndarray | None
    values: np.ndarray
    slew_axis: int | None
    load_axis: int | None

    def energy(self, slew_ns: float, load_ff: np.ndarray) -> np.ndarray:
        """Energy per transition in fJ: bilinear interpolation, clamped to the table's range."""
        return self.lookup(slew_ns, load_ff)

    def lookup(self, slew_ns: float, load_ff: np.ndarray) -> np.ndarray:
        """The table's value (kit units) at ``slew_ns`` and each load: bilinear interpolation, clamped."""
        load = np.asarray(load_ff, dtype=float)

        def interp1(axis_vals: np.ndarray, x: np.ndarray, table: np.ndarray) -> np.ndarray:
            x = np.clip(x, axis_vals[0], axis_vals[-1])
            return np.interp(x, axis_vals, table)

        if self.index_2 is None:
            x = slew_ns if self.slew_axis == 0 else load
            return np.broadcast_to(interp1(self.index_1, np.asarray(x, dtype=float), self.values.ravel()),
                                   load.shape).astype(float)
        idx = [self.index_1, self.index_2]
        vals = self.values
        if self.slew_axis == 1:  # make axis 0 = slew, axis 1 = load
            idx = idx[::-1]
            vals = vals.T
        s = float(np.clip(slew_ns, idx[0][0], idx[0][-1]))
        row = np.array([np.interp(s, idx[0], vals[:, j]) for j in range(vals.shape[1])])
        return interp1(idx[1], load, row)


@dataclass
class PowerArc:
    related_pin: str | None
    when: str | None
    rise: PowerTable | None
    fall: PowerTable | None


@dataclass
class DelayArc:
    """A timing arc from ``related_pin`` to the pin that holds it (``cell_rise`` / ``cell_fall`` in ns,
    same table layout as :class:`PowerTable`); ``None`` where the library gives none."""

    related_pin: str
    timing_type: str
    rise: PowerTable | None
    fall: PowerTable | None

    def delay_ns(self, slew_ns: float, load_ff: np.ndarray) -> np.ndarray:
        """Mean of the rise and fall delays at ``slew_ns`` and each load."""
        tabs = [t for t in (self.rise, self.fall) if t is not None]
        if not tabs:
            return np.zeros(np.shape(load_ff))
        return np.mean([t.lookup(slew_ns, load_ff) for t in tabs], axis=0)


@dataclass
class PinModel:
    name: str
    direction: str
    capacitance_ff: float
    function: str | None = None
    is_clock: bool = False
    power: list[PowerArc] = field(default_factory=list)
    delays: list[DelayArc] = field(default_factory=list)   # timing arcs ending at this (output) pin
    clock_gate_role: str | None = None   # clock_gate_clock_pin / _enable_pin / _test_pin / _out_pin


@dataclass
class FlopModel:
    iq: str
    iqn: str
    next_state: str
    clocked_on: str
    clear: str | None
    preset: str | None


@dataclass
class CellModel:
    name: str
    area_um2: float
    leakage_nw: float
    pins: dict[str, PinModel]
    flop: FlopModel | None = None
    latch: bool = False
    statetable: bool = False
    clock_gating: str | None = None      # liberty clock_gating_integrated_cell, e.g. "latch_posedge"

    @property
    def inputs(self) -> list[str]:
        return [p for p, m in self.pins.items() if m.direction == "input"]

    @property
    def outputs(self) -> list[str]:
        return [p for p, m in self.pins.items() if m.direction in ("output", "inout")]

    def clock_gate_pin(self, role: str) -> str | None:
        """The pin of an integrated clock-gating cell with ``role`` ("clock", "enable", "test", "out")."""
        return next((p for p, m in self.pins.items() if m.clock_gate_role == f"clock_gate_{role}_pin"), None)


@dataclass
class LibraryUnits:
    """The source library's units as read from its header, in SI (what one unit is worth)."""

    time_s: float
    capacitance_f: float
    voltage_v: float
    leakage_power_w: float

    @property
    def energy_j(self) -> float:
        """One internal-power table unit: capacitive_load_unit × voltage_unit²."""
        return self.capacitance_f * self.voltage_v ** 2


@dataclass
class LibraryModel:
    path: str
    name: str
    voltage: float           # nominal supply in V
    units: LibraryUnits      # the file's own units (values below are already converted to kit units)
    cells: dict[str, CellModel]

    def sequential_cells(self) -> set[str]:
        """Names of the flip-flop cells (an ``ff`` group; latches and clock gates are not counted)."""
        return {n for n, c in self.cells.items() if c.flop is not None}

    def clock_gating_cells(self) -> set[str]:
        return {n for n, c in self.cells.items() if c.clock_gating}


def _floats(text: str) -> np.ndarray:
    return np.array([float(x) for x in re.split(r"[,\s\\]+", text.strip()) if x], dtype=float)


def _table(group: Group, templates: dict[str, tuple[str, str | None]], time_ns: float, cap_ff: float,
           energy_fj: float) -> PowerTable | None:
    if "values" not in group.complex:
        return None
    var1, var2 = templates.get(group.args[0] if group.args else "", ("", None))
    i1 = _floats(",".join(group.complex["index_1"])) if "index_1" in group.complex else None
    i2 = _floats(",".join(group.complex["index_2"])) if "index_2" in group.complex else None
    vals = np.array([x for r in group.complex["values"] for x in _floats(r)], dtype=float) * energy_fj
    if i1 is None:  # scalar table
        return PowerTable(np.array([0.0, 1.0]), None, np.array([vals.ravel()[0]] * 2), 0, None)

    def kind(v: str | None) -> str | None:
        if v is None:
            return None
        if "transition" in v:
            return "slew"
        if "capacitance" in v:
            return "load"
        return None

    k1, k2 = kind(var1), kind(var2)
    scale = {"slew": time_ns, "load": cap_ff, None: 1.0}
    i1 = i1 * scale[k1]
    if i2 is None:
        vals = vals.ravel()
    else:
        vals = vals.reshape(len(i1), len(i2))
        i2 = i2 * scale[k2]
    slew_axis = 0 if k1 == "slew" else (1 if k2 == "slew" else None)
    load_axis = 0 if k1 == "load" else (1 if k2 == "load" else None)
    if slew_axis is None and load_axis is None:
        slew_axis = 0
    return PowerTable(i1, i2, vals, slew_axis, load_axis)


_SI = {"s": 1.0, "f": 1.0, "v": 1.0, "w": 1.0}
_PREFIX = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "f": 1e-15, "k": 1e3, "": 1.0}


def _unit(value: str | None, base: str, source: str, attr: str) -> float:
    """SI worth of a liberty unit string such as ``1ns``, ``"1pW"``, ``1V``, ``100mV``."""
    if not value:
        raise ToolError(f"liberty {source}: header attribute {attr} is missing; the kit cannot convert its units")
    m = re.fullmatch(r"\s*([0-9.eE+-]*)\s*([a-zA-Z]*?)(" + base + r")\s*", value, flags=re.I)
    if not m or m.group(2).lower() not in _PREFIX:
        raise ToolError(f"liberty {source}: cannot read {attr} '{value}' (expected e.g. 1n{base})")
    return float(m.group(1) or 1) * _PREFIX[m.group(2).lower()]


def _leakage(cg: Group) -> float:
    """A cell's leakage in library units: ``cell_leakage_power`` if given, else the unconditional
    ``leakage_power`` group, else the mean of the state-dependent ones (all states equally likely)."""
    if "cell_leakage_power" in cg.attrs:
        return float(cg.attrs["cell_leakage_power"])
    groups = cg.sub("leakage_power")
    plain = [float(g.attrs["value"]) for g in groups if "value" in g.attrs and "when" not in g.attrs]
    if plain:
        return plain[0]
    cond = [float(g.attrs["value"]) for g in groups if "value" in g.attrs]
    return float(np.mean(cond)) if cond else 0.0


def build_library_model(path: Path, wanted: set[str] | None = None) -> LibraryModel:
    """Parse a liberty file (gzip or plain) into :class:`LibraryModel` in kit units
    (cells in ``wanted`` only, if given)."""
    lib = parse_liberty_text(read_liberty_text(path), str(path))
    src = str(path)
    templates: dict[str, tuple[str, str | None]] = {}
    for g in lib.groups:
        if g.kind in ("power_lut_template", "lu_table_template") and g.args:
            templates[g.args[0]] = (g.attrs.get("variable_1", ""), g.attrs.get("variable_2"))
    cap = lib.complex.get("capacitive_load_unit")
    if not cap or len(cap) != 2:
        raise ToolError(f"liberty {src}: header capacitive_load_unit (value, unit) is missing")
    units = LibraryUnits(
        time_s=_unit(lib.attrs.get("time_unit"), "s", src, "time_unit"),
        capacitance_f=float(cap[0]) * _unit("1" + cap[1].strip(), "f", src, "capacitive_load_unit"),
        voltage_v=_unit(lib.attrs.get("voltage_unit"), "v", src, "voltage_unit"),
        leakage_power_w=_unit(lib.attrs.get("leakage_power_unit"), "w", src, "leakage_power_unit"),
    )
    if "nom_voltage" not in lib.attrs:
        raise ToolError(f"liberty {src}: header attribute nom_voltage is missing")
    time_ns, cap_ff = units.time_s / 1e-9, units.capacitance_f / 1e-15
    energy_fj, leak_nw = units.energy_j / 1e-15, units.leakage_power_w / 1e-9
    cells: dict[str, CellModel] = {}
    for cg in lib.sub("cell"):
        name = cg.args[0]
        if wanted is not None and name not in wanted:
            continue
        pins: dict[str, PinModel] = {}
        for pg in cg.sub("pin"):
            for pname in pg.args:
                pm = PinModel(name=pname, direction=pg.attrs.get("direction", "input"),
                              capacitance_ff=float(pg.attrs.get("capacitance", "0") or 0) * cap_ff,
                              function=pg.attrs.get("function") or None,
                              is_clock=pg.attrs.get("clock", "false") == "true",
                              clock_gate_role=next((k for k in pg.attrs if k.startswith("clock_gate_")
                                                    and k.endswith("_pin") and pg.attrs[k] == "true"), None))
                for ipg in pg.sub("internal_power"):
                    rise = next((_table(t, templates, time_ns, cap_ff, energy_fj) for t in ipg.sub("rise_power")),
                                None)
                    fall = next((_table(t, templates, time_ns, cap_ff, energy_fj) for t in ipg.sub("fall_power")),
                                None)
                    pw = next((_table(t, templates, time_ns, cap_ff, energy_fj) for t in ipg.sub("power")), None)
                    if pw is not None and rise is None and fall is None:
                        rise = fall = pw
                    pm.power.append(PowerArc(ipg.attrs.get("related_pin"), ipg.attrs.get("when"), rise, fall))
                for tg in pg.sub("timing"):
                    rel = tg.attrs.get("related_pin")
                    kind = tg.attrs.get("timing_type", "combinational")
                    if rel is None or kind.startswith(("setup", "hold", "recovery", "removal", "min_", "skew",
                                                       "nochange", "non_seq")):
                        continue
                    tabs = {k: next((_table(t, templates, time_ns, cap_ff, time_ns) for t in tg.sub(k)), None)
                            for k in ("cell_rise", "cell_fall")}
                    if tabs["cell_rise"] is None and tabs["cell_fall"] is None:
                        continue
                    for r in rel.split():
                        pm.delays.append(DelayArc(r, kind, tabs["cell_rise"], tabs["cell_fall"]))
                pins[pname] = pm
        flop = None
        ffs = cg.sub("ff")
        if ffs:
            ff = ffs[0]
            flop = FlopModel(iq=ff.args[0], iqn=ff.args[1] if len(ff.args) > 1 else ff.args[0] + "_N",
                             next_state=ff.attrs.get("next_state", ""), clocked_on=ff.attrs.get("clocked_on", ""),
                             clear=ff.attrs.get("clear"), preset=ff.attrs.get("preset"))
        cells[name] = CellModel(name=name, area_um2=float(cg.attrs.get("area", "0") or 0),
                                leakage_nw=_leakage(cg) * leak_nw, pins=pins, flop=flop,
                                latch=bool(cg.sub("latch")), statetable=bool(cg.sub("statetable")),
                                clock_gating=cg.attrs.get("clock_gating_integrated_cell"))
    return LibraryModel(path=str(path), name=lib.args[0] if lib.args else Path(path).stem,
                        voltage=float(lib.attrs["nom_voltage"]) * units.voltage_v, units=units, cells=cells)


def load_library_model(path: Path) -> LibraryModel:
    """:func:`build_library_model` for all cells, cached (pickle) in build/asic/liberty."""
    path = Path(path)
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{MODEL_VERSION}".encode()).hexdigest()[:16]
    cache = work_dir("asic", "liberty") / f"{path.name}.{key}.model.pkl"
    if cache.is_file():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    model = build_library_model(path)
    tmp = cache.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(model, fh)
    tmp.replace(cache)
    return model
