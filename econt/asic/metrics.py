"""Figures of merit from the synthesis and STA outputs, and the 65 nm-style derivation."""
from __future__ import annotations

import json
from pathlib import Path

from econt.asic.pdk import PdkConfig

# configuration registers, TMR voters and the configuration's clock gates
CONFIG_MODULE_PATTERNS = ("cfg_regs", "vote", "clock_gate")


def is_config_module(name: str) -> bool:
    """Whether a synthesised module belongs to the configuration storage (area and power splits)."""
    return any(p in name for p in CONFIG_MODULE_PATTERNS)


def _strip(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def hierarchy_stats(stat_json: Path, seq_cells: set[str], top: str) -> dict:
    """Area, cell and flop counts, flattened over the hierarchy, and split by module kind.

    yosys ``stat -json -top`` gives each module's own cells (``num_cells_by_type``, which also
    lists sub-module instances) and its hierarchical area; own area = area − Σ sub-module areas.
    """
    data = json.loads(Path(stat_json).read_text())
    mods = {_strip(k): v for k, v in data["modules"].items()}

    def own(name: str) -> tuple[float, int, int, dict]:
        m = mods[name]
        by_type = {_strip(k): int(v) for k, v in m.get("num_cells_by_type", {}).items()}
        subs = {k: v for k, v in by_type.items() if k in mods}
        sub_area = sum(mods[k]["area"] * n for k, n in subs.items())
        cells = sum(v for k, v in by_type.items() if k not in mods)
        flops = sum(v for k, v in by_type.items() if k in seq_cells)
        return float(m["area"]) - sub_area, cells, flops, subs

    multiplicity: dict[str, int] = {}

    def walk(name: str, mult: int) -> None:
        multiplicity[name] = multiplicity.get(name, 0) + mult
        for sub, n in own(name)[3].items():
            walk(sub, mult * n)

    top_key = _strip(top)
    walk(top_key, 1)
    per_module = {}
    totals = {"area": 0.0, "cells": 0, "flops": 0}
    split = {"config_and_voters": 0.0, "datapath": 0.0}
    for name, mult in sorted(multiplicity.items()):
        area, cells, flops, _ = own(name)
        per_module[name] = {"instances": mult, "own_area_um2": area, "own_cells": cells, "own_flops": flops,
                            "total_area_um2": area * mult}
        totals["area"] += area * mult
        totals["cells"] += cells * mult
        totals["flops"] += flops * mult
        kind = "config_and_voters" if is_config_module(name) else "datapath"
        split[kind] += area * mult
    return {
        "cell_area_um2": totals["area"],
        "n_cells": totals["cells"],
        "n_flops": totals["flops"],
        "area_split_um2": split,
        "modules": per_module,
        "synthesised_modules": len(mods),
    }


def _poly(coeffs, v: float) -> float:
    n = len(coeffs) - 1
    return sum(c * v ** (n - i) for i, c in enumerate(coeffs))


def derive_65nm(entry: dict, source_pdk: PdkConfig, target: PdkConfig) -> dict:
    """Scale one real-library result to the 65 nm-style target with Stillmaker & Baas (2017).

    area × area_to_target[src]; delay × D65(V65)/Dsrc(Vsrc); dynamic energy (and so dynamic power at
    the fixed 40 MHz rate) × E65(V65)/Esrc(Vsrc); leakage × P65(V65)/Psrc(Vsrc).
    """
    sc = target.scaling
    src_fit = sc.fits[sc.source_fit[source_pdk.name]]
    tgt_fit = sc.fits[sc.target_fit]
    vs, vt = source_pdk.voltage_v, target.voltage_v
    f_area = float(sc.area_to_target[source_pdk.name])
    f_delay = _poly(tgt_fit["delay"], vt) / _poly(src_fit["delay"], vs)
    f_energy = _poly(tgt_fit["energy"], vt) / _poly(src_fit["energy"], vs)
    f_power = _poly(tgt_fit["power"], vt) / _poly(src_fit["power"], vs)
    rate_hz = target.inference_rate_mhz * 1e6
    cell_area = entry["cell_area_um2"] * f_area
    crit = entry["critical_path_ns"] * f_delay
    def mul(v, f):
        return None if v is None else v * f

    def add(a, b):
        return None if a is None or b is None else a + b

    def nj(total_mw):
        return None if total_mw is None else total_mw * 1e-3 / rate_hz * 1e9

    dyn = mul(entry["power_mw"]["dynamic_mw"], f_energy)
    leak = mul(entry["power_mw"]["leakage_mw"], f_power)
    total = add(dyn, leak)
    vdyn = mul(entry["power_vectorless_mw"]["dynamic_mw"], f_energy)
    vleak = mul(entry["power_vectorless_mw"]["leakage_mw"], f_power)
    return {
        "source_pdk": source_pdk.name,
        "factors": {"area": f_area, "delay": f_delay, "energy": f_energy, "leakage_power": f_power,
                    "source_fit": sc.source_fit[source_pdk.name], "source_voltage_v": vs,
                    "target_fit": sc.target_fit, "target_voltage_v": vt},
        "cell_area_um2": cell_area,
        "die_area_mm2": cell_area / target.utilisation / 1e6,
        "critical_path_ns": crit,
        "fmax_mhz": 1000.0 / crit if crit > 0 else None,
        "power_mw": {"dynamic_mw": dyn, "leakage_mw": leak, "total_mw": total},
        "power_vectorless_mw": {"dynamic_mw": vdyn, "leakage_mw": vleak, "total_mw": add(vdyn, vleak)},
        "energy_per_inference_nj": nj(total),
        "energy_per_inference_vectorless_nj": nj(add(vdyn, vleak)),
    }


def spread(values: list[float]) -> dict:
    lo, hi = min(values), max(values)
    mean = sum(values) / len(values)
    return {"min": lo, "max": hi, "mean": mean, "max_over_min": hi / lo if lo > 0 else None}
