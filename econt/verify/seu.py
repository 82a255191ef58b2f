"""Single-event-upset fault injection on a generated design.

During streaming, single flip-flops are flipped at random cycles by depositing on the
register copies from cocotb (``econt.verify.cocotb_econt``):

* ``config`` target: a random bit of a random copy of a random configuration byte
  (``u_cfg.g_byte[k].q`` without TMR, ``u_cfg.g_byte[k].q_a|b|c`` with it). Without TMR the upset stays
  until the system reloads the weights; the campaign models that reload by flipping the
  bit back ``hold_cycles`` later. With TMR the voter masks it and the refresh repairs it at
  the next edge, so nothing is restored by the bench.
* ``pipeline`` target: a random bit of a random datapath pipeline register copy
  (``u_pipe_<stage>.r`` or ``.r_a|b|c`` with ``tmr=full``); the next edge overwrites it.

Every output is compared with the golden model; ``outputs_corrupted`` counts output words
(latent vector + module-sum code of one sample) with any wrong bit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from econt.rtl.generator import GeneratedDesign
from econt.verify.sim import StreamChunk, simulate

TARGETS = ("config", "pipeline")


def _pipeline_widths(design: GeneratedDesign) -> dict[str, int]:
    return {name: int(w) for name, w in design.manifest["pipeline_register_widths"].items()}


def make_events(design: GeneratedDesign, target: str, n_upsets: int, n_cycles: int, seed: int,
                hold_cycles: int = 16) -> list[dict]:
    """Random single upsets (one every ``n_cycles / n_upsets`` cycles on average, never two
    in flight at once), as cocotb events relative to the stream start."""
    rng = np.random.default_rng(seed)
    m = design.manifest
    tmr = m["tmr"]
    hw = m["weights"] == "hardwired"
    lat = int(m["latency_cycles"])
    spacing = max(hold_cycles + lat + 2, 1)
    first, last = lat + 2, n_cycles - spacing - lat - 2
    if last <= first or n_upsets <= 0:
        return []
    slots = np.arange(first, last, spacing)
    n = min(n_upsets, len(slots))
    cycles = np.sort(rng.choice(slots, size=n, replace=False))
    events: list[dict] = []
    for c in cycles.tolist():
        if target == "config":
            if hw:
                raise ValueError("hardwired designs have no configuration registers to upset")
            rmap = m["register_map"]
            # only the bytes that carry configuration bits have registers
            nbytes = rmap.get("stored_bytes", rmap["blocks"] * rmap["bytes_per_block"])
            byte = int(rng.integers(nbytes))
            copy = "q" if tmr == "none" else "q_" + "abc"[int(rng.integers(3))]
            reg = f"u_enc.u_cfg.g_byte[{byte}].{copy}"
            bit = int(rng.integers(8))
            events.append({"cycle": int(c), "path": reg, "bit": bit, "target": target})
            if tmr == "none":  # the system's reload of the weights repairs it later
                events.append({"cycle": int(c + hold_cycles), "path": reg, "bit": bit, "target": target,
                               "restore": True})
        elif target == "pipeline":
            widths = _pipeline_widths(design)
            stage = sorted(widths)[int(rng.integers(len(widths)))]
            copy = "r" if tmr != "full" else "r_" + "abc"[int(rng.integers(3))]
            events.append({"cycle": int(c), "path": f"u_enc.u_pipe_{stage}.{copy}",
                           "bit": int(rng.integers(widths[stage])), "target": target})
        else:
            raise ValueError(f"unknown SEU target {target!r}; use one of {TARGETS}")
    return events


def run_seu_campaign(design: GeneratedDesign, weights: Any, calq: np.ndarray, n_upsets: int, seed: int,
                     work: Path, targets: Optional[tuple[str, ...]] = None, hold_cycles: int = 16) -> dict[str, Any]:
    """One simulation per target; returns ``{target: {upsets_injected, outputs_corrupted, ...}}``."""
    hw = design.manifest["weights"] == "hardwired"
    targets = targets or (("pipeline",) if hw else TARGETS)
    out: dict[str, Any] = {}
    for i, target in enumerate(targets):
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
            "hold_cycles": hold_cycles if (target == "config" and design.manifest["tmr"] == "none") else 0,
        }
    return out
