"""Power from a gate-level simulation of the synthesised netlist on real events (kit-owned).

Why: Debian OpenSTA 2.0.17 cannot take measured internal activities (``set_power_activity
-pins`` fails in its own Tcl, and pin activities set through its API are ignored), and its
probabilistic propagation of input activities through the encoder's XOR-rich adder trees gives
non-physical results on sky130 (kilowatts for a 40k-cell block). So the kit measures every net:

1. The RTL simulation of real events (econt.asic.activity) samples every port of every
   instance once per clock cycle (just before the rising edge).
2. Each module of the hierarchical netlist is simulated cycle by cycle at gate level with the
   liberty cell functions (zero delay), driven by its instances' sampled input ports; its own
   outputs are checked bit for bit against the RTL samples (``mismatched_bits`` must be 0).
   Identical instances (the 8 filters, the 16 neurons) are simulated together.
3. Power = internal energy per output transition from the liberty tables (rise/fall, at each
   net's load and a nominal input slew) + internal energy of input pins (clock pins: two
   transitions per cycle) + ½·C·V² per transition of every net (sum of its sink pin
   capacitances; pre-layout, no wire load) + cell leakage.

Gated clocks (``cfg_storage: gated``): an integrated clock-gating cell (liberty
``clock_gating_integrated_cell``) is not simulated as a latch; its output is a gated clock net
whose gate is open at the edge after cycle t when its enable (or test) pin is 1 in cycle t (the
enable latch is transparent while the clock is low, so it holds what the sample before the edge
holds). A flop on a gated clock loads its D only at open edges and holds otherwise; a gated clock
net, the clock pins on it and the cell's output pin make two transitions per open edge. A module
whose ICG's enable and output are its ports (the RTL's ``econt_clock_gate`` wrapper) passes the
gating to its parent: the parent's net on the output port is gated by the net on the enable port.

Limits (reported with every figure): zero-delay simulation counts functional transitions only
(no glitches, which add to arithmetic logic); ideal clock (no clock tree); one nominal slew.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from econt.asic.activity import read_vcd_changes, read_vcd_header
from econt.asic.liberty import CellModel, LibraryModel, compile_function, evaluate
from econt.asic.netlist import CONST0, CONST1, Cell, Instance, Module, gate_modules, json_netlist_of, read_netlist
from econt.errors import ToolError


# ----------------------------------------------------------------------------- netlist
def classify(modules: dict[str, Module], library: LibraryModel) -> None:
    """Move single-bit 'cells' that are really sub-module instances, and check every leaf cell is in the library."""
    for mod in modules.values():
        keep = []
        for c in mod.cells:
            if c.type in modules:
                mod.instances.append(Instance(c.type, c.name, {p: [n] if n else [] for p, n in c.pins.items()}))
            elif c.type in library.cells:
                keep.append(c)
            else:
                raise ToolError(f"netlist cell {c.name} of module {mod.name}: type {c.type} is neither a module of the "
                                f"netlist nor a cell of {library.path}")
        mod.cells = keep
        for inst in mod.instances:
            if inst.module not in modules:
                raise ToolError(f"netlist instance {inst.name} in {mod.name}: module {inst.module} not found")


# ----------------------------------------------------------------------------- RTL samples (VCD)
def sample_vcd(vcd: Path, scopes: dict[str, set[str] | None], clock_period_ns: float) -> tuple[dict, int]:
    """Values of every variable of ``scopes`` once per clock cycle, just before each rising edge.

    The activity testbench starts the dump at a falling edge and drives inputs on falling edges, so
    rising edges are at dump start + P/2 + k·P. Returns ``({scope: {var: (lsb, bits (width, T))}}, T)``.
    """
    want = dict(scopes)
    ids: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    cur: dict[str, int] = {}
    samples: dict[str, list[int]] = defaultdict(list)
    t0 = None
    next_sample = None
    n_samples = 0
    with open(vcd) as fh:
        header = read_vcd_header(fh, vcd)
        for code, path, name, width, lsb in header.variables:
            if path in want and (want[path] is None or name in want[path]):
                ids[code].append((path, name, width, lsb))
                cur[code] = 0
        period = clock_period_ns / header.timescale_ns
        for t, code, val in read_vcd_changes(fh):
            if t is not None:
                if t0 is None:
                    t0 = t
                    next_sample = t0 + period / 2
                while next_sample is not None and t >= next_sample:
                    for code, v in cur.items():
                        samples[code].append(v)
                    n_samples += 1
                    next_sample += period
            elif code in cur:
                cur[code] = int(val, 2)
    if n_samples < 2:
        raise ToolError(f"{vcd}: fewer than two clock cycles in the dump")
    out: dict[str, dict] = defaultdict(dict)
    for code, lst in ids.items():
        vals = samples[code][:n_samples]
        for path, name, width, lsb in lst:
            # bit b of every sample at once: the binary strings, LSB first
            text = "".join(format(v, f"0{width}b")[::-1] for v in vals)
            bits = (np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")).astype(bool).reshape(n_samples, width).T
            out[path][name] = (lsb, bits)
    return dict(out), n_samples


# ----------------------------------------------------------------------------- simulation
@dataclass
class _Compiled:
    """A module prepared for simulation: net indices, levelised cell groups, flops."""

    module: Module
    net_index: dict[str, int]
    groups: list[tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]]  # (cell type, in pin → nets, out pin → nets)
    flops: list[tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]]
    cell_nets: list[tuple[Cell, dict[str, int]]]
    flop_q_keys: list[list[str]]     # per flop group: the net key of each flop's IQ output ("" if none)
    flop_clock_nets: list[np.ndarray]   # per flop group: each flop's clock-pin net (-1: none)
    # every gated clock net of the module (its ICGs' outputs, and nets on gated-clock output ports
    # of child instances, added by :func:`link_gated_clocks`) → the nets whose OR opens its gate
    # (an ICG's enable and test pins)
    gated_clocks: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def gate_enables(self, V: np.ndarray) -> dict[int, np.ndarray]:
        """Gated clock net → its gate-open flags per sample (an edge after sample t loads its flops)."""
        out = {}
        for net, ens in self.gated_clocks.items():
            e = np.zeros(V.shape[1], dtype=bool)
            for n in ens:
                e |= V[n]
            out[net] = e
        return out


def _compile_module(mod: Module, lib: LibraryModel) -> _Compiled:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in mod.aliases:
        ra, rb = find(a), find(b)
        if ra != rb:
            # constants stay representatives so aliases of 1'b0 read 0
            if ra in (CONST0, CONST1):
                parent[rb] = ra
            else:
                parent[ra] = rb
    keys: set[str] = {CONST0, CONST1}
    for _, (_, bits) in mod.ports.items():
        keys.update(bits)
    for c in mod.cells:
        keys.update(n for n in c.pins.values() if n)
    for inst in mod.instances:
        for bits in inst.ports.values():
            keys.update(bits)
    reps = sorted({find(k) for k in keys} | {CONST0, CONST1})
    index = {k: i for i, k in enumerate(reps)}
    net_index = {k: index[find(k)] for k in keys}
    driver: dict[int, int] = {}
    comb, flops = [], []
    cell_nets = []
    icgs: list[tuple[int, tuple[int, ...]]] = []
    for ci, c in enumerate(mod.cells):
        model = lib.cells[c.type]
        nets = {p: net_index[n] for p, n in c.pins.items() if n}
        if model.clock_gating:
            cell_nets.append((c, nets))
            out_pin, en_pins = model.clock_gate_pin("out"), (model.clock_gate_pin("enable"), model.clock_gate_pin("test"))
            if out_pin is None or en_pins[0] is None:
                raise ToolError(f"gate power: clock-gating cell {c.type} ({c.name} in {mod.name}) has no "
                                "clock_gate_out_pin / clock_gate_enable_pin in the liberty")
            if out_pin in nets:
                icgs.append((nets[out_pin], tuple(nets[p] for p in en_pins if p and p in nets)))
            continue
        if model.latch or model.statetable:
            raise ToolError(f"gate power: cell {c.name} ({c.type}) is a latch/statetable cell, which the kit's "
                            "simulator does not model; add it to the PDK config's dont_use list")
        cell_nets.append((c, nets))
        (flops if model.flop else comb).append(ci)
        for p in model.outputs:
            if p in nets:
                driver[nets[p]] = ci
    # an ICG's test pin tied low through a tie cell is no enable (so the gating passes up through
    # a wrapper whose only ports are clk, en, gclk)
    def tied_low(n: int) -> bool:
        if n == index[CONST0]:
            return True
        ci = driver.get(n)
        if ci is None:
            return False
        model = lib.cells[mod.cells[ci].type]
        out_fn = [model.pins[p].function for p in model.outputs if cell_nets[ci][1].get(p) == n]
        return not model.inputs and bool(out_fn) and (out_fn[0] or "").strip() in ("0", "1'b0", "false")

    icgs = [(out, tuple(e for e in ens if not tied_low(e))) for out, ens in icgs]
    # levelise the combinational cells (sources: ports, instance outputs, flop outputs, constants)
    level: dict[int, int] = {}
    comb_set = set(comb)

    def cell_level(ci: int, stack: set[int]) -> int:
        if ci in level:
            return level[ci]
        if ci in stack:
            raise ToolError(f"gate power: combinational loop through cell {mod.cells[ci].name} in module {mod.name}")
        stack.add(ci)
        c, nets = cell_nets[ci]
        model = lib.cells[c.type]
        lv = 0
        for p in model.inputs:
            n = nets.get(p)
            d = driver.get(n) if n is not None else None
            if d is not None and d in comb_set:
                lv = max(lv, cell_level(d, stack) + 1)
        stack.discard(ci)
        level[ci] = lv
        return lv

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100000))
    for ci in comb:
        cell_level(ci, set())
    by_group: dict[tuple[int, str], list[int]] = defaultdict(list)
    for ci in comb:
        by_group[(level[ci], mod.cells[ci].type)].append(ci)
    groups = []
    for (lv, ctype), cis in sorted(by_group.items()):
        model = lib.cells[ctype]
        ins = {p: np.array([cell_nets[ci][1].get(p, index[CONST0]) for ci in cis]) for p in model.inputs}
        outs = {p: np.array([cell_nets[ci][1].get(p, -1) for ci in cis]) for p in model.outputs}
        groups.append((ctype, ins, outs))
    fgroups: dict[str, list[int]] = defaultdict(list)
    for ci in flops:
        fgroups[mod.cells[ci].type].append(ci)
    flop_groups = []
    q_keys: list[list[str]] = []
    clock_nets: list[np.ndarray] = []
    for ctype, cis in fgroups.items():
        model = lib.cells[ctype]
        ins = {p: np.array([cell_nets[ci][1].get(p, index[CONST0]) for ci in cis]) for p in model.inputs}
        outs = {p: np.array([cell_nets[ci][1].get(p, -1) for ci in cis]) for p in model.outputs}
        flop_groups.append((ctype, ins, outs))
        q_pin = next((p for p in model.outputs if model.pins[p].function == model.flop.iq), None)
        q_keys.append([mod.cells[ci].pins.get(q_pin, "") if q_pin else "" for ci in cis])
        ck = model.flop.clocked_on.strip()
        clock_nets.append(ins[ck] if ck in ins else np.full(len(cis), -1))
    return _Compiled(mod, net_index, groups, flop_groups, cell_nets, q_keys, clock_nets, dict(icgs))


def link_gated_clocks(modules: dict[str, Module], compiled: dict[str, _Compiled]) -> None:
    """Pass clock gating up the hierarchy: where a child module's output port bit is a gated clock
    whose enable nets are its input port bits, the parent's net on that output is a gated clock
    enabled by the parent's nets on those inputs (children first, so wrappers of wrappers work)."""
    done: set[str] = set()

    def port_bit_of(mod: Module, comp: _Compiled) -> dict[int, tuple[str, int]]:
        return {comp.net_index[key]: (port, b) for port, (_, bits) in mod.ports.items()
                for b, key in enumerate(bits) if key not in (CONST0, CONST1)}

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        mod, comp = modules[name], compiled[name]
        for inst in mod.instances:
            visit(inst.module)
            cmod, ccomp = modules[inst.module], compiled[inst.module]
            if not ccomp.gated_clocks:
                continue
            where = port_bit_of(cmod, ccomp)
            for out_net, ens in ccomp.gated_clocks.items():
                if out_net not in where or not all(e in where for e in ens):
                    continue  # gating internal to the child: its flops are handled there
                o_port, o_bit = where[out_net]
                if cmod.ports[o_port][0] != "output" or len(inst.ports.get(o_port, [])) <= o_bit:
                    continue
                parent_ens = []
                for e in ens:
                    e_port, e_bit = where[e]
                    bits = inst.ports.get(e_port, [])
                    if len(bits) > e_bit:
                        parent_ens.append(comp.net_index[bits[e_bit]])
                comp.gated_clocks[comp.net_index[inst.ports[o_port][o_bit]]] = tuple(parent_ens)

    for name in list(compiled):
        visit(name)


_FN_CACHE: dict[str, tuple] = {}


def _fn(expr: str):
    if expr not in _FN_CACHE:
        _FN_CACHE[expr] = compile_function(expr)
    return _FN_CACHE[expr]


def _simulate(comp: _Compiled, lib: LibraryModel, V: np.ndarray, segment: int,
              seeds: list[np.ndarray] | None = None, max_iter: int = 50) -> int:
    """Fill ``V`` (nets × samples; sources already set) in place; returns fixpoint iterations used.

    Samples are ``n_instances × segment`` cycles; a flop's output in cycle t is its next-state in
    cycle t−1 of the same instance; in cycle 0 it is the seed.
    ``seeds`` are the starting flop states (the RTL's register values where the names match):
    registers that only hold during the window (the configuration) keep them."""
    S = V.shape[1]
    states = seeds if seeds is not None else [np.zeros((len(next(iter(outs.values()))), S), dtype=bool)
                                              for ctype, ins, outs in comp.flops]
    # flops on a gated clock, per flop group (fixed for the module; the enables change per pass)
    gated_masks = [np.isin(ck, list(comp.gated_clocks)) for ck in comp.flop_clock_nets]
    for it in range(1, max_iter + 1):
        for (ctype, ins, outs), st in zip(comp.flops, states):
            ff = lib.cells[ctype].flop
            vals = {ff.iq: st, ff.iqn: ~st}
            for p, nets in outs.items():
                fn = lib.cells[ctype].pins[p].function
                if fn is None:
                    continue
                f, _ = _fn(fn)
                ok = nets >= 0
                V[nets[ok]] = evaluate(f, vals, st.shape)[ok]
        for ctype, ins, outs in comp.groups:
            model = lib.cells[ctype]
            vals = {p: V[nets] for p, nets in ins.items()}
            shape = (len(next(iter(outs.values()))), S)
            for p, nets in outs.items():
                fn = model.pins[p].function
                if fn is None:
                    continue
                f, _ = _fn(fn)
                ok = nets >= 0
                V[nets[ok]] = evaluate(f, vals, shape)[ok]
        changed = False
        enables = comp.gate_enables(V) if comp.gated_clocks else {}
        for k, ((ctype, ins, outs), st) in enumerate(zip(comp.flops, states)):
            ff = lib.cells[ctype].flop
            vals = {p: V[nets] for p, nets in ins.items()}
            f, _ = _fn(ff.next_state)
            d = evaluate(f, vals, st.shape)
            nxt = np.empty_like(st)
            d3 = d.reshape(d.shape[0], -1, segment)
            n3 = nxt.reshape(d.shape[0], -1, segment)
            seed0 = st.reshape(d.shape[0], -1, segment)[:, :, 0]
            gated = gated_masks[k]
            n3[:, :, 1:] = d3[:, :, :-1]
            n3[:, :, 0] = seed0  # cycle 0: the seed (RTL) state
            if gated.any():
                ck = comp.flop_clock_nets[k][gated]
                en = np.stack([enables[int(c)] for c in ck]).reshape(len(ck), -1, segment)
                n3[gated] = _gated_next(d3[gated], en, seed0[gated])
            if ff.clear:
                fc, _ = _fn(ff.clear)
                nxt &= ~evaluate(fc, vals, st.shape)
            if ff.preset:
                fp, _ = _fn(ff.preset)
                nxt |= evaluate(fp, vals, st.shape)
            if not np.array_equal(nxt, st):
                states[k] = nxt
                changed = True
        if not changed:
            return it
    raise ToolError(f"gate power: module {comp.module.name}: flip-flop states did not settle in {max_iter} passes")


def _gated_next(d3: np.ndarray, en3: np.ndarray, seed0: np.ndarray) -> np.ndarray:
    """Flop outputs (flops × instances × cycles) on gated clocks: in cycle t the D of the last
    cycle t' < t whose edge was open, else the seed."""
    T = d3.shape[2]
    last = np.maximum.accumulate(np.where(en3, np.arange(T), -1), axis=2)
    prev = np.full_like(last, -1)
    prev[:, :, 1:] = last[:, :, :-1]
    held = np.take_along_axis(d3, np.maximum(prev, 0), axis=2)
    return np.where(prev >= 0, held, seed0[:, :, None])


def clock_transitions(comp: _Compiled, V: np.ndarray, clock_idx: list[int], k: int, T: int) -> dict[int, np.ndarray]:
    """Rises (= falls) per instance (k,) of every clock net of ``comp`` over the window: the ideal
    clock ``clock_idx`` once per cycle, a gated clock once per open edge."""
    out = {i: np.full(k, T - 1) for i in clock_idx}
    for net, e in comp.gate_enables(V).items():
        out[net] = np.count_nonzero(e.reshape(k, T)[:, :-1], axis=1)
    return out


def _port_reader(samples: dict, vcd: Path):
    def rtl_port(path: str, port: str) -> np.ndarray:
        rec = samples.get(path, {}).get(port)
        if rec is None:
            raise ToolError(f"gate power: no RTL samples for port {port} of {path} in {vcd}; the activity "
                            "dump must hold every signal of the design ($dumpvars(0, dut))")
        return rec[1]
    return rtl_port


