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
    the fixed 40 MHz rate, glitches included) × E65(V65)/Esrc(Vsrc); leakage × P65(V65)/Psrc(Vsrc).
    Dynamic and leakage are kept apart (``dynamic_nj``, ``glitch_nj``, ``leakage_nj`` per inference) so
    the estimate can take each from the sources the rule admits (``counts_for``).
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

    def add(*vals):
        return None if any(v is None for v in vals) else sum(vals)

    def nj(mw):
        return None if mw is None else mw * 1e-3 / rate_hz * 1e9

    dyn = mul(entry["power_mw"]["dynamic_mw"], f_energy)
    leak = mul(entry["power_mw"]["leakage_mw"], f_power)
    glitch = mul(entry["glitch"]["glitch_mw"], f_energy) if "glitch" in entry else None
    total = add(dyn, leak)
    vdyn = mul(entry["power_vectorless_mw"]["dynamic_mw"], f_energy)
    vleak = mul(entry["power_vectorless_mw"]["leakage_mw"], f_power)
    return {
        "source_pdk": source_pdk.name,
        "counts_for": list(sc.counts_for[source_pdk.name]),
        "factors": {"area": f_area, "delay": f_delay, "energy": f_energy, "leakage_power": f_power,
                    "source_fit": sc.source_fit[source_pdk.name], "source_voltage_v": vs,
                    "target_fit": sc.target_fit, "target_voltage_v": vt},
        "cell_area_um2": cell_area,
        "die_area_mm2": cell_area / target.utilisation / 1e6,
        "critical_path_ns": crit,
        "fmax_mhz": 1000.0 / crit if crit > 0 else None,
        "power_mw": {"dynamic_mw": dyn, "leakage_mw": leak, "total_mw": total},
        "glitch_mw": glitch,
        "glitch_share": entry.get("glitch_share"),
        "power_vectorless_mw": {"dynamic_mw": vdyn, "leakage_mw": vleak, "total_mw": add(vdyn, vleak)},
        "dynamic_nj": nj(dyn),
        "glitch_nj": nj(glitch),
        "leakage_nj": nj(leak),
        # this source's own figures alone (its own leakage, whether or not the rule admits it)
        "energy_per_inference_zero_delay_nj": nj(total),
        "energy_per_inference_nj": nj(add(dyn, leak, glitch)) if glitch is not None else nj(total),
        "energy_per_inference_vectorless_nj": nj(add(vdyn, vleak)),
    }


def spread(values: list[float]) -> dict:
    lo, hi = min(values), max(values)
    mean = sum(values) / len(values)
    return {"min": lo, "max": hi, "mean": mean, "max_over_min": hi / lo if lo > 0 else None}


def estimate_spread(values: dict[str, float]) -> dict:
    """The estimate (mean) of the admitted sources' ``values`` and how far they spread around it:
    max/min, and the largest deviation above / below the estimate in % of it (``within_pct`` = the
    larger of the two: every admitted source lies within ± within_pct of the estimate)."""
    sp = spread(list(values.values()))
    est = sp["mean"]
    plus = (sp["max"] - est) / est * 100.0 if est else None
    minus = (est - sp["min"]) / est * 100.0 if est else None
    return {**sp, "estimate": est, "sources": sorted(values), "values": dict(values),
            "plus_pct": plus, "minus_pct": minus,
            "within_pct": max(plus, minus) if plus is not None else None}


def combine_65nm(per_src: dict[str, dict], target: PdkConfig) -> dict:
    """Combine the per-source scaled figures (:func:`derive_65nm`) into the 65 nm-style estimate.

    Each quantity is the mean over the sources that ``scaling.counts_for`` admits for it: area,
    critical path, dynamic energy (zero-delay and glitch) and leakage separately. A source's energy
    per inference *in the spread* is its own dynamic + glitch energy plus its own leakage where the
    rule admits its leakage, else the estimate's leakage (so a high-performance library is judged on
    its dynamic energy only). Returns the estimate's figures and the spread of each quantity.
    """
    def admitted(q: str, key: str) -> dict[str, float]:
        return {s: v[key] for s, v in per_src.items() if q in v["counts_for"] and v[key] is not None}

    area = estimate_spread(admitted("area", "cell_area_um2"))
    crit = estimate_spread(admitted("delay", "critical_path_ns"))
    dyn = estimate_spread(admitted("dynamic", "dynamic_nj"))
    leak = estimate_spread(admitted("leakage", "leakage_nj"))
    glitches = admitted("dynamic", "glitch_nj")
    glitch = estimate_spread(glitches) if glitches else None
    glitch_nj = glitch["estimate"] if glitch else 0.0

    def own_energy(v: dict, with_glitch: bool) -> float:
        lk = v["leakage_nj"] if "leakage" in v["counts_for"] else leak["estimate"]
        return v["dynamic_nj"] + lk + ((v["glitch_nj"] or 0.0) if with_glitch else 0.0)

    dyn_srcs = {s: v for s, v in per_src.items() if "dynamic" in v["counts_for"]}
    energy = estimate_spread({s: own_energy(v, True) for s, v in dyn_srcs.items()})
    energy_zero = estimate_spread({s: own_energy(v, False) for s, v in dyn_srcs.items()})
    rate_hz = target.inference_rate_mhz * 1e6
    return {
        "cell_area_um2": area["estimate"],
        "critical_path_ns": crit["estimate"],
        "dynamic_nj": dyn["estimate"],
        "glitch_nj": glitch_nj,
        "leakage_nj": leak["estimate"],
        "energy_per_inference_nj": dyn["estimate"] + glitch_nj + leak["estimate"],
        "energy_per_inference_zero_delay_nj": dyn["estimate"] + leak["estimate"],
        "glitch_share": glitch_nj / (dyn["estimate"] + glitch_nj) if dyn["estimate"] + glitch_nj > 0 else None,
        "power_mw": {"dynamic_mw": dyn["estimate"] * rate_hz * 1e-6,
                     "leakage_mw": leak["estimate"] * rate_hz * 1e-6,
                     "total_mw": (dyn["estimate"] + leak["estimate"]) * rate_hz * 1e-6},
        "spread": {"cell_area_um2": area, "critical_path_ns": crit, "dynamic_nj": dyn, "glitch_nj": glitch,
                   "leakage_nj": leak, "energy_per_inference_nj": energy,
                   "energy_per_inference_zero_delay_nj": energy_zero},
    }
