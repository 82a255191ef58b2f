"""RTL stage for ``make all``: generate every design in configs/rtl, lint, simulate, inject upsets.

Writes ``reports/rtl/summary.json`` (per design: lint_warnings, sim_samples, sim_mismatches,
latency_cycles, config_bits, weight sets, timings; and the SEU table), ``reports/rtl/seu.json``,
``reports/rtl/seu.png`` (+ caption) and the designs under ``build/rtl/<name>/``, listed in
``build/rtl/index.json`` (:mod:`econt.rtl.index`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from econt.summary import merge_json
from econt.config import write_resolved_config
from econt.errors import StageError
from econt.paths import kit_data, reports_dir, work_dir


def design_configs() -> list[Path]:
    return sorted(kit_data("configs", "rtl").glob("*.yaml"))


def generate_all(out_root: Optional[Path] = None) -> list[Any]:
    """Generate every configs/rtl design into ``<out_root>/<name>/`` and list them in
    ``<out_root>/index.json`` (:mod:`econt.rtl.index`, what the conformance and asic stages read)."""
    from econt.rtl.config import load_rtl_config
    from econt.rtl.generator import generate_design
    from econt.rtl.index import write_index

    out_root = Path(out_root or work_dir("rtl"))
    made = []
    for p in design_configs():
        cfg = load_rtl_config(p)
        if cfg.tmr == "selective" and cfg.protection_mask is not None and not Path(cfg.protection_mask).is_file():
            # the mask is an output of `econt faults rank`, which runs after this stage: said, not dropped
            print(f"rtl: {cfg.name} ({p.name}) not generated: its protection mask {cfg.protection_mask} is "
                  "written by `econt faults rank`; run that, then `econt run rtl` again.")
            continue
        made.append((p, generate_design(cfg, out_root / cfg.name)))
    write_index(made, out_root)
    return [d for _, d in made]


def _stimulus(n: int, seed: int, calq_bits: int) -> list[tuple[str, np.ndarray]]:
    """Synthetic + real vectors (when ../shared is present) + extremes, ~n samples in all."""
    from econt.verify.stimulus import extreme_calq, real_calq, synthetic_calq

    parts = []
    real = real_calq()
    n_ext = max(n // 10, 16)
    n_real = 0 if real is None else min(len(real), n // 3)
    parts.append(("synthetic", synthetic_calq(n - n_ext - n_real, seed)))
    if n_real:
        parts.append(("real_testInput", real[:n_real]))
    parts.append(("extremes", extreme_calq(n_ext, seed + 1, calq_bits)))
    return parts


def verify_design(design: Any, weight_sets: list[tuple[str, Any]], n_per_set: int, seed: int,
                  work: Path) -> dict[str, Any]:
    from econt.verify.sim import StreamChunk, simulate

    chunks = []
    for wi, (wname, _) in enumerate(weight_sets):
        for label, calq in _stimulus(n_per_set, seed + 17 * wi, design.manifest["arch"]["calq_bits"]):
            chunks.append(StreamChunk(wi, calq, f"{wname}:{label}"))
    res = simulate(design, [w for _, w in weight_sets], chunks, work)
    return {"sim_samples": res.samples, "sim_mismatches": res.mismatches,
            "sim_mismatching_samples": res.mismatching_samples, "sim_seconds": round(res.sim_seconds, 2),
            "sim_samples_per_second": round(res.samples_per_second, 1),
            "weight_sets": [n for n, _ in weight_sets], "per_chunk": res.per_chunk}


def run_stage(quick: bool = False, seed: int = 0, samples_per_set: Optional[int] = None,
              n_upsets: Optional[int] = None) -> dict[str, Any]:
    """Generate + lint + simulate every configs/rtl design and run the SEU campaigns.

    Full: 10,000 samples per weight set on the default design (two weight sets loaded one
    after the other without reset), 2,000 per set on the other designs, 60 upsets per
    target. ``quick``: 300 / 300 / 10.
    """
    from econt.model.config import load_encoder_config
    from econt.rtl.lint import lint_design
    from econt.verify.seu import run_seu_campaign
    from econt.verify.stimulus import synthetic_calq
    from econt.verify.weights import verification_weight_sets

    t0 = time.perf_counter()
    out = reports_dir("rtl")
    work = work_dir("rtl")
    n_main = samples_per_set or (300 if quick else 10_000)
    n_other = samples_per_set or (300 if quick else 2_000)
    n_up = n_upsets or (10 if quick else 60)
    write_resolved_config(out, {"quick": quick, "samples_per_set_default_design": n_main,
                                "samples_per_set_other_designs": n_other, "upsets_per_target": n_up,
                                "designs": [p.name for p in design_configs()]}, seed=seed)
    designs = generate_all(work)
    designs_summary: dict[str, Any] = {}
    seu: dict[str, Any] = {}
    from tqdm import tqdm

    for d in tqdm(designs, desc="rtl designs", unit="design"):
        m = d.manifest
        ecfg = load_encoder_config(m["rtl_config"]["model_config"])
        sets = verification_weight_sets(ecfg, seed=seed, max_trained=1, arithmetic=m["arithmetic"])
        # two sets in every run (reconfiguration without reset): a trained set (else the deployed
        # one) and the full-range random set, whose saturating codes exercise every clip
        sets = [sets[0]] + [s for s in sets[1:] if s[0] == "random_full_range"]
        lint = lint_design(d, log=d.path / "lint.log")
        n = n_main if m["name"] == "econt_default" else n_other
        sim = verify_design(d, sets, n, seed, work / "sim" / m["name"])
        designs_summary[m["name"]] = {
            "lint_warnings": lint["lint_warnings"], "lint_errors": lint["lint_errors"],
            "lint_waivers": m.get("lint_waivers", {}),
            **{k: v for k, v in sim.items() if k != "per_chunk"},
            "latency_cycles": m["latency_cycles"], "config_bits": m["config_bits"],
            "config_flops": m["config_flops"], "tmr": m["tmr"], "weights": m["weights"],
            "arithmetic": m["arithmetic"], "config_hash": m["config_hash"], "path": str(d.path),
        }
        (d.path / "verification.json").write_text(json.dumps(sim, indent=2))
        key = seu_key(m)
        if m["arithmetic"] == "qkeras" and m["weights"] == "reconfigurable" and key not in seu:
            calq = synthetic_calq(max(n_up * 40, 400), seed + 99)
            seu[key] = {"design": m["name"], **run_seu_campaign(d, sets[0][1], calq, n_up, seed + 7,
                                                                work / "seu" / m["name"])}
    table = seu_table(seu)
    (out / "seu.json").write_text(json.dumps({"table": table, "campaigns": seu}, indent=2))
    _plot_seu(seu, out / "seu.png")
    summary = {"designs": designs_summary, "seu": table,
               "sim_mismatches_total": sum(v["sim_mismatches"] for v in designs_summary.values()),
               "lint_warnings_total": sum(v["lint_warnings"] for v in designs_summary.values()),
               "stage_seconds": round(time.perf_counter() - t0, 1)}
    merge_json(out / "summary.json", summary)
    bad = [n for n, v in designs_summary.items() if v["sim_mismatches"] or v["lint_warnings"] or v["lint_errors"]]
    if bad:
        raise StageError(f"rtl stage: designs {bad} have lint warnings or simulation mismatches; "
                         f"see {out / 'summary.json'} and build/rtl/<design>/lint.log, verification.json.")
    return summary




def run_gated_seu_study(n_upsets: int = 250, n_samples: int = 5_000, seed: int = 0,
                        names: Optional[list[str]] = None) -> dict[str, Any]:
    """Every clock-gated configs/rtl design on the reduced encoder (:func:`econt.verify.seu.reduced_design`:
    2 filters, 2 latents, 32-byte I2C blocks so block gating has several groups): ``n_upsets`` per
    SEU target (:func:`econt.verify.seu.default_targets`, random cycles and targets) and a bit-exact
    simulation of ``n_samples`` per weight set (two sets loaded one after the other, no reset).

    Writes ``reports/rtl/seu_gated.json`` and merges ``seu_gated_reduced`` (per design: cfg_storage,
    upsets_injected, outputs_corrupted, per target, sim_samples, sim_mismatches, seconds) into
    ``reports/rtl/summary.json``. The full encoder's gated designs are in the stage's ``seu`` table
    (fewer upsets: Icarus takes ~1 s per upset on it).
    """
    from econt.model.integer import random_integer_weights
    from econt.rtl.config import load_rtl_config
    from econt.verify.seu import reduced_design, run_seu_campaign
    from econt.verify.stimulus import synthetic_calq
    from econt.verify.weights import trained_like_weights

    out = reports_dir("rtl")
    work = work_dir("rtl", "seu_gated")
    cfgs = [load_rtl_config(p) for p in design_configs()]
    cfgs = [c for c in cfgs if c.cfg_storage == "gated" and c.weights == "reconfigurable"
            and c.arithmetic == "qkeras" and c.tmr != "selective" and (names is None or c.name in names)]
    if not cfgs:
        raise StageError("no clock-gated qkeras design in configs/rtl (cfg_storage: gated) to run the SEU study on")
    doc: dict[str, Any] = {}
    for cfg in cfgs:
        t0 = time.perf_counter()
        d, ecfg = reduced_design(cfg, work / cfg.name)
        w, w2 = trained_like_weights(ecfg, seed + 3), random_integer_weights(ecfg, seed + 4)
        spacing = 16 + d.latency_cycles + 2
        calq = synthetic_calq(n_upsets * spacing + 8 * spacing, seed + 99)
        camp = run_seu_campaign(d, w, calq, n_upsets, seed + 7, work / cfg.name / "seu")
        sim = verify_design(d, [("trained_like", w), ("random_full_range", w2)], n_samples, seed,
                            work / cfg.name / "sim")
        doc[cfg.name] = {
            "encoder": "reduced (2 filters, 2 latents, 32-byte I2C blocks)", "tmr": cfg.tmr,
            "cfg_storage": cfg.cfg_storage, "cfg_gate_group": cfg.cfg_gate_group,
            "clock_gate_groups": d.manifest["cfg_gating"]["groups"],
            "upsets_injected": sum(v["upsets_injected"] for v in camp.values()),
            "outputs_corrupted": sum(v["outputs_corrupted"] for v in camp.values()),
            # the configuration storage's targets (all but the datapath pipeline): 0 expected with TMR
            "config_targets_outputs_corrupted": sum(v["outputs_corrupted"] for t, v in camp.items() if t != "pipeline"),
            "expected_corrupted": 0 if cfg.tmr == "full" else None,
            "expected_config_targets_corrupted": 0 if cfg.tmr in ("config", "full") else None,
            "targets": camp,
            **{k: v for k, v in sim.items() if k != "per_chunk"},
            "seconds": round(time.perf_counter() - t0, 1),
        }
    (out / "seu_gated.json").write_text(json.dumps(doc, indent=2))
    merge_json(out / "summary.json", {"seu_gated_reduced": doc})
    return doc


def seu_key(manifest: dict[str, Any]) -> str:
    """SEU table row of a design: its TMR option, ``_gated`` appended for clock-gated storage."""
    gated = (manifest.get("cfg_gating") or {}).get("cfg_storage") == "gated"
    return manifest["tmr"] + ("_gated" if gated else "")


def seu_table(seu: dict[str, Any]) -> dict[str, Any]:
    """``{row: {<target>_upsets_injected, <target>_outputs_corrupted, upsets_injected, outputs_corrupted,
    expected_...}}`` from the campaigns ``{row: {design, <target>: {...}}}``. Expected 0: every target
    with ``tmr=full``; the configuration targets (all but ``pipeline``) with ``tmr=config``."""
    table: dict[str, Any] = {}
    for key, v in seu.items():
        targets = [t for t, r in v.items() if isinstance(r, dict)]
        row = {f"{t}_{k}": v[t][k] for t in targets for k in ("upsets_injected", "outputs_corrupted")}
        row["upsets_injected"] = sum(v[t]["upsets_injected"] for t in targets)
        row["outputs_corrupted"] = sum(v[t]["outputs_corrupted"] for t in targets)
        tmr = key.split("_")[0]
        row["expected_corrupted"] = 0 if tmr == "full" else None
        if tmr == "config":
            row["expected_config_corrupted"] = 0
            row["config_targets_outputs_corrupted"] = sum(v[t]["outputs_corrupted"] for t in targets if t != "pipeline")
        table[key] = row
    return table


def _plot_seu(seu: dict[str, Any], path: Path) -> None:
    import matplotlib

    from econt.verify.seu import TARGETS

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tmrs = list(seu)
    targets = [t for t in TARGETS if any(isinstance(seu[k].get(t), dict) for k in tmrs)]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(tmrs)), 3.5))
    x = np.arange(len(tmrs))
    bw = 0.8 / max(len(targets), 1)
    for i, target in enumerate(targets):
        off = (i - (len(targets) - 1) / 2) * bw
        have = [xi for xi, t in enumerate(tmrs) if isinstance(seu[t].get(target), dict)]
        inj = [seu[tmrs[xi]][target]["upsets_injected"] for xi in have]
        bad = [seu[tmrs[xi]][target]["outputs_corrupted"] for xi in have]
        ax.bar(np.asarray(have) + off, bad, width=bw * 0.95, label=f"{target} upsets → corrupted outputs")
        for xi, b, n in zip(have, bad, inj):
            ax.text(xi + off, b, f"{b}/{n}", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(x, [f"tmr={t}" for t in tmrs], fontsize=7)
    ax.set_ylabel("corrupted output words")
    ax.set_title("Single-event upsets injected in simulation (Icarus/cocotb)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    cap = path.parent / "captions.json"
    caps = json.loads(cap.read_text()) if cap.is_file() else {}
    caps[path.name] = ("Output words corrupted by single flip-flop upsets injected at random cycles "
                       "(configuration registers; datapath pipeline registers; with clock-gated storage also the "
                       "clock-gate latches, two upsets in two groups in one cycle, upsets during an I2C reload) per "
                       "TMR option and storage (_gated); TMR designs should show 0 for the registers they protect.")
    cap.write_text(json.dumps(caps, indent=2))