def simulate_instances(modules: dict[str, Module], comp: _Compiled, library: LibraryModel, samples: dict,
                       paths: list[str], T: int, V: np.ndarray, vcd: Path) -> int:
    """Zero-delay simulation of the instances ``paths`` of one module into ``V`` (nets × len(paths)·T,
    constants set): sources are the instances' sampled input ports and child-instance outputs, flops
    start from the RTL registers they are named after. Returns the number of seeded flops."""
    mod = comp.module
    rtl_port = _port_reader(samples, vcd)
    # sources: module inputs (from the instance's own samples), child instance outputs
    for j, path in enumerate(paths):
        sl = slice(j * T, (j + 1) * T)
        for port, (direction, bits) in mod.ports.items():
            if direction != "input":
                continue
            arr = rtl_port(path, port)
            for b, key in enumerate(bits):
                V[comp.net_index[key], sl] = arr[b]
        for inst in mod.instances:
            cpath = f"{path}.{inst.name}"
            cmod = modules[inst.module]
            for port, bits in inst.ports.items():
                if cmod.ports.get(port, ("",))[0] != "output":
                    continue
                arr = rtl_port(cpath, port)
                for b, key in enumerate(bits):
                    if key not in (CONST0, CONST1):
                        V[comp.net_index[key], sl] = arr[b]
    seeds = []
    n_seeded = 0
    S = len(paths) * T
    for keys in comp.flop_q_keys:
        st = np.zeros((len(keys), S), dtype=bool)
        for j, path in enumerate(paths):
            for r, key in enumerate(keys):
                if not key:
                    continue
                sub, var, bit = rtl_name(key)
                rec = samples.get(f"{path}.{sub}" if sub else path, {}).get(var)
                if rec is not None and 0 <= bit - rec[0] < rec[1].shape[0]:
                    st[r, j * T:(j + 1) * T] = rec[1][bit - rec[0]]
                    n_seeded += 1
        seeds.append(st)
    _simulate(comp, library, V, T, seeds)
    return n_seeded


def rtl_name(key: str) -> tuple[str, str, int]:
    """``(sub-scope, variable, bit)`` of the RTL register a synthesised net is named after, e.g.
    ``\\g_byte[12].q_c[6]`` → ``("g_byte[12]", "q_c", 6)``, ``q[3]`` → ``("", "q", 3)``."""
    k = key[1:] if key.startswith("\\") else key
    parts = re.split(r"\.(?![^\[]*\])", k)
    last = parts[-1]
    m = re.fullmatch(r"(.*)\[(\d+)\]", last)
    var, bit = (m.group(1), int(m.group(2))) if m else (last, 0)
    return ".".join(parts[:-1]), var, bit


# ----------------------------------------------------------------------------- power
@dataclass
class GatePowerResult:
    internal_w: float
    switching_w: float
    leakage_w: float
    clock_w: float                  # internal power at clock pins + clock-net switching (inside the totals)
    mean_toggle_rate: float         # transitions per cycle, mean over nets
    n_cycles: int
    mismatched_bits: int
    checked_bits: int
    mismatch_detail: dict[str, int]
    seeded_flops: int               # flops whose starting state came from the RTL (matched by name)
    n_flops: int
    per_module_w: dict[str, float]
    slew_ns: float
    n_cells: int
    # per instance path: {net name: (transitions, cycles high)} over the window; only when asked
    # (record_activity=True), for the SAIF file (econt.asic.saif)
    net_activity: dict[str, dict[str, tuple[int, int]]] | None = None
    # per module (all its instances): clock_w (clock pins + clock nets), logic_w (the rest of the
    # dynamic power) and leakage_w; they sum to per_module_w
    per_module_split_w: dict[str, dict[str, float]] = field(default_factory=dict)

    def split_w(self, is_config_module) -> dict[str, float]:
        """Power by kind: clock (gating cells' and flops' clock pins, clock nets), configuration
        storage (``is_config_module(name)``: registers, voters, clock gates; their non-clock dynamic
        power), datapath (the other modules' non-clock dynamic power) and leakage."""
        out = {"clock_w": 0.0, "config_storage_w": 0.0, "datapath_w": 0.0, "leakage_w": 0.0}
        for name, sp in self.per_module_split_w.items():
            out["clock_w"] += sp["clock_w"]
            out["config_storage_w" if is_config_module(name) else "datapath_w"] += sp["logic_w"]
            out["leakage_w"] += sp["leakage_w"]
        return out

    @property
    def dynamic_w(self) -> float:
        return self.internal_w + self.switching_w

    @property
    def total_w(self) -> float:
        return self.dynamic_w + self.leakage_w


