"""Markdown table and PNG charts for ``reports/asic``."""
from __future__ import annotations

from pathlib import Path


def _f(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e5 else f"{v:.4g}"
    return str(v)


def _storage_table(entries: dict) -> list[str]:
    """Configuration storage (refresh | gated) side by side: area, power split, energy."""
    rows = [e for e in entries.values() if "power_split_mw" in e]
    if not any(e.get("cfg_storage") == "gated" for e in entries.values()):
        return []
    lines = ["## Configuration storage: refresh vs clock-gated", "",
             "Power split of the measured activity (zero delay; glitches in their own column): clock = clock pins "
             "of flops and clock gates plus clock nets; configuration storage = the other dynamic power of the "
             "configuration registers, voters and clock gates; datapath = the rest.", "",
             "| design | PDK | TMR | storage | gate group | clock gates | cell area (µm²) | clock (mW) "
             "| config storage (mW) | datapath (mW) | leakage (mW) | glitch (mW) | E/inf (nJ) "
             "| gated/refresh: dynamic energy, energy, area | timing met |",
             "|" + "---|" * 15]
    for e in sorted(rows, key=lambda e: (e["pdk"], e["tmr"], e.get("cfg_storage", ""))):
        sp, cmp_ = e["power_split_mw"], e.get("gated_vs_refresh")
        cmp_s = (f"×{_f(cmp_['dynamic_energy_ratio'])}, ×{_f(cmp_['energy_ratio'])}, ×{_f(cmp_['area_ratio'])}"
                 if cmp_ else "–")
        met = e.get("setup_slack_ns") is not None and e["setup_slack_ns"] >= 0
        lines.append(f"| {e['design']} | {e['pdk']} | {e['tmr']} | {e.get('cfg_storage', 'refresh')} "
                     f"| {e.get('cfg_gate_group') or '–'} | {e.get('clock_gates', 0)} | {_f(e['cell_area_um2'], 6)} "
                     f"| {_f(sp['clock_mw'])} | {_f(sp['config_storage_mw'])} | {_f(sp['datapath_mw'])} "
                     f"| {_f(sp['leakage_mw'])} | {_f(sp.get('glitch_mw'))} | {_f(e['energy_per_inference_nj'])} "
                     f"| {cmp_s} | {'yes' if met else 'NO'} |")
    return lines + [""]


def write_markdown(summary: dict, path: Path) -> Path:
    entries = summary["entries"]
    lines = [
        "# ASIC results (econt asic)",
        "",
        f"Flow path: **{summary['flow_path']}** — {summary['flow_description']}",
        "",
        "Tool versions: " + ", ".join(f"{k} {v}" for k, v in summary["tool_versions"].items() if v),
        "",
        "Rows marked **ESTIMATE** are derived from the real-library results with the node/voltage scaling "
        "equations of Stillmaker & Baas (Integration 58, 2017); they are not a synthesis on a 65 nm library.",
        "",
        "| design | PDK | TMR | cell area (µm²) | die (mm²) | cells | flops | config+voters area | crit. path (ns) "
        "| fmax (MHz) | latency | P dyn (mW) | P leak (mW) | P total (mW) | E/inf (nJ) | E/inf vectorless (nJ) "
        "| config bits | TMR overhead (area, power) |",
        "|" + "---|" * 18,
    ]
    for key, e in entries.items():
        split = e.get("area_split_um2")
        split_s = (f"{100 * split['config_and_voters'] / e['cell_area_um2']:.0f} %"
                   if split and e["cell_area_um2"] else "–")
        ov = e.get("tmr_overhead")
        ov_s = f"×{_f(ov['area_ratio'])}, ×{_f(ov['power_ratio'])}" if ov else "–"
        pdk = e["pdk"] + (" **ESTIMATE**" if e.get("estimate") else "")
        lines.append(
            f"| {e['design']} | {pdk} | {e['tmr']} | {_f(e['cell_area_um2'], 6)} | {_f(e['die_area_mm2'])} "
            f"| {e['n_cells']} | {e['n_flops']} | {split_s} | {_f(e['critical_path_ns'])} | {_f(e['fmax_mhz'])} "
            f"| {e['latency_cycles']} cyc / {_f(e['latency_ns'])} ns | {_f(e['power_mw']['dynamic_mw'])} "
            f"| {_f(e['power_mw']['leakage_mw'])} | {_f(e['power_mw']['total_mw'])} "
            f"| {_f(e['energy_per_inference_nj'])} | {_f(e['energy_per_inference_vectorless_nj'])} "
            f"| {e['config_bits']} | {ov_s} |")
    lines.append("")
    lines += _storage_table(entries)
    for key, e in entries.items():
        if not e.get("estimate"):
            continue
        lines += [f"## {e['design']} on {e['pdk']} — ESTIMATE", ""]
        lines.append("| source library | counts for | area factor | delay factor | energy factor | leakage factor "
                     "| cell area (µm²) | crit. path (ns) | E dyn (nJ) | E glitch (nJ) | E leak (nJ) "
                     "| E/inf by the rule (nJ) |")
        lines.append("|" + "---|" * 12)
        by_rule = e["spread"]["energy_per_inference_nj"]["values"]
        for src, v in e["per_source"].items():
            fa = v["factors"]
            lines.append(f"| {src} ({fa['source_fit']} fit @ {fa['source_voltage_v']} V → {fa['target_fit']} @ "
                         f"{fa['target_voltage_v']} V) | {', '.join(v['counts_for']) or 'reported only'} "
                         f"| {_f(fa['area'])} | {_f(fa['delay'])} | {_f(fa['energy'])} "
                         f"| {_f(fa['leakage_power'])} | {_f(v['cell_area_um2'], 6)} | {_f(v['critical_path_ns'])} "
                         f"| {_f(v['dynamic_nj'])} | {_f(v['glitch_nj'])} | {_f(v['leakage_nj'])} "
                         f"| {_f(by_rule.get(src))} |")
        lines.append("")
        for label, key in (("energy/inference (with glitches)", "energy_per_inference_nj"),
                           ("dynamic energy", "dynamic_nj"), ("leakage energy", "leakage_nj"),
                           ("cell area", "cell_area_um2")):
            sp = e["spread"][key]
            lines.append(f"- Spread of {label} over {', '.join(sp['sources'])}: estimate {_f(sp['estimate'])}, "
                         f"{_f(sp['min'])}–{_f(sp['max'])} (max/min {_f(sp['max_over_min'])}), "
                         f"+{_f(sp['plus_pct'])} % / −{_f(sp['minus_pct'])} % of the estimate.")
        lines += ["", f"Rule: {e['rule']}", ""]
        pc = e.get("published_comparison")
        if pc:
            lines += ["", f"Published {pc['label']}: {pc['die_area_mm2']} mm², {pc['power_mw']} mW, "
                      f"{pc['energy_per_inference_nj']} nJ/inference. This estimate: "
                      f"{_f(e['die_area_mm2'])} mm² (×{_f(pc['ratio_die_area'])}), "
                      f"{_f(e['power_mw']['total_mw'])} mW (×{_f(pc['ratio_power'])}), "
                      f"{_f(e['energy_per_inference_nj'])} nJ (×{_f(pc['ratio_energy'])}). Caveats: {pc['caveats']}."]
        lines += ["", "Caveats: " + "; ".join(e["caveats"]), ""]
    t = summary.get("target_65nm_energy")
    if t:
        lines += ["## Target", "",
                  f"65 nm-style ESTIMATE energy per inference of {t['design']}: {_f(t['energy_per_inference_nj'])} nJ "
                  f"vs target ≤ {t['target_nj']} nJ → {'met' if t['met'] else ('unknown' if t['met'] is None else 'NOT met')}"
                  + (f", {_f(t['factor_below_target'])}× below the target" if t["met"] else "")
                  + " (per source: " + ", ".join(f"{k} {_f(v)} nJ" for k, v in t.get("per_source_nj", {}).items())
                  + ")" + (f" — {t['reason']}" if t.get("reason") else "") + ".", ""]
        if t.get("spread_within_pct") is not None:
            lines += [f"Spread of the admitted sources: within ±{_f(t['spread_within_pct'])} % of the estimate "
                      f"(max/min {_f(t['spread_max_over_min'])}) vs target ±{_f(t['spread_target_pct'])} % → "
                      f"{'met' if t['spread_met'] else 'NOT met'}.", ""]
    acts = {e["design"]: e.get("activity") for e in entries.values() if e.get("activity")}
    if acts:
        lines += ["## Switching activity and power method", ""]
        for d, a in acts.items():
            rates = ", ".join(f"{k} {_f(v)}" for k, v in a.get("input_mean_toggle_rate", {}).items())
            lines.append(f"- {d}: {a.get('n_events')} events from {a.get('events_source')}; weights: "
                         f"{a.get('weights_source')}; mean input transitions/cycle/bit: {rates}; "
                         f"vectorless cross-check: {a.get('vectorless_source')}.")
        lines.append("")
        lines.append("| design | PDK | simulated cycles | RTL vs gate mismatched bits (checked) | flops seeded from RTL "
                     "| mean net transitions/cycle | nominal slew (ns) | clock power (mW) |")
        lines.append("|" + "---|" * 8)
        for e in entries.values():
            g = (e.get("gate_sim") or {}).get("measured")
            if not g:
                continue
            lines.append(f"| {e['design']} | {e['pdk']} | {g['n_cycles']} | {g['mismatched_bits']} ({g['checked_bits']}) "
                         f"| {g['seeded_flops']} / {g['n_flops']} | {_f(g['mean_toggle_rate'])} | {_f(g['slew_ns'])} "
                         f"| {_f(e['power_mw'].get('clock_mw'))} |")
        method = next((e.get("power_method_description") or e.get("power_method") for e in entries.values()
                       if e.get("power_method")), None)
        if method:
            lines += ["", f"Power method: {method}."]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_charts(summary: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nan = float("nan")
    entries = list(summary["entries"].values())

    def val(v):
        return nan if v is None else v

    labels = [f"{e['design']}\n{e['pdk']}{' (est.)' if e.get('estimate') else ''}" for e in entries]
    paths = []
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    x = range(len(entries))
    axes[0].bar(x, [e["cell_area_um2"] / 1e6 for e in entries], color="tab:blue")
    axes[0].set_ylabel("cell area (mm²)")
    dyn = [val(e["power_mw"]["dynamic_mw"]) for e in entries]
    leak = [val(e["power_mw"]["leakage_mw"]) for e in entries]
    axes[1].bar(x, dyn, label="dynamic (measured activity)", color="tab:orange")
    axes[1].bar(x, leak, bottom=dyn, label="leakage", color="tab:gray")
    axes[1].scatter(x, [val(e["power_vectorless_mw"]["total_mw"]) for e in entries], color="k", marker="x",
                    label="vectorless total", zorder=3)
    axes[1].set_ylabel("power (mW)")
    axes[1].legend(fontsize=7)
    axes[2].bar(x, [val(e["energy_per_inference_nj"]) for e in entries], color="tab:green")
    t = summary.get("target_65nm_energy")
    if t:
        axes[2].axhline(t["target_nj"], color="r", ls="--", label=f"ECON-T published {t['target_nj']} nJ")
        axes[2].legend(fontsize=7)
    axes[2].set_ylabel("energy per inference (nJ)")
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    fig.suptitle(f"econt ASIC results ({summary['flow_path']} flow; '(est.)' = scaled ESTIMATE)")
    fig.tight_layout()
    p = out_dir / "asic_summary.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    # area split per real-library entry
    real = [e for e in entries if e.get("area_split_um2")]
    if real:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        xs = range(len(real))
        cfg = [e["area_split_um2"]["config_and_voters"] / 1e6 for e in real]
        dp = [e["area_split_um2"]["datapath"] / 1e6 for e in real]
        ax.bar(xs, cfg, label="configuration registers + voters", color="tab:purple")
        ax.bar(xs, dp, bottom=cfg, label="datapath", color="tab:cyan")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f"{e['design']}\n{e['pdk']}" for e in real], rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("cell area (mm²)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = out_dir / "asic_area_split.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths
