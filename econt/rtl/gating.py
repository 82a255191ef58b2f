"""Measure the configuration storage options: refresh vs gated, and the clock-gate group size.

For every ``tmr`` option (``none``; ``config``, whose register file ``full`` shares) and every
storage (``refresh``; ``gated`` with ``byte`` / ``word`` / ``block`` groups) the register file
``econt_cfg_regs`` of a reduced design (``blocks`` I2C blocks of 134 bytes: the real group
sizes, fewer groups) is synthesised with yosys (pyosys) and, when a liberty is given, mapped to
its cells. ``econt_clock_gate`` stays a black box (the ASIC flow maps it to the PDK's ICG cell),
so its instances are counted and the ICG cell's area is added from the liberty.

Clock-pin events are counted on the synthesised netlist: every flip-flop's clock net is traced
to ``clk`` or to the output of a clock gate. Per idle cycle (no write, copies in agreement) the
free-running clock reaches the flops on ``clk`` and the clock pin of every clock gate; per byte
written it also reaches every flop behind the written byte's gate(s). The figures scale to the
full encoder by ``I2C_BLOCKS / blocks`` (groups never straddle blocks).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from econt.errors import ToolError
from econt.rtl.arch import ArchSpec
from econt.rtl.config import RtlConfig
from econt.rtl.generator import generate_design
from econt.rtl.layout import I2C_BLOCK_BITS, I2C_BLOCKS, ConfigLayout

VARIANTS = (("refresh", None), ("gated", "byte"), ("gated", "word"), ("gated", "block"))


@dataclass(frozen=True)
class StorageMeasurement:
    """One register file: synthesis counts and clock-pin events (reduced design, ``blocks`` blocks)."""

    tmr: str
    cfg_storage: str
    cfg_gate_group: Optional[str]
    blocks: int
    config_bits: int
    flops: int
    clock_gates: int
    cells: int                       # generic or mapped cells, clock gates included
    area_um2: Optional[float]        # mapped area incl. the ICG cells (None without a liberty)
    clock_pins_per_idle_cycle: int   # flop clock pins on clk + clock-gate clock pins
    flop_clock_pins_per_byte_write: int  # flops clocked by one byte write (the written group)
    clock_pins_per_full_load: int    # one write of every byte, back to back, plus the idle pins

    def scaled(self, blocks: int = I2C_BLOCKS) -> dict[str, float]:
        f = blocks / self.blocks
        return {"area_um2": None if self.area_um2 is None else round(self.area_um2 * f, 1),
                "clock_pins_per_idle_cycle": round(self.clock_pins_per_idle_cycle * f),
                "clock_gates": round(self.clock_gates * f), "flops": round(self.flops * f)}


def _reduced_spec(blocks: int) -> tuple[ArchSpec, ConfigLayout]:
    """An architecture whose register image fills ``blocks`` whole I2C blocks."""
    spec = ArchSpec(conv_filters=1, latent=2)
    bits = blocks * I2C_BLOCK_BITS
    return spec, ConfigLayout(tuple(range(bits)), blocks, I2C_BLOCK_BITS)


def _synth(design, liberty: Optional[Path], workdir: Path) -> dict:
    try:
        from pyosys import libyosys as ys
    except ImportError as exc:
        raise ToolError(f"pyosys is not installed ({exc}); run `make setup`.") from exc
    d = ys.Design()
    for f in design.files:
        # the clock gate as a black box: the ASIC flow maps it to the PDK's ICG cell
        ys.run_pass(f"read_verilog {'-lib ' if f.stem == 'econt_clock_gate' else ''}-defer {f}", d)
    ys.run_pass("hierarchy -top econt_cfg_regs", d)
    ys.run_pass("synth -flatten -top econt_cfg_regs", d)
    if liberty is not None:
        ys.run_pass(f"dfflibmap -liberty {liberty}", d)
        ys.run_pass(f"abc -liberty {liberty}", d)
        ys.run_pass("opt_clean", d)
    net = workdir / f"{design.path.name}.json"
    ys.run_pass(f"tee -q -o {workdir / (design.path.name + '_stat.json')} stat -json"
                + (f" -liberty {liberty}" if liberty is not None else ""), d)
    ys.run_pass(f"write_json {net}", d)
    stat = json.loads((workdir / (design.path.name + "_stat.json")).read_text())
    return {"netlist": json.loads(net.read_text()), "stat": stat}


def _clock_census(netlist: dict) -> tuple[int, int, dict[int, int]]:
    """(flops on the free clock, clock gates, {gated-clock net bit: flops on it})."""
    mod = netlist["modules"]["econt_cfg_regs"]
    clk_bits = set(mod["ports"]["clk"]["bits"])
    gate_out: dict[int, int] = {}
    n_gates = 0
    for cell in mod["cells"].values():
        if cell["type"] == "econt_clock_gate":
            n_gates += 1
            gate_out[cell["connections"]["gclk"][0]] = 0
    free = 0
    for cell in mod["cells"].values():
        t = cell["type"]
        conns = cell["connections"]
        pin = next((p for p in ("C", "CLK", "CK") if p in conns), None)
        if pin is None or t == "econt_clock_gate" or not ("DFF" in t.upper() or "dfxtp" in t):
            continue
        bit = conns[pin][0]
        if bit in clk_bits:
            free += 1
        elif bit in gate_out:
            gate_out[bit] += 1
        else:
            raise ToolError(f"flop {t} is clocked by net bit {bit}, neither clk nor a clock gate output")
    return free, n_gates, gate_out


def measure(tmr: str, cfg_storage: str, group: Optional[str], workdir: Path, blocks: int = 1,
            liberty: Optional[Path] = None, icg_area_um2: Optional[float] = None) -> StorageMeasurement:
    spec, layout = _reduced_spec(blocks)
    name = f"m_{tmr}_{cfg_storage}" + (f"_{group}" if group else "")
    cfg = RtlConfig(name=name, tmr=tmr, cfg_storage=cfg_storage, cfg_gate_group=group or "block")
    design = generate_design(cfg, Path(workdir) / name, spec=spec, layout=layout)
    res = _synth(design, liberty, Path(workdir))
    free, n_gates, gated = _clock_census(res["netlist"])
    mod = res["stat"]["modules"]["\\econt_cfg_regs"] if "\\econt_cfg_regs" in res["stat"]["modules"] \
        else next(iter(res["stat"]["modules"].values()))
    area = None
    if liberty is not None:
        area = float(mod.get("area", 0.0)) + (icg_area_um2 or 0.0) * n_gates
    flops = free + sum(gated.values())
    nbytes = blocks * -(-I2C_BLOCK_BITS // 8)
    gates_per_group = 3 if tmr != "none" and n_gates else 1
    per_group = sorted(gated.values())
    # flops behind one byte's gates: every gate of the group (one per copy)
    group_flops = [sum(per_group[i:i + gates_per_group]) for i in range(0, len(per_group), gates_per_group)]
    gb = nbytes // max(1, len(group_flops)) if group_flops else 1
    per_write = max(group_flops) if group_flops else 0
    idle = free + n_gates
    full_load = nbytes * idle + nbytes * per_write
    return StorageMeasurement(tmr, cfg_storage, group if cfg_storage == "gated" else None, blocks,
                              blocks * I2C_BLOCK_BITS, flops, n_gates,
                              int(mod.get("num_cells", 0)), None if area is None else round(area, 1),
                              idle, per_write if gb else 0, full_load)


def measure_all(workdir: Path, blocks: int = 1, liberty: Optional[Path] = None,
                icg_area_um2: Optional[float] = None, tmrs: tuple[str, ...] = ("none", "config")) -> list[StorageMeasurement]:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return [measure(t, s, g, workdir, blocks, liberty, icg_area_um2) for t in tmrs for s, g in VARIANTS]


def write_report(rows: list[StorageMeasurement], path: Path, liberty: Optional[Path], icg_cell: Optional[str]) -> dict:
    out = {"doc": __doc__.strip().splitlines()[0], "liberty": None if liberty is None else str(liberty),
           "icg_cell": icg_cell, "rows": [{**asdict(r), "scaled_to_encoder": r.scaled()} for r in rows]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")
    return out