def _instances(modules: dict[str, Module], top: str, path: str, out: list[tuple[str, str, str]]):
    """(instance path, module, parent path) for the whole hierarchy, depth first."""
    for inst in modules[top].instances:
        p = f"{path}.{inst.name}"
        out.append((p, inst.module, path))
        _instances(modules, inst.module, p, out)


@dataclass
class GateNetlist:
    """A parsed, levelised netlist, reusable for several activity dumps."""

    path: Path
    top: str
    modules: dict[str, Module]
    compiled: dict[str, _Compiled]


def load_gate_netlist(netlist: Path, library: LibraryModel, top: str) -> GateNetlist:
    """Read (econt.asic.netlist: the yosys JSON netlist, or the one beside a synthesised ``.vg``),
    check every cell against ``library`` and levelise each module under ``top``."""
    netlist = json_netlist_of(netlist)
    modules = gate_modules(read_netlist(netlist))
    if top not in modules:
        raise ToolError(f"gate power: top module {top} not in {netlist}")
    classify(modules, library)
    used: set[str] = {top}
    stack = [top]
    while stack:
        for inst in modules[stack.pop()].instances:
            if inst.module not in used:
                used.add(inst.module)
                stack.append(inst.module)
    compiled = {m: _compile_module(modules[m], library) for m in used}
    link_gated_clocks(modules, compiled)
    return GateNetlist(Path(netlist), top, modules, compiled)


def rtl_samples(gn: "GateNetlist", vcd: Path, dut_scope: str,
                clock_period_ns: float) -> tuple[list[tuple[str, str, str]], dict, int]:
    """Every instance ``(path, module, parent path)`` under ``dut_scope`` and the RTL samples the
    gate-level simulation needs (all ports, and the registers flops are named after) per cycle."""
    modules, compiled = gn.modules, gn.compiled
    insts: list[tuple[str, str, str]] = [(dut_scope, gn.top, "")]
    _instances(modules, gn.top, dut_scope, insts)
    want: dict[str, set[str] | None] = {p: set(modules[m].ports) for p, m, _ in insts}
    for path, m, _ in insts:
        for keys in compiled[m].flop_q_keys:
            for key in keys:
                if key:
                    sub, var, _ = rtl_name(key)
                    want.setdefault(f"{path}.{sub}" if sub else path, set()).add(var)
    samples, T = sample_vcd(vcd, want, clock_period_ns)
    return insts, samples, T


