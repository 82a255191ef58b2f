"""Glitch power: timed gate-level simulation of each distinct synthesised module (kit-owned).

The zero-delay simulator (econt.asic.gatepower) counts one transition per net and cycle at most;
real gates with unequal path delays switch several times before settling (glitches), which adds
to the dynamic power of adder and multiplier trees. Here every sampled instance of a module is
simulated again with per-pin delays from the liberty timing arcs, driven exactly as the
zero-delay simulator is driven (:func:`econt.asic.gatepower.simulate_instances`: the instance's
recorded input ports, child-instance outputs, flip-flop states from the RTL), and the transitions
of every net are counted with and without delays.

Timing model (stated with every figure):

* Delay of an arc ``input → output`` = mean of the liberty ``cell_rise`` / ``cell_fall`` tables at
  the nominal slew and the net's load (sum of sink pin capacitances, no wire load), the largest of
  the arc's ``when`` variants, quantised to ``tick_ns`` (default 20 ps). Inertial delays (default):
  a cell's output rejects pulses shorter than its smallest arc delay, as Verilog gate delays do;
  ``inertial_delays=False`` gives transport delays (every pulse propagates: an upper bound).
* Flip-flop outputs switch at the clock-to-Q delay; module input ports and child-instance
  outputs switch at the start of the cycle (the upstream logic's own glitches and arrival times
  are not carried across module boundaries); ideal clock.
* A waveform is a bit vector over ticks packed in 64-bit words: bit 0 holds the previous cycle's
  settled value, every source switches from tick 1 on, a cell's output is its liberty function of
  its inputs each shifted by that arc's delay. The last tick must equal the zero-delay value of
  the cycle (checked: ``unsettled_bits`` is 0, or the run stops).

Energy per transition is the kit's liberty calculation (internal energy of the driving output
pin at the net's load plus that of the sink input pins, ½·C·V² of the load); glitch share =
(energy with delays − zero-delay energy) / energy with delays, clock energy included.

Where a module has more instances than ``max_instances``, a random sample of them is simulated
with delays, and the module's glitch energy is a ratio estimate: the zero-delay energy of *every*
instance (each one simulated without delays, which is cheap) times the sample's glitch energy per
unit of zero-delay energy. Instances of one module differ mostly in how active they are (a dense
slice with zero weights hardly switches), which the zero-delay energy captures, so this has a far
smaller error than scaling the sample by N/n. The sampling error is that of the ratio estimator
(finite-population corrected). The sample of a module is drawn from a generator seeded by the run's
seed and the module's name, so two designs that share a module (the datapath of ``refresh`` and
``gated`` storage) simulate the same instances: their difference is not sampling noise.
"""
from __future__ import annotations

import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from econt.asic.gatepower import (CONST0, CONST1, GateNetlist, _Compiled, _fn, clock_net_keys, clock_transitions,
                                  instances_by_module, rtl_samples, simulate_instances)
from econt.asic.liberty import LibraryModel
from econt.errors import ToolError

WORD_BITS = 64
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


# ----------------------------------------------------------------------------- results
@dataclass
class ModuleGlitch:
    """Glitch figures of one distinct module (energies over the window, all instances, fJ)."""

    module: str
    n_instances: int
    n_sampled: int
    n_cells: int                     # per instance
    tick_ns: float
    words: int                       # 64-tick words per waveform (settling horizon = 64·words ticks)
    zero_delay_energy_fj: float      # dynamic, all instances (each one simulated)
    timed_energy_fj: float           # all instances: the ratio estimate where sampled
    transitions_zero_delay: int      # sampled instances
    transitions_timed: int
    glitch_share: float              # (timed − zero) / timed
    glitch_share_stderr: float | None   # sampling error of glitch_share (None: one instance sampled of many)
    instance_shares: list[float] = field(default_factory=list)

    @property
    def glitch_energy_fj(self) -> float:
        return self.timed_energy_fj - self.zero_delay_energy_fj


