"""Cell models read from a liberty file: logic functions, flip-flops, pin capacitances, internal
power tables and leakage — what the kit's gate-level power calculation (econt.asic.gatepower) needs.

Liberty boolean functions are compiled to numpy expressions over boolean arrays. Operator
precedence follows the Liberty reference: inversion (``!`` prefix, ``'`` postfix) first, then
``^``, then AND (``&``, ``*`` or juxtaposition), then OR (``|``, ``+``).

Energy units: internal-power table values are in ``capacitive_load_unit × voltage_unit²`` (pJ for
sky130's pF, fJ for Nangate45's fF) — the convention OpenSTA uses as well.
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from econt.errors import ToolError
from econt.paths import work_dir

MODEL_VERSION = 1

_TOKEN_RE = re.compile(r'/\*.*?\*/|"(?:[^"\\]|\\.)*"|[{}():;,]|\\\n|[^\s{}():;,"]+', re.S)


# ----------------------------------------------------------------------------- generic liberty parse
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
    toks = [t for t in _TOKEN_RE.findall(text) if not t.startswith("/*") and t != "\\\n"]
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
    """An internal-power lookup table; ``slew_axis``/``load_axis`` say which index is which (None = absent)."""

    index_1: np.ndarray
    index_2: np.ndarray | None
    values: np.ndarray
    slew_axis: int | None
    load_axis: int | None

    def energy(self, slew: float, load: np.ndarray) -> np.ndarray:
        """Bilinear interpolation, clamped to the table's range (no extrapolation)."""
        load = np.asarray(load, dtype=float)

        def interp1(axis_vals: np.ndarray, x: np.ndarray, table: np.ndarray) -> np.ndarray:
            x = np.clip(x, axis_vals[0], axis_vals[-1])
            return np.interp(x, axis_vals, table)

        if self.index_2 is None:
            x = slew if self.slew_axis == 0 else load
            return np.broadcast_to(interp1(self.index_1, np.asarray(x, dtype=float), self.values.ravel()),
                                   load.shape).astype(float)
        idx = [self.index_1, self.index_2]
        vals = self.values
        if self.slew_axis == 1:  # make axis 0 = slew, axis 1 = load
            idx = idx[::-1]
            vals = vals.T
        s = float(np.clip(slew, idx[0][0], idx[0][-1]))
        row = np.array([np.interp(s, idx[0], vals[:, j]) for j in range(vals.shape[1])])
        return interp1(idx[1], load, row)


@dataclass
class PowerArc:
    related_pin: str | None
    rise: PowerTable | None
    fall: PowerTable | None


@dataclass
class PinModel:
    name: str
    direction: str
    capacitance: float
    function: str | None = None
    is_clock: bool = False
    power: list[PowerArc] = field(default_factory=list)


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
    area: float
    leakage: float
    pins: dict[str, PinModel]
    flop: FlopModel | None = None
    latch: bool = False
    statetable: bool = False

    @property
    def inputs(self) -> list[str]:
        return [p for p, m in self.pins.items() if m.direction == "input"]

    @property
    def outputs(self) -> list[str]:
        return [p for p, m in self.pins.items() if m.direction in ("output", "inout")]


@dataclass
class LibraryModel:
    path: str
    name: str
    voltage: float
    cap_unit_f: float        # farad per capacitance unit
    leakage_unit_w: float    # watt per leakage unit
    energy_unit_j: float     # joule per internal-power table unit (cap unit × V²)
    time_unit_s: float
    cells: dict[str, CellModel]


def _floats(text: str) -> np.ndarray:
    return np.array([float(x) for x in re.split(r"[,\s]+", text.strip()) if x], dtype=float)


def _table(group: Group, templates: dict[str, tuple[str, str | None]]) -> PowerTable | None:
    if "values" not in group.complex:
        return None
    var1, var2 = templates.get(group.args[0] if group.args else "", ("", None))
    i1 = _floats(",".join(group.complex["index_1"])) if "index_1" in group.complex else None
    i2 = _floats(",".join(group.complex["index_2"])) if "index_2" in group.complex else None
    rows = [_floats(r) for r in group.complex["values"]]
    vals = np.array(rows, dtype=float)
    if i1 is None:  # scalar table
        return PowerTable(np.array([0.0, 1.0]), None, np.array([vals.ravel()[0]] * 2), 0, None)
    if i2 is None:
        vals = vals.ravel()
    else:
        vals = vals.reshape(len(i1), len(i2))

    def kind(v: str | None) -> str | None:
        if v is None:
            return None
        if "transition" in v:
            return "slew"
        if "capacitance" in v:
            return "load"
        return None

    k1, k2 = kind(var1), kind(var2)
    slew_axis = 0 if k1 == "slew" else (1 if k2 == "slew" else None)
    load_axis = 0 if k1 == "load" else (1 if k2 == "load" else None)
    if slew_axis is None and load_axis is None:
        slew_axis = 0
    return PowerTable(i1, i2, vals, slew_axis, load_axis)


