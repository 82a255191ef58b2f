"""Single-event-upset fault injection on a generated design.

Upsets are bit flips deposited from cocotb (``econt.verify.cocotb_econt``) one nanosecond
after a falling clock edge (the middle of no path: every register and latch input has
settled), so they act at the next rising edge. Targets (``TARGETS``):

* ``config``: a random bit of a random copy of a random configuration byte
  (``u_cfg.g_byte[k].q`` without TMR, ``u_cfg.g_byte[k].q_a|b|c`` with it). Without TMR the upset stays
  until the system reloads the weights; the campaign models that reload by flipping the
  bit back ``hold_cycles`` later. With TMR the voter masks it and the refresh (or, in gated
  storage, the disagreement opening the group's gates) repairs it at the next edge, so nothing
  is restored by the bench.
* ``pipeline``: a random bit of a random datapath pipeline register copy
  (``u_pipe_<stage>.r`` or ``.r_a|b|c`` with ``tmr=full``); the next edge overwrites it.
* ``gate_latch`` (``cfg_storage: gated`` only): the enable latch of a random clock gate, random
  copy (``u_cfg.g_group[j].u_cg_a|b|c.en_latch``, ``u_cg`` without TMR). The deposit persists
  until the latch re-evaluates (a change of its enable while the clock is low, or the next
  falling edge), so the rising edge after it sees the flipped gate: a closed gate opens (a
  spurious load of the copy's next value) or an open one closes (a dropped write or repair).
  This is conservative against silicon: the latch is transparent while the clock is low, so a
  real upset in that phase is overwritten by the enable at once, and only an upset while the
  clock is high (latch opaque) reaches the gated clock, where it can at most add or remove the
  one pulse of that cycle, which the model also covers.
* ``double_group`` (gated only, two groups or more): two upsets in the same cycle, in copies of
  bytes of two different clock-gate groups (random bit, random copy each), i.e. two upsets before
  either is repaired; without TMR both are restored ``hold_cycles`` later.
* ``write`` (gated only): upsets during the I2C reconfiguration itself. The design is reloaded
  alternately with the weights under test and a second set (no reset), and during each reload
  upsets hit the clock-gate group being written, in the cycle of the write of a byte or the cycle
  before: half the enable latch of a random copy of that group's gate (in the write cycle the open
  gate closes: that copy drops the write), half a random bit of a random copy of a byte of the
  group (the written byte itself half of the time). Samples are streamed after every reload and
  compared with the weights that were written; without TMR nothing restores a dropped write until
  the next reload, so its stream shows it.

Every output is compared with the golden model; ``outputs_corrupted`` counts output words
(latent vector + module-sum code of one sample) with any wrong bit.

Not covered (by construction of the targets): two upsets in the same bit of two copies of one
byte before a repair (TMR votes the wrong value; the copies then agree on it), two upsets in the
gates of two copies of one group in one cycle, and upsets in the voter, comparator (``differ``)
or gate-enable logic, which are combinational (a transient there matters only if it is latched
at an edge, which a flip-flop deposit does not model).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from econt.errors import StageError
from econt.rtl.generator import GeneratedDesign
from econt.verify.sim import StreamChunk, simulate

TARGETS = ("config", "pipeline", "gate_latch", "double_group", "write")
GATED_TARGETS = ("gate_latch", "double_group", "write")


@dataclass(frozen=True)
class CfgGroups:
    """The clock-gate groups of a gated design, in address order (as ``econt.rtl.generator``)."""

    first_byte: tuple[int, ...]
    n_bytes: tuple[int, ...]

    @classmethod
    def of(cls, design: GeneratedDesign) -> "CfgGroups":
        m = design.manifest
        g = m.get("cfg_gating") or {}
        if g.get("cfg_storage") != "gated" or m["tmr"] == "selective":
            raise StageError(f"{design.path.name}: the gated-storage SEU targets {GATED_TARGETS} need "
                             "cfg_storage: gated and tmr: none, config or full in its config")
        bpb = int(m["register_map"]["bytes_per_block"])
        gb = int(g["group_bytes"])
        stored = stored_bytes(design)
        firsts, sizes = [], []
        for blk in range(int(m["register_map"]["blocks"])):
            for lo in range(0, bpb, gb):
                first = blk * bpb + lo
                if first < stored:   # a group without registers has no gate
                    firsts.append(first)
                    sizes.append(min(gb, bpb - lo, stored - first))
        if len(firsts) != int(g["groups"]):
            raise StageError(f"{design.path}/manifest.json: cfg_gating.groups is {g['groups']}, the register "
                             f"map gives {len(firsts)}; regenerate the design.")
        return cls(tuple(firsts), tuple(sizes))

    def group_of(self, byte: int) -> int:
        return int(np.searchsorted(np.asarray(self.first_byte), byte, side="right") - 1)


def stored_bytes(design: GeneratedDesign) -> int:
    """Configuration bytes that have registers: the first ``register_map.stored_bytes`` of the map
    (a model smaller than the ECON-T's fills only the first bytes; the others read 0), every byte
    of the map for designs generated before the field existed."""
    rmap = design.manifest["register_map"]
    return int(rmap.get("stored_bytes", rmap["blocks"] * rmap["bytes_per_block"]))


def _pipeline_widths(design: GeneratedDesign) -> dict[str, int]:
    return {name: int(w) for name, w in design.manifest["pipeline_register_widths"].items()}


def _copies(design: GeneratedDesign) -> tuple[str, ...]:
    return ("",) if design.manifest["tmr"] == "none" else ("_a", "_b", "_c")


def _cfg_upset(design: GeneratedDesign, rng: np.random.Generator, cycle: int, byte: int, target: str) -> dict:
    copy = "q" + _copies(design)[int(rng.integers(len(_copies(design))))]
    return {"cycle": cycle, "path": f"u_enc.u_cfg.g_byte[{byte}].{copy}", "bit": int(rng.integers(8)),
            "target": target}


def _latch_upset(design: GeneratedDesign, rng: np.random.Generator, cycle: int, group: int, target: str) -> dict:
    copy = "u_cg" + _copies(design)[int(rng.integers(len(_copies(design))))]
    return {"cycle": cycle, "path": f"u_enc.u_cfg.g_group[{group}].{copy}.en_latch", "bit": 0, "target": target}


def _restore(ev: dict, hold_cycles: int) -> dict:
    """The system's reload of an unprotected configuration bit ``hold_cycles`` later."""
    return {**ev, "cycle": ev["cycle"] + hold_cycles, "restore": True}


def make_events(design: GeneratedDesign, target: str, n_upsets: int, n_cycles: int, seed: int,
                hold_cycles: int = 16) -> list[dict]:
    """Random upsets during a stream of ``n_cycles`` samples (one slot every
    ``hold_cycles + latency + 2`` cycles, never two slots in flight at once), as cocotb events
    relative to the stream start. ``double_group`` puts two upsets in one slot (``n_upsets`` counts
    upsets, so it makes ``n_upsets // 2`` slots). ``write`` upsets happen during reloads: see
    :func:`make_write_events`."""
    rng = np.random.default_rng(seed)
    m = design.manifest
    tmr = m["tmr"]
    hw = m["weights"] == "hardwired"
    lat = int(m["latency_cycles"])
    if target not in TARGETS or target == "write":
        raise ValueError(f"unknown stream SEU target {target!r}; use one of {TARGETS[:-1]} (write: make_write_events)")
    if hw and target != "pipeline":
        raise ValueError("hardwired designs have no configuration registers to upset")
    groups = CfgGroups.of(design) if target in GATED_TARGETS else None
    if target == "double_group" and len(groups.first_byte) < 2:
        raise StageError(f"{design.path.name}: one clock-gate group only; double_group needs two "
                         "(cfg_gate_group: word or byte, or more I2C blocks)")
    spacing = max(hold_cycles + lat + 2, 1)
    first, last = lat + 2, n_cycles - spacing - lat - 2
    n_slots = n_upsets // 2 if target == "double_group" else n_upsets
    if last <= first or n_slots <= 0:
        return []
    slots = np.arange(first, last, spacing)
    cycles = np.sort(rng.choice(slots, size=min(n_slots, len(slots)), replace=False))
    nbytes = 0 if hw else stored_bytes(design)
    events: list[dict] = []
    for c in cycles.tolist():
        c = int(c)
        if target == "config":
            ev = _cfg_upset(design, rng, c, int(rng.integers(nbytes)), target)
            events.append(ev)
            if tmr == "none":
                events.append(_restore(ev, hold_cycles))
        elif target == "pipeline":
            widths = _pipeline_widths(design)
            stage = sorted(widths)[int(rng.integers(len(widths)))]
            copy = "r" if tmr != "full" else "r_" + "abc"[int(rng.integers(3))]
            events.append({"cycle": c, "path": f"u_enc.u_pipe_{stage}.{copy}",
                           "bit": int(rng.integers(widths[stage])), "target": target})
        elif target == "gate_latch":
            events.append(_latch_upset(design, rng, c, int(rng.integers(len(groups.first_byte))), target))
        else:  # double_group
            g1, g2 = rng.choice(len(groups.first_byte), size=2, replace=False).tolist()
            for g in (g1, g2):
                ev = _cfg_upset(design, rng, c, groups.first_byte[g] + int(rng.integers(groups.n_bytes[g])), target)
                events.append(ev)
                if tmr == "none":
                    events.append(_restore(ev, hold_cycles))
    return events


def make_write_events(design: GeneratedDesign, n_writes: int, n_upsets: int, seed: int,
                      spacing: int = 4) -> list[dict]:
    """Upsets during one reload of ``n_writes`` bytes (write ``i`` is presented at load cycle
    ``i``, byte ``i`` of the image in block-major order): at most ``n_upsets``, at distinct writes
    of stored bytes ``spacing`` apart, each in the clock-gate group of the byte written, at the
    write's cycle or the one before (see the module docstring)."""
    rng = np.random.default_rng(seed)
    groups = CfgGroups.of(design)
    slots = np.arange(1, min(n_writes, stored_bytes(design)), spacing)
    picks = np.sort(rng.choice(slots, size=min(n_upsets, len(slots)), replace=False)).tolist()
    events = []
    for i in picks:
        cycle = int(i) - int(rng.integers(2))       # the write's cycle or the one before
        g = groups.group_of(int(i))
        if rng.random() < 0.5:
            ev = _latch_upset(design, rng, cycle, g, "write")
        else:
            byte = int(i) if rng.random() < 0.5 else groups.first_byte[g] + int(rng.integers(groups.n_bytes[g]))
            ev = _cfg_upset(design, rng, cycle, byte, "write")
        events.append({**ev, "written_byte": int(i)})
    return events


def default_targets(design: GeneratedDesign) -> tuple[str, ...]:
    """Every target that exists in the design: pipeline only when hardwired; the gated-storage
    targets when the configuration registers are clock-gated (double_group with two groups or more)."""
    m = design.manifest
    if m["weights"] == "hardwired":
        return ("pipeline",)
    g = m.get("cfg_gating") or {}
    if g.get("cfg_storage") != "gated" or m["tmr"] == "selective":
        # tmr=selective has gates b/c only in protected groups: its campaign is econt.faults.seu_check
        return ("config", "pipeline")
    return ("config", "pipeline", "gate_latch") + (("double_group",) if int(g["groups"]) > 1 else ()) + ("write",)


def _write_campaign(design: GeneratedDesign, weights: Any, alt_weights: Any, calq: np.ndarray, n_upsets: int,
                    seed: int, work: Path) -> Any:
    """Reload alternately ``alt_weights`` and ``weights`` with upsets during every reload, a
    stream of samples after each (``calq`` split over the reloads)."""
    m = design.manifest
    n_writes = m["register_map"]["blocks"] * m["register_map"]["bytes_per_block"]
    per_load = max(1, stored_bytes(design) // 8)
    n_loads = max(1, -(-n_upsets // per_load))
    parts = np.array_split(np.asarray(calq), n_loads + 1)
    if min(len(p) for p in parts) < int(m["latency_cycles"]) + 2:
        raise StageError(f"{len(calq)} samples are too few for {n_loads} reloads; give at least "
                         f"{(n_loads + 1) * (int(m['latency_cycles']) + 2)}")
    chunks = [StreamChunk(0, parts[0], "before")]
    left = n_upsets
    for k in range(n_loads):
        events = make_write_events(design, n_writes, min(per_load, left), seed + 1000 * k)
        left -= len(events)
        chunks.append(StreamChunk((k + 1) % 2, parts[k + 1], f"after reload {k}", load_events=events))
    return simulate(design, [weights, alt_weights], chunks, work)


def run_seu_campaign(design: GeneratedDesign, weights: Any, calq: np.ndarray, n_upsets: int, seed: int,
                     work: Path, targets: Optional[tuple[str, ...]] = None, hold_cycles: int = 16,
                     alt_weights: Any = None) -> dict[str, Any]:
    """One simulation per target (default: :func:`default_targets`); returns
    ``{target: {upsets_injected, outputs_corrupted, values_corrupted, samples, sim_seconds, hold_cycles}}``.
    ``alt_weights`` is the second weight set of the ``write`` target (default:
    :func:`complement_weights`)."""
    targets = targets or default_targets(design)
    out: dict[str, Any] = {}
    for i, target in enumerate(targets):
        if target == "write":
            alt = alt_weights if alt_weights is not None else complement_weights(weights)
            res = _write_campaign(design, weights, alt, calq, n_upsets, seed + i, Path(work) / target)
        else:
            events = make_events(design, target, n_upsets, len(calq), seed + i, hold_cycles)
            res = simulate(design, [weights], [StreamChunk(0, calq, f"seu_{target}", events)], Path(work) / target)
        injected = [e for e in res.events if not e.get("restore")]
        lat_bad = int((res.outputs_latent != res.golden_latent).sum())
        ms_bad = int((res.outputs_modsum != res.golden_modsum).sum())
        out[target] = {
            "upsets_injected": len(injected),
            "outputs_corrupted": res.mismatching_samples,
            "values_corrupted": lat_bad + ms_bad,
            "samples": res.samples,
            "sim_seconds": round(res.sim_seconds, 1),
            "hold_cycles": hold_cycles if (target in ("config", "double_group") and design.manifest["tmr"] == "none") else 0,
        }
    return out


def complement_weights(weights: Any) -> Any:
    """``weights`` with every code complemented (``-x - 1``, every bit flipped, same range): a reload
    that changes every configuration bit, and unlike the full-range random set (whose outputs
    saturate) keeps the outputs sensitive to the weights, so a dropped write shows."""
    return weights.replace(conv_w=-weights.conv_w - 1, conv_b=-weights.conv_b - 1,
                           dense_w=-weights.dense_w - 1, dense_b=-weights.dense_b - 1)


REDUCED_BLOCK_BITS = 256   # 32-byte I2C blocks: the reduced encoder's 65 bytes span 3 blocks (3 block groups)


def reduced_design(cfg: Any, out: Path, block_bits: int = REDUCED_BLOCK_BITS) -> tuple[GeneratedDesign, Any]:
    """``cfg`` (an ``RtlConfig``) on the reduced encoder (2 filters, 2 latents, as the asic stage's
    quick designs) with ``block_bits``-bit I2C blocks, so that ``cfg_gate_group: block`` still gives
    several groups; returns the design and the reduced encoder config (for its weights)."""
    from econt.model.config import load_encoder_config
    from econt.rtl.arch import arch_from_encoder_config
    from econt.rtl.generator import generate_design
    from econt.rtl.layout import ConfigLayout

    ecfg = load_encoder_config(cfg.model_config, {"conv_filters": 2, "latent_dim": 2})
    spec = arch_from_encoder_config(ecfg, calq_bits=cfg.calq_bits, arithmetic=cfg.arithmetic)
    layout = ConfigLayout(tuple(range(spec.config_bits)), -(-spec.config_bits // block_bits), block_bits)
    return generate_design(cfg, Path(out), spec=spec, layout=layout), ecfg