@dataclass
class GlitchResult:
    """Glitch figures of a whole netlist on one activity dump."""

    modules: dict[str, ModuleGlitch]
    n_cycles: int
    window_s: float
    zero_delay_dynamic_w: float      # the timed simulator's own zero-delay dynamic power (all instances)
    glitch_w: float                  # extra dynamic power from glitches (all instances)
    glitch_share: float              # glitch_w / (zero_delay_dynamic_w + glitch_w)
    glitch_share_stderr: float       # sampling error of glitch_share
    unsettled_bits: int
    tick_ns: float
    slew_ns: float
    max_instances: int
    inertial_delays: bool
    wall_s: float

    def as_dict(self) -> dict:
        return {
            "glitch_share": self.glitch_share,
            "glitch_share_stderr": self.glitch_share_stderr,
            "glitch_mw": self.glitch_w * 1e3,
            "zero_delay_dynamic_mw": self.zero_delay_dynamic_w * 1e3,
            "n_cycles": self.n_cycles,
            "tick_ns": self.tick_ns,
            "slew_ns": self.slew_ns,
            "max_instances_per_module": self.max_instances,
            "delays": "inertial" if self.inertial_delays else "transport",
            "wall_s": round(self.wall_s, 1),
            "per_module": {m: {"instances": g.n_instances, "sampled": g.n_sampled, "cells": g.n_cells,
                               "glitch_share": g.glitch_share, "glitch_share_stderr": g.glitch_share_stderr,
                               "transitions_zero_delay": g.transitions_zero_delay,
                               "transitions_timed": g.transitions_timed, "words": g.words}
                           for m, g in self.modules.items()},
            "model": "timed gate-level simulation of each distinct module (econt.asic.glitch): liberty "
                     "cell_rise/cell_fall delays at the nominal slew and pin-capacitance load, "
                     f"{'inertial' if self.inertial_delays else 'transport'} delays, sources switch at cycle start (flops at clock-to-Q); ideal clock, no wire load",
        }


# ----------------------------------------------------------------------------- waveforms
def shift_waveforms(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Delay packed waveforms ``x`` (cells × samples × words, uint64; bit t = value in tick t) by
    ``d`` ticks per cell; the freed first ticks hold each waveform's tick-0 value."""
    n_words = x.shape[-1]
    fill = np.where((x[..., 0] & np.uint64(1)).astype(bool), _ONES, np.uint64(0))   # cells × samples
    d = np.asarray(d, dtype=np.int64).reshape(-1)
    q = d // WORD_BITS
    r = (d % WORD_BITS).astype(np.uint64)[:, None, None]
    if n_words == 1:
        y = x
        yp = fill[..., None]
    else:
        src = np.arange(n_words)[None, :] - q[:, None]                  # cells × words
        y = np.take_along_axis(x, np.clip(src, 0, None)[:, None, :], axis=2)
        y = np.where((src >= 0)[:, None, :], y, fill[..., None])
        yp = np.concatenate([fill[..., None], y[..., :-1]], axis=2)
    # (yp >> (63 − r)) >> 1: no shift by 64 (undefined for uint64) when r = 0
    return (y << r) | ((yp >> (np.uint64(WORD_BITS - 1) - r)) >> np.uint64(1))


def advance_waveforms(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Move packed waveforms ``d`` ticks earlier per cell; the freed last ticks hold each waveform's
    last value (the inverse of :func:`shift_waveforms` where no information is lost)."""
    n_words = x.shape[-1]
    top = np.uint64(WORD_BITS - 1)
    fill = np.where(((x[..., -1] >> top) & np.uint64(1)).astype(bool), _ONES, np.uint64(0))
    d = np.asarray(d, dtype=np.int64).reshape(-1)
    q = d // WORD_BITS
    r = (d % WORD_BITS).astype(np.uint64)[:, None, None]
    src = np.arange(n_words)[None, :] + q[:, None]
    y = np.take_along_axis(x, np.clip(src, None, n_words - 1)[:, None, :], axis=2)
    y = np.where((src < n_words)[:, None, :], y, fill[..., None])
    yn = np.concatenate([y[..., 1:], fill[..., None]], axis=2)
    return (y >> r) | ((yn << (top - r)) << np.uint64(1))


def _shift_uniform(x: np.ndarray, d: int) -> np.ndarray:
    """:func:`shift_waveforms` by the same ``d`` ticks for every waveform (slices, no gather)."""
    if d == 0:
        return x
    fill = np.where((x[..., :1] & np.uint64(1)).astype(bool), _ONES, np.uint64(0))
    q, r = divmod(int(d), WORD_BITS)
    n_words = x.shape[-1]
    if q >= n_words:
        return np.broadcast_to(fill, x.shape).copy()
    y = np.concatenate([np.broadcast_to(fill, x.shape[:-1] + (q,)), x[..., :n_words - q]], axis=-1) if q else x
    if r == 0:
        return y
    yp = np.concatenate([fill, y[..., :-1]], axis=-1)
    return (y << np.uint64(r)) | (yp >> np.uint64(WORD_BITS - r))


def _window(x: np.ndarray, width: np.ndarray, op) -> np.ndarray:
    """``op`` (AND: erosion, OR: dilation) of each waveform over its last ``width`` ticks (per cell, ≥ 1):
    doubling windows, then one per-cell shift to the exact width."""
    levels = [x]
    span = 1
    while 2 * span <= int(width.max()):
        levels.append(op(levels[-1], _shift_uniform(levels[-1], span)))
        span *= 2
    k = np.floor(np.log2(np.maximum(width, 1))).astype(np.int64)
    base = np.stack(levels)[k, np.arange(len(width))] if len(levels) > 1 else x
    return op(base, shift_waveforms(base, width - (1 << k)))


def inertial(z: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Reject pulses (high or low) shorter than ``width`` ticks per cell, as a gate with an inertial
    delay does (opening, then closing; the past windows' delay of 2·(width − 1) is taken back)."""
    if int(width.max()) <= 1:
        return z
    opened = _window(_window(z, width, np.bitwise_and), width, np.bitwise_or)
    closed = _window(_window(opened, width, np.bitwise_or), width, np.bitwise_and)
    return advance_waveforms(closed, 2 * (np.maximum(width, 1) - 1))


def _count(x: np.ndarray, n_inst: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Rises and falls per net and instance of packed waveforms ``x`` (nets × n_inst·T × words)."""
    prev = shift_waveforms(x, np.ones(x.shape[0], dtype=np.int64))
    rises = np.bitwise_count(x & ~prev).sum(axis=2, dtype=np.int64)
    falls = np.bitwise_count(~x & prev).sum(axis=2, dtype=np.int64)
    return rises.reshape(-1, n_inst, T).sum(axis=2), falls.reshape(-1, n_inst, T).sum(axis=2)


# ----------------------------------------------------------------------------- per-module timing
@dataclass
class _Timing:
    """Per-cell arc delays in ticks for one compiled module."""

    groups: list[dict[str, dict[str, np.ndarray]]]   # per comb group: out pin → in pin → ticks (cells,)
    flops: list[dict[str, np.ndarray]]               # per flop group: out pin → clock-to-Q ticks (cells,)
    horizon: int                                     # latest settling tick + 1 + the inertial margin


def net_loads(comp: _Compiled, library: LibraryModel) -> np.ndarray:
    """Load of every net in fF: the sum of its leaf sink pin capacitances (no wire load)."""
    load = np.zeros(max(comp.net_index.values()) + 1)
    for c, nets in comp.cell_nets:
        model = library.cells[c.type]
        for p in model.inputs:
            if p in nets:
                load[nets[p]] += model.pins[p].capacitance_ff
    return load


def _arc_ticks(library: LibraryModel, ctype: str, out_pin: str, in_pins: list[str], loads: np.ndarray,
               slew_ns: float, tick_ns: float) -> dict[str, np.ndarray]:
    if not in_pins:     # tie cells
        return {}
    pm = library.cells[ctype].pins[out_pin]
    by_pin: dict[str, np.ndarray] = {}
    for arc in pm.delays:
        d = arc.delay_ns(slew_ns, loads)
        by_pin[arc.related_pin] = np.maximum(by_pin[arc.related_pin], d) if arc.related_pin in by_pin else d
    if not by_pin:
        raise ToolError(f"glitch power: cell {ctype} pin {out_pin} has no timing arcs in {library.path}; "
                        "the timed simulation needs cell_rise/cell_fall tables")
    worst = np.max(list(by_pin.values()), axis=0)
    return {p: np.rint(by_pin.get(p, worst) / tick_ns).astype(np.int64) for p in in_pins}


def module_timing(comp: _Compiled, library: LibraryModel, slew_ns: float, tick_ns: float) -> _Timing:
    """Arc delays (ticks) of every cell of ``comp`` and the module's settling horizon."""
    load = net_loads(comp, library)
    arrival = np.ones(len(load), dtype=np.int64)       # sources switch at tick 1
    arrival[[comp.net_index[CONST0], comp.net_index[CONST1]]] = 0
    flops = []
    for ctype, ins, outs in comp.flops:
        model = library.cells[ctype]
        clk = [p for p in model.inputs if model.pins[p].is_clock]
        per_out = {}
        for p, nets in outs.items():
            ticks = _arc_ticks(library, ctype, p, clk, load[np.maximum(nets, 0)], slew_ns, tick_ns)
            per_out[p] = 1 + (ticks[clk[0]] if clk else np.zeros(len(nets), dtype=np.int64))
            ok = nets >= 0
            arrival[nets[ok]] = per_out[p][ok]
        flops.append(per_out)
    groups = []
    for ctype, ins, outs in comp.groups:
        per_out = {}
        for p, nets in outs.items():
            if library.cells[ctype].pins[p].function is None:
                continue
            ticks = _arc_ticks(library, ctype, p, list(ins), load[np.maximum(nets, 0)], slew_ns, tick_ns)
            per_out[p] = ticks
            ok = nets >= 0
            arr = np.max([arrival[ins[q]] + ticks[q] for q in ins], axis=0) if ins else np.zeros(len(nets), int)
            arrival[nets[ok]] = arr[ok]
        groups.append(per_out)
    # the inertial filter settles a cell's output 2·(width − 1) ticks after its input (its windows
    # look back), so the horizon keeps that margin after the latest arrival: else a late final
    # transition is cut off (seen on GF180, whose arcs reach 64 ticks)
    widths = [np.min(list(per_out[p].values()), axis=0) for per_out in groups for p in per_out if per_out[p]]
    margin = 2 * max((int(np.max(w)) for w in widths if np.size(w)), default=0)
    return _Timing(groups, flops, int(arrival.max()) + 1 + margin)


def _timed_waveforms(comp: _Compiled, library: LibraryModel, timing: _Timing, V: np.ndarray,
                     T: int, words: int, inertial_delays: bool = True) -> np.ndarray:
    """Packed waveforms (nets × samples × words) of every net in every cycle of ``V``'s instances."""
    n_nets, S = V.shape
    old = np.empty_like(V)
    old[:, 1:] = V[:, :-1]
    old[:, ::T] = V[:, ::T]                 # an instance's first cycle: no previous cycle
    ones = np.full(words, _ONES)
    W = np.where(old[..., None], ones, np.uint64(0))
    # sources: switch from tick 1 (bits 1..) to the cycle's value
    new_w = np.where(V[..., None], ones, np.uint64(0))
    tick0 = np.zeros(words, dtype=np.uint64)
    tick0[0] = np.uint64(1)
    W = (W & tick0) | (new_w & ~tick0)
    for (ctype, ins, outs), delays in zip(comp.flops, timing.flops):
        for p, nets in outs.items():
            ok = nets >= 0
            if not ok.any():
                continue
            # tick 0..d−1 old, d.. new: the new value's waveform delayed with the old value as fill
            step = (W[nets[ok]] & tick0) | (new_w[nets[ok]] & ~tick0)
            W[nets[ok]] = shift_waveforms(step, delays[p][ok] - 1)
    c0 = np.zeros((1, S, words), dtype=np.uint64)
    for (ctype, ins, outs), delays in zip(comp.groups, timing.groups):
        model = library.cells[ctype]
        for p, nets in outs.items():
            if p not in delays:
                continue
            f, _ = _fn(model.pins[p].function)
            vals = {q: shift_waveforms(W[in_nets], delays[p][q]) for q, in_nets in ins.items()}
            out = np.broadcast_to(f(vals, c0, ~c0), (len(nets), S, words))
            if inertial_delays and ins:
                out = inertial(np.ascontiguousarray(out), np.min(list(delays[p].values()), axis=0))
            ok = nets >= 0
            W[nets[ok]] = out[ok]
    return W


def _net_energies(comp: _Compiled, library: LibraryModel, slew_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """Energy per rise and per fall of every net (fJ): liberty internal energy of the pins on it
    (output pins at the net's load) plus ½·C·V² of its load."""
    load = net_loads(comp, library)
    er = 0.5 * library.voltage ** 2 * load
    ef = er.copy()
    for c, nets in comp.cell_nets:
        model = library.cells[c.type]
        for p, pm in model.pins.items():
            if p not in nets or not pm.power:
                continue
            lo = load[nets[p]] if pm.direction != "input" else 0.0
            rise = [a.rise.energy(slew_ns, np.array([lo]))[0] for a in pm.power if a.rise is not None]
            fall = [a.fall.energy(slew_ns, np.array([lo]))[0] for a in pm.power if a.fall is not None]
            er[nets[p]] += float(np.mean(rise)) if rise else 0.0
            ef[nets[p]] += float(np.mean(fall)) if fall else 0.0
    return er, ef


# ----------------------------------------------------------------------------- driver
def sample_instances(paths: list[str], n: int, seed: int, module: str) -> list[str]:
    """``n`` of a module's instance ``paths`` (all of them if ``n >= len(paths)``), drawn by a generator
    seeded by ``seed`` and the module's name only: the same module in another design (or listed in
    another order among other modules) gets the same instances."""
    if n >= len(paths):
        return list(paths)
    rng = np.random.default_rng([seed, zlib.crc32(module.encode())])
    return [paths[i] for i in sorted(rng.choice(len(paths), size=n, replace=False))]


def glitch_power(gn: GateNetlist, library: LibraryModel, vcd: Path, dut_scope: str, clock_port: str,
                 clock_period_ns: float, slew_ns: float, tick_ns: float = 0.02, max_instances: int = 4,
                 seed: int = 1234, memory_mb: float = 400.0, inertial_delays: bool = True) -> GlitchResult:
    """Glitch share of ``gn`` on the RTL activity dump ``vcd`` (see the module docstring)."""
    t0 = time.time()
    modules, compiled = gn.modules, gn.compiled
    insts, samples, T = rtl_samples(gn, vcd, dut_scope, clock_period_ns)
    clock_keys = clock_net_keys(modules, insts, clock_port)
    by_module = instances_by_module(insts)
    window_s = (T - 1) * clock_period_ns * 1e-9
    results: dict[str, ModuleGlitch] = {}
    unsettled = 0
    var_glitch = 0.0
    for mod_name, paths in tqdm(by_module.items(), desc="timed gate-level simulation", unit="module"):
        comp = compiled[mod_name]
        N = len(paths)
        n = min(N, max_instances)
        chosen = sample_instances(paths, n, seed, mod_name)
        timing = module_timing(comp, library, slew_ns, tick_ns)
        words = -(-(timing.horizon + 1) // WORD_BITS)
        er, ef = _net_energies(comp, library, slew_ns)
        n_nets = len(er)
        clock_idx = sorted({comp.net_index[c] for p in paths for c in clock_keys[p] if c in comp.net_index})
        clock_mask = np.zeros(n_nets, dtype=bool)
        clock_mask[clock_idx] = True
        clock_mask[list(comp.gated_clocks)] = True

        def zero_delay_counts(part: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Zero-delay values and rises / falls per net and instance of ``part``."""
            k = len(part)
            V = np.zeros((n_nets, k * T), dtype=bool)
            V[comp.net_index[CONST1]] = True
            simulate_instances(modules, comp, library, samples, part, T, V, vcd)
            V3 = V.reshape(n_nets, k, T)
            rz = np.count_nonzero(V3[:, :, 1:] & ~V3[:, :, :-1], axis=2)
            fz = np.count_nonzero(~V3[:, :, 1:] & V3[:, :, :-1], axis=2)
            return V, rz, fz

        per_chunk = max(1, int(memory_mb * 2**20 // (n_nets * T * words * 8 * 4)))
        e_zero, e_timed = [], []
        tz = tt = 0
        for c0 in range(0, n, per_chunk):
            part = chosen[c0:c0 + per_chunk]
            k = len(part)
            V, rz, fz = zero_delay_counts(part)
            Wf = _timed_waveforms(comp, library, timing, V, T, words, inertial_delays)
            top_bit = np.uint64(1) << np.uint64((words * WORD_BITS - 1) % WORD_BITS)
            settled = (Wf[..., -1] & top_bit).astype(bool)
            bad = settled != V
            bad[clock_mask] = False
            unsettled += int(np.count_nonzero(bad))
            rt, ft = _count(Wf, k, T)
            del Wf
            # ideal clock: one rise and one fall per clocked edge (every cycle, or each open edge of a
            # gated clock), no glitches, in both counts
            for i, edges in clock_transitions(comp, V, clock_idx, k, T).items():
                rz[i], fz[i], rt[i], ft[i] = edges, edges, edges, edges
            e_zero += list(er @ rz + ef @ fz)
            e_timed += list(er @ rt + ef @ ft)
            tz += int(rz[~clock_mask].sum() + fz[~clock_mask].sum())
            tt += int(rt[~clock_mask].sum() + ft[~clock_mask].sum())
        ez, et = np.array(e_zero, dtype=float), np.array(e_timed, dtype=float)
        # zero-delay energy of every instance: the sampled ones from above, the others simulated here
        zero_all = float(ez.sum())
        chosen_set = set(chosen)
        rest = [p for p in paths if p not in chosen_set]
        per_zero_chunk = max(1, int(memory_mb * 2**20 // (n_nets * T * 4)))
        for c0 in range(0, len(rest), per_zero_chunk):
            part = rest[c0:c0 + per_zero_chunk]
            V, rz, fz = zero_delay_counts(part)
            for i, edges in clock_transitions(comp, V, clock_idx, len(part), T).items():
                rz[i], fz[i] = edges, edges
            zero_all += float((er @ rz + ef @ fz).sum())
        d = et - ez
        ratio = float(d.sum() / ez.sum()) if ez.sum() > 0 else 0.0   # glitch energy per zero-delay energy
        glitch_fj = ratio * zero_all
        timed_fj = zero_all + glitch_fj
        share = glitch_fj / timed_fj if timed_fj > 0 else 0.0
        se = None
        if n == N:
            se = 0.0
        elif n > 1:
            # ratio estimator with the zero-delay energy as auxiliary variable (its total is known)
            se_glitch = N * float(np.sqrt((1 - n / N) / n * (d - ratio * ez).var(ddof=1)))
            se = se_glitch / timed_fj if timed_fj > 0 else 0.0
            var_glitch += se_glitch ** 2
        results[mod_name] = ModuleGlitch(
            module=mod_name, n_instances=N, n_sampled=n, n_cells=len(comp.module.cells), tick_ns=tick_ns,
            words=words, zero_delay_energy_fj=zero_all, timed_energy_fj=timed_fj,
            transitions_zero_delay=tz, transitions_timed=tt, glitch_share=share, glitch_share_stderr=se,
            instance_shares=[float((b - a) / b) if b > 0 else 0.0 for a, b in zip(ez, et)])
    if unsettled:
        raise ToolError(f"glitch power: {unsettled} net values did not settle to the zero-delay value by the end of "
                        f"the waveform horizon in {gn.path}; a combinational loop or a wrong timing arc")
    e_zero_all = sum(g.zero_delay_energy_fj for g in results.values())
    e_glitch_all = sum(g.glitch_energy_fj for g in results.values())
    total = e_zero_all + e_glitch_all
    return GlitchResult(modules=results, n_cycles=T, window_s=window_s,
                        zero_delay_dynamic_w=e_zero_all * 1e-15 / window_s, glitch_w=e_glitch_all * 1e-15 / window_s,
                        glitch_share=e_glitch_all / total if total > 0 else 0.0,
                        glitch_share_stderr=float(np.sqrt(var_glitch)) / total if total > 0 else 0.0,
                        unsettled_bits=unsettled, tick_ns=tick_ns, slew_ns=slew_ns, max_instances=max_instances,
                        inertial_delays=inertial_delays,
                        wall_s=time.time() - t0)