def _unit(attr: str | None, table: dict[str, float], default: float) -> float:
    if not attr:
        return default
    m = re.match(r"\s*([0-9.eE+-]+)\s*([A-Za-z]+)", attr)
    if not m:
        return default
    return float(m.group(1)) * table[m.group(2).lower()]


def build_library_model(path: Path, wanted: set[str] | None = None) -> LibraryModel:
    """Parse a liberty file (decompressed) into :class:`LibraryModel` (cells in ``wanted`` only, if given)."""
    text = Path(path).read_text(errors="replace")
    lib = parse_liberty_text(text, str(path))
    templates: dict[str, tuple[str, str | None]] = {}
    for g in lib.groups:
        if g.kind in ("power_lut_template", "lu_table_template") and g.args:
            templates[g.args[0]] = (g.attrs.get("variable_1", ""), g.attrs.get("variable_2"))
    volt = float(lib.attrs.get("nom_voltage", "nan"))
    cap = lib.complex.get("capacitive_load_unit", ["1", "pf"])
    cap_unit = float(cap[0]) * {"pf": 1e-12, "ff": 1e-15, "nf": 1e-9}[cap[1].strip().lower()]
    leak_unit = _unit(lib.attrs.get("leakage_power_unit"), {"pw": 1e-12, "nw": 1e-9, "uw": 1e-6, "mw": 1e-3, "w": 1.0},
                      1e-9)
    volt_unit = _unit(lib.attrs.get("voltage_unit"), {"v": 1.0, "mv": 1e-3}, 1.0)
    time_unit = _unit(lib.attrs.get("time_unit"), {"ps": 1e-12, "ns": 1e-9, "us": 1e-6}, 1e-9)
    cells: dict[str, CellModel] = {}
    for cg in lib.sub("cell"):
        name = cg.args[0]
        if wanted is not None and name not in wanted:
            continue
        pins: dict[str, PinModel] = {}
        for pg in cg.sub("pin"):
            for pname in pg.args:
                pm = PinModel(name=pname, direction=pg.attrs.get("direction", "input"),
                              capacitance=float(pg.attrs.get("capacitance", "0") or 0),
                              function=pg.attrs.get("function") or None,
                              is_clock=pg.attrs.get("clock", "false") == "true")
                for ipg in pg.sub("internal_power"):
                    rise = next((_table(t, templates) for t in ipg.sub("rise_power")), None)
                    fall = next((_table(t, templates) for t in ipg.sub("fall_power")), None)
                    pw = next((_table(t, templates) for t in ipg.sub("power")), None)
                    if pw is not None and rise is None and fall is None:
                        rise = fall = pw
                    pm.power.append(PowerArc(ipg.attrs.get("related_pin"), rise, fall))
                pins[pname] = pm
        flop = None
        ffs = cg.sub("ff")
        if ffs:
            ff = ffs[0]
            flop = FlopModel(iq=ff.args[0], iqn=ff.args[1] if len(ff.args) > 1 else ff.args[0] + "_N",
                             next_state=ff.attrs.get("next_state", ""), clocked_on=ff.attrs.get("clocked_on", ""),
                             clear=ff.attrs.get("clear"), preset=ff.attrs.get("preset"))
        cells[name] = CellModel(name=name, area=float(cg.attrs.get("area", "0") or 0),
                                leakage=float(cg.attrs.get("cell_leakage_power", "0") or 0), pins=pins, flop=flop,
                                latch=bool(cg.sub("latch")), statetable=bool(cg.sub("statetable")))
    return LibraryModel(path=str(path), name=lib.args[0] if lib.args else Path(path).stem, voltage=volt * volt_unit,
                        cap_unit_f=cap_unit, leakage_unit_w=leak_unit, energy_unit_j=cap_unit * volt_unit ** 2,
                        time_unit_s=time_unit, cells=cells)


def load_library_model(path: Path) -> LibraryModel:
    """:func:`build_library_model` for all cells, cached beside the prepared liberty in build/asic/liberty."""
    import hashlib

    path = Path(path)
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{MODEL_VERSION}".encode()).hexdigest()[:16]
    cache = work_dir("asic", "liberty") / f"{path.stem}.{key}.model.pkl"
    if cache.is_file():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    model = build_library_model(path)
    tmp = cache.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(model, fh)
    tmp.replace(cache)
    return model
