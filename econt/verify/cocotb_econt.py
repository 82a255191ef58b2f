"""cocotb test run by :mod:`econt.verify.sim` (not collected by pytest).

It executes a *plan* (JSON, path in ``ECONT_SIM_PLAN``): reset, then phases of
``load`` (write a register image byte by byte through the design's register port)
and ``stream`` (the HDL test bench streams samples ``first .. first+count-1`` from
its preloaded stimulus memory back to back, one per clock, and writes every output
to a file). During a stream or a load, ``events`` flip single state elements of the
design (a deposit on a register copy or a clock-gate latch) at given cycles, 1 ns after
the falling edge that starts the cycle (every input has settled by then, so the flip
acts at the next rising edge); for unprotected registers a ``restore`` event flips the
bit back later (the system's periodic reload). Stream cycle 0 is the first falling edge
after streaming began; load cycle ``i`` is the falling edge at which write ``i`` is put on
the register port. Python compares all outputs with the golden model after the simulation.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer


def _handle(dut, path: str):
    """``a.b[3].c`` → the simulator object (generate-block arrays are indexed)."""
    h = dut
    for part in path.split("."):
        if part.endswith("]"):
            name, idx = part[:-1].split("[")
            h = getattr(h, name)[int(idx)]
        else:
            h = getattr(h, part)
    return h


def _flip(dut, path: str, bit: int) -> None:
    h = _handle(dut, path)
    v = h.value
    val = int(v.to_unsigned()) if hasattr(v, "to_unsigned") else int(v)  # a 1-bit reg reads as a Logic
    h.value = val ^ (1 << bit)


def _by_cycle(events: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for ev in sorted(events, key=lambda e: (e["cycle"], e.get("restore", False))):
        out.setdefault(int(ev["cycle"]), []).append(ev)
    return out


async def _apply(dut, events: list[dict]) -> list[dict]:
    """Flip ``events`` 1 ns into the clock-low phase (after the port inputs and latches settled)."""
    await Timer(1, unit="ns")
    for ev in events:
        _flip(dut, ev["path"], ev["bit"])
    return events


async def _load(dut, writes: list[list[int]], events: list[dict]) -> list[dict]:
    at = _by_cycle(events)
    done = []
    await FallingEdge(dut.clk)
    dut.cfg_we.value = 1
    for i, (blk, byt, val) in enumerate(writes):
        dut.cfg_block.value = blk
        dut.cfg_byte.value = byt
        dut.cfg_wdata.value = val
        if i in at:
            done += await _apply(dut, [{**e, "phase": "load"} for e in at[i]])
        await FallingEdge(dut.clk)
    dut.cfg_we.value = 0
    return done


async def _stream(dut, first: int, count: int, events: list[dict]) -> list[dict]:
    await FallingEdge(dut.clk)
    dut.stream_first.value = first
    dut.stream_count.value = count
    dut.start_req.value = 1
    await FallingEdge(dut.clk)
    dut.start_req.value = 0
    # cycle 0 = the first falling edge after streaming began
    done = []
    now = 0
    for cycle, evs in _by_cycle(events).items():
        if cycle > now:
            await ClockCycles(dut.clk, cycle - now, rising=False)
            now = cycle
        done += await _apply(dut, evs)
    if int(dut.busy.value):
        await FallingEdge(dut.busy)
    return done


@cocotb.test()
async def run_plan(dut) -> None:
    with open(os.environ["ECONT_SIM_PLAN"]) as fh:
        plan = json.load(fh)
    dut.start_req.value = 0
    dut.stream_first.value = 0
    dut.stream_count.value = 0
    if plan.get("has_cfg_port", True):
        dut.cfg_we.value = 0
        dut.cfg_block.value = 0
        dut.cfg_byte.value = 0
        dut.cfg_wdata.value = 0
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    log = []
    for phase in plan["phases"]:
        if phase["kind"] == "load":
            log += await _load(dut, phase["writes"], phase.get("events", []))
        elif phase["kind"] == "stream":
            log += await _stream(dut, phase["first"], phase["count"], phase.get("events", []))
        else:  # pragma: no cover - the plan is written by econt.verify.sim
            raise ValueError(f"unknown phase {phase['kind']}")
    await ClockCycles(dut.clk, 2)
    with open(plan["event_log"], "w") as fh:
        json.dump(log, fh)