def instances_by_module(insts: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Instance paths grouped by module name (``insts`` as from :func:`rtl_samples`), in order."""
    by_module: dict[str, list[str]] = defaultdict(list)
    for path, mod_name, _ in insts:
        by_module[mod_name].append(path)
    return by_module


def clock_net_keys(modules: dict[str, Module], insts: list[tuple[str, str, str]],
                   clock_port: str) -> dict[str, set[str]]:
    """Instance path → the clock net keys of its module: the top clock port, then every child
    port connected to a clock net (``insts`` as from :func:`rtl_samples`, top first)."""
    dut_scope, top, _ = insts[0]
    clock_keys: dict[str, set[str]] = defaultdict(set)
    clock_keys[dut_scope] = {b for b in modules[top].ports.get(clock_port, ("", []))[1]}
    module_of = {p: m for p, m, _ in insts}
    for path, mod_name, parent in insts[1:]:
        pmod = modules[module_of[parent]]
        inst = next(i for i in pmod.instances if f"{parent}.{i.name}" == path)
        for port, bits in inst.ports.items():
            if any(b in clock_keys[parent] for b in bits) and port in modules[mod_name].ports:
                clock_keys[path] |= set(modules[mod_name].ports[port][1])
    return clock_keys


def gate_level_power(netlist: Path | GateNetlist, library: LibraryModel, top: str, vcd: Path, dut_scope: str,
                     clock_port: str, clock_period_ns: float, slew_ns: float,
                     record_activity: bool = False) -> GatePowerResult:
    """Gate-level power of ``netlist`` on the RTL activity dump ``vcd`` (see the module docstring)."""
    gn = netlist if isinstance(netlist, GateNetlist) else load_gate_netlist(netlist, library, top)
    modules, compiled = gn.modules, gn.compiled
    insts, samples, T = rtl_samples(gn, vcd, dut_scope, clock_period_ns)
    clock_keys = clock_net_keys(modules, insts, clock_port)
    by_module = instances_by_module(insts)
    volt = library.voltage
    window_s = (T - 1) * clock_period_ns * 1e-9
    tot_int = tot_sw = tot_leak = tot_clk = 0.0
    per_module: dict[str, float] = {}
    per_module_split: dict[str, dict[str, float]] = {}
    mismatched = checked = 0
    mismatch_detail: dict[str, int] = {}
    seeded_flops = total_flops = 0
    toggle_sum = 0.0
    net_count = 0
    n_cells = 0
    activity: dict[str, dict[str, tuple[int, int]]] | None = {} if record_activity else None
    for mod_name, paths in by_module.items():
        mod = modules[mod_name]
        clock_set = set().union(*(clock_keys[p] for p in paths))
        comp = compiled[mod_name]
        n_nets = max(comp.net_index.values()) + 1
        k = len(paths)
        S = k * T
        V = np.zeros((n_nets, S), dtype=bool)
        V[comp.net_index[CONST1]] = True

        n_seeded = simulate_instances(modules, comp, library, samples, paths, T, V, vcd)
        seeded_flops += n_seeded
        total_flops += sum(len(k) for k in comp.flop_q_keys) * len(paths)
        rtl_port = _port_reader(samples, vcd)
        # the gate-level outputs must equal the RTL's
        for j, path in enumerate(paths):
            sl = slice(j * T, (j + 1) * T)
            for port, (direction, bits) in mod.ports.items():
                if direction != "output":
                    continue
                arr = rtl_port(path, port)
                got = V[[comp.net_index[b] for b in bits], sl]
                bad = int(np.count_nonzero(got[:, 1:] != arr[:, 1:]))
                mismatched += bad
                if bad:
                    mismatch_detail[f"{path}.{port}"] = bad
                checked += got[:, 1:].size
        # transitions per net, per instance segment (the seam between instances is not a transition)
        V3 = V.reshape(n_nets, k, T)
        rises = np.count_nonzero(V3[:, :, 1:] & ~V3[:, :, :-1], axis=(1, 2)).astype(float)
        falls = np.count_nonzero(~V3[:, :, 1:] & V3[:, :, :-1], axis=(1, 2)).astype(float)
        clock_tr = clock_transitions(comp, V, sorted({comp.net_index[c] for c in clock_set if c in comp.net_index}), k, T)
        clock_idx = sorted(clock_tr)
        for i, per_inst in clock_tr.items():
            rises[i] = falls[i] = float(per_inst.sum())
        toggle_sum += float((rises + falls).sum()) / (T - 1)
        if activity is not None:
            _record_activity(activity, comp, paths, V3, clock_tr)
        net_count += n_nets * k
        # loads: sum of leaf sink pin capacitances per net (fF)
        load = np.zeros(n_nets)
        for c, nets in comp.cell_nets:
            model = library.cells[c.type]
            for p in model.inputs:
                if p in nets:
                    load[nets[p]] += model.pins[p].capacitance_ff
        e_int = e_clk = 0.0
        leak = 0.0
        clock_mask = np.zeros(n_nets, dtype=bool)
        clock_mask[clock_idx] = True
        by_pin: dict[tuple[str, str], list[int]] = defaultdict(list)
        for c, nets in comp.cell_nets:
            model: CellModel = library.cells[c.type]
            leak += model.leakage_nw
            for p, pm in model.pins.items():
                if p in nets and pm.power:
                    by_pin[(c.type, p)].append(nets[p])
        for (ctype, p), nlist in by_pin.items():
            pm = library.cells[ctype].pins[p]
            nets_arr = np.array(nlist)
            loads = load[nets_arr] if pm.direction != "input" else np.zeros(len(nets_arr))
            rise_tabs = [a.rise for a in pm.power if a.rise is not None]
            fall_tabs = [a.fall for a in pm.power if a.fall is not None]
            er = np.mean([t.energy(slew_ns, loads) for t in rise_tabs], axis=0) if rise_tabs else 0.0
            ef = np.mean([t.energy(slew_ns, loads) for t in fall_tabs], axis=0) if fall_tabs else 0.0
            e = rises[nets_arr] * er + falls[nets_arr] * ef
            e_int += float(np.sum(e))
            e_clk += float(np.sum(e[clock_mask[nets_arr]]))
        e_sw = 0.5 * (volt ** 2) * 1e-15 * float(np.dot(load, rises + falls))
        e_sw_clk = 0.5 * (volt ** 2) * 1e-15 * float(np.dot(load[clock_idx], (rises + falls)[clock_idx]))
        p_int = e_int * 1e-15 / window_s  # fJ → J
        p_sw = e_sw / window_s
        p_leak = leak * 1e-9 * k  # nW → W
        p_clk = e_clk * 1e-15 / window_s + e_sw_clk / window_s
        tot_int += p_int
        tot_sw += p_sw
        tot_leak += p_leak
        tot_clk += p_clk
        per_module[mod_name] = p_int + p_sw + p_leak
        per_module_split[mod_name] = {"clock_w": p_clk, "logic_w": p_int + p_sw - p_clk, "leakage_w": p_leak}
        n_cells += len(mod.cells) * k
    return GatePowerResult(internal_w=tot_int, switching_w=tot_sw, leakage_w=tot_leak, clock_w=tot_clk,
                           mean_toggle_rate=toggle_sum / max(net_count, 1), n_cycles=T,
                           mismatched_bits=mismatched, checked_bits=checked, mismatch_detail=mismatch_detail,
                           seeded_flops=seeded_flops, n_flops=total_flops, per_module_w=per_module,
                           slew_ns=slew_ns, n_cells=n_cells, net_activity=activity,
                           per_module_split_w=per_module_split)


def _record_activity(activity: dict, comp: _Compiled, paths: list[str], V3: np.ndarray,
                     clock_tr: dict[int, np.ndarray]) -> None:
    """Per-instance transitions and high cycles of every named net (one name per electrical net;
    clock nets: two transitions and half a period high per clocked edge, as in the power sum)."""
    tc = np.count_nonzero(V3[:, :, 1:] != V3[:, :, :-1], axis=2)
    high = np.count_nonzero(V3[:, :, 1:], axis=2)
    for i, edges in clock_tr.items():
        tc[i] = 2 * edges
        high[i] = edges // 2
    names: dict[int, str] = {}
    for key, idx in sorted(comp.net_index.items()):
        if key not in (CONST0, CONST1) and (idx not in names or len(key) < len(names[idx])):
            names[idx] = key
    for j, path in enumerate(paths):
        activity[path] = {name: (int(tc[idx, j]), int(high[idx, j])) for idx, name in names.items()}


def nominal_slew_ns(timing_report: Path, default: float) -> float:
    """Median output slew of the cells on the reported worst paths (OpenSTA ``report_checks -fields
    slew``): the nominal input transition the power tables are read at."""
    slews = []
    if Path(timing_report).is_file():
        for line in Path(timing_report).read_text().splitlines():
            m = re.match(r"\s*[0-9.]+\s+([0-9.]+)\s+[0-9.-]+\s+[0-9.-]+\s+[\^v]\s+\S+/\S+\s+\(", line)
            if m:
                slews.append(float(m.group(1)))
    return float(np.median(slews)) if slews else default
