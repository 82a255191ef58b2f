"""Run a study: the objective of one trial, workers, and the reports of the front.

``run_worker`` runs trials of the study in this process until the study holds ``n_trials``
finished (complete, pruned or failed) trials; any number of workers may share one storage.
Every objective value comes from the full flow of ``econt.sweep.chain.run_trial``; a sampled
design that no encoder accepts, or whose latents the eTx frame cannot carry, is pruned before
any work (recorded with its reason). Designs that miss timing at the study clock stay in the
table but are infeasible (Optuna constraint) and never on the front.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from econt.config import write_resolved_config
from econt.paths import reports_dir, work_dir
from econt.sweep.config import StudyConfig
from econt.sweep.study import DESIGN_FIELDS, ENCODER_FIELDS, open_study, sample_design

#: reference designs marked in the reports: name → the shipped RTL config they are read from
#: (the kit's default encoder, and the deployed ECON-T's truncating chip arithmetic)
REFERENCE_RTL_CONFIGS = {"default_design": "econt_default", "deployed_econt": "econt_chip"}
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def reference_design(rtl_config: str) -> dict[str, Any]:
    """The searched fields of a shipped RTL config and its model config (read, not restated)."""
    from econt.model.config import load_encoder_config
    from econt.rtl.config import load_rtl_config

    rcfg = load_rtl_config(rtl_config)
    enc = load_encoder_config(rcfg.model_config)
    fields = {k: getattr(enc, k) for k in ENCODER_FIELDS if k != "arithmetic"}
    fields.update(arithmetic=rcfg.arithmetic, tmr=rcfg.tmr, pipeline_stages=rcfg.pipeline_stages,
                  cfg_storage=rcfg.cfg_storage)
    return {k: fields[k] for k in DESIGN_FIELDS}


def _in_space(cfg: StudyConfig, design: dict[str, Any]) -> bool:
    return all(v in getattr(cfg.space, k) for k, v in design.items())


def objective_values(cfg: StudyConfig, result: Any) -> list[float]:
    values = {"emd_real": result.emd_real, "emd_test": result.emd_test, "energy_nj": result.energy_nj,
              "area_mm2": result.area_mm2}
    if cfg.objectives.count("emd_real") and result.emd_real is None:
        from econt.errors import StageError

        raise StageError("sweep: objective emd_real needs the real ECON-T vectors (../shared/econt-vectors); "
                         "they are absent. Remove emd_real from objectives or point ECONT_SHARED at them.")
    return [float(values[o]) for o in cfg.objectives]


def make_objective(cfg: StudyConfig, work: Path):
    import optuna

    from econt.sweep.chain import run_trial

    def objective(trial: optuna.Trial) -> list[float]:
        design = sample_design(trial, cfg)
        if design.invalid_reason:
            trial.set_user_attr("pruned_reason", design.invalid_reason)
            raise optuna.TrialPruned(design.invalid_reason)
        if not design.output_fits:
            reason = (f"{design.encoder['latent_dim']} latents × {design.encoder['latent_bits']} bits = "
                      f"{design.latent_bits_total} > {design.capacity_bits} bits of {cfg.n_etx} eTx links")
            trial.set_user_attr("pruned_reason", reason)
            raise optuna.TrialPruned(reason)
        t0 = time.perf_counter()
        result = run_trial(cfg, design, work / f"trial_{trial.number:04d}", trial.number)
        for k, v in result.to_dict().items():
            trial.set_user_attr(k, v)
        trial.set_user_attr("trial_seconds", round(time.perf_counter() - t0, 1))
        trial.set_user_attr("constraints", [max(0.0, -result.setup_slack_ns)])
        return objective_values(cfg, result)

    return objective


def run_worker(cfg: StudyConfig, storage: str | None = None, study_name: str | None = None,
               max_trials: int | None = None) -> Any:
    """Run trials until the study holds ``cfg.n_trials`` finished ones (or ``max_trials`` here)."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = open_study(cfg, storage=storage, study_name=study_name)
    work = work_dir("sweep", study.study_name)
    write_resolved_config(work, cfg, seed=cfg.seed)
    if cfg.n_trials and not study.trials:
        for ref, rtl_config in REFERENCE_RTL_CONFIGS.items():
            design = reference_design(rtl_config)
            if _in_space(cfg, design):
                study.enqueue_trial({k: v for k, v in design.items() if len(getattr(cfg.space, k)) > 1},
                                    user_attrs={"reference": ref}, skip_if_exists=True)
    stop = MaxTrialsCallback(cfg.n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(make_objective(cfg, work), n_trials=max_trials or cfg.n_trials, callbacks=[stop],
                   catch=(Exception,), gc_after_trial=True)
    return study


def _row(cfg: StudyConfig, t: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
    for k in DESIGN_FIELDS:
        row[k] = t.params.get(k, t.user_attrs.get(k))
    for i, o in enumerate(cfg.objectives):
        row[o] = t.values[i] if t.values else None
    for k in ("timing_met", "setup_slack_ns", "power_mw", "cell_area_um2", "n_params", "bit_exact_mismatches",
              "sim_mismatches", "trial_seconds", "pruned_reason", "reference"):
        row[k] = t.user_attrs.get(k)
    return row


def write_reports(cfg: StudyConfig, study: Any, out: Path | None = None) -> dict[str, Any]:
    """``trials.csv``/``trials.json`` (every trial), ``front.json``/``front.csv``, plots, ``summary.json``."""
    out = Path(out or reports_dir("sweep"))
    out.mkdir(parents=True, exist_ok=True)
    rows = [_row(cfg, t) for t in study.trials]
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    feasible = [t for t in study.trials if t.state.name == "COMPLETE" and t.user_attrs.get("timing_met")]
    front_ids = {t.number for t in _pareto(feasible, len(cfg.objectives))}
    front = [r for r in rows if r["trial"] in front_ids]
    refs = {ref: next((r for r in complete if r.get("reference") == ref), None) for ref in REFERENCE_RTL_CONFIGS}
    default = refs["default_design"]
    for name, data in (("trials", rows), ("front", front)):
        (out / f"{name}.json").write_text(json.dumps(data, indent=1))
        with open(out / f"{name}.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["trial"])
            w.writeheader()
            w.writerows(data)
    summary = {"study": study.study_name, "objectives": list(cfg.objectives), "pdk": cfg.pdk,
               "n_trials": len(rows), "n_complete": len(complete),
               "n_pruned": sum(r["state"] == "PRUNED" for r in rows),
               "n_failed": sum(r["state"] == "FAIL" for r in rows),
               "front": front}
    for ref, rtl_config in REFERENCE_RTL_CONFIGS.items():
        design = reference_design(rtl_config)
        summary[ref] = refs[ref] or {
            "rtl_config": rtl_config, **design, "in_space": _in_space(cfg, design),
            "note": f"configs/rtl/{rtl_config}.yaml was not evaluated in this study"
                    + ("" if _in_space(cfg, design) else " (it is outside the searched space)")}
    emd = "emd_real" if "emd_real" in cfg.objectives else "emd_test"
    if default and "energy_nj" in cfg.objectives:
        beats = [r for r in front if r[emd] < default[emd] and r["energy_nj"] < default["energy_nj"]]
        summary[f"front_beats_default_on_{emd}_and_energy"] = [r["trial"] for r in beats]
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    _plots(cfg, complete, front_ids, {k: v for k, v in refs.items() if v}, out)
    return summary


def _pareto(trials: list, n_obj: int) -> list:
    def dominates(a, b) -> bool:
        return all(x <= y for x, y in zip(a.values, b.values)) and any(x < y for x, y in zip(a.values, b.values))

    return [t for t in trials if not any(dominates(o, t) for o in trials if o is not t)]


def _plots(cfg: StudyConfig, rows: list[dict], front_ids: set, refs: dict[str, dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    emd = "emd_real" if "emd_real" in cfg.objectives else "emd_test"
    colours = {"none": "tab:blue", "config": "tab:orange", "full": "tab:red"}
    for cost, label in (("energy_nj", "energy per inference (nJ)"), ("area_mm2", "die area (mm²)")):
        if cost not in cfg.objectives or not rows:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for tmr, c in colours.items():
            for storage, marker in (("refresh", "o"), ("gated", "s")):
                pts = [r for r in rows if r["tmr"] == tmr and r["cfg_storage"] == storage]
                if pts:
                    ax.scatter([r[cost] for r in pts], [r[emd] for r in pts], c=c, s=22, marker=marker,
                               label=f"TMR {tmr}, {storage}", alpha=0.7)
        fr = sorted((r for r in rows if r["trial"] in front_ids), key=lambda r: r[cost])
        if fr:
            ax.scatter([r[cost] for r in fr], [r[emd] for r in fr], facecolors="none", edgecolors="k", s=70,
                       label="Pareto front (feasible)")
        for (ref, r), marker in zip(refs.items(), ("*", "P")):
            ax.scatter([r[cost]], [r[emd]], marker=marker, c="k", s=160,
                       label={"default_design": "kit default design", "deployed_econt": "deployed ECON-T"}[ref])
        ax.set_xlabel(f"{label}, {cfg.pdk}")
        ax.set_ylabel(f"mean exact EMD ({emd.split('_')[1]})")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"emd_vs_{cost.split('_')[0]}.png", dpi=100)
        plt.close(fig)
