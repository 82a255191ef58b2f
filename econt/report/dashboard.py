"""Static dashboard: ``reports/index.html``, readable from disk without a server.

Inputs are the artifacts the stages wrote: ``reports/<stage>/summary.json``,
``reports/<stage>/*.png`` with one-line captions from ``reports/<stage>/captions.json``,
``reports/timings.json``, and the exported weight sets under ``build/export``.

Every headline figure is rendered as ``<td class="num" data-source="<stage>/summary.json"
data-key="a.b.c">`` holding :func:`fmt` of that JSON value, so a test can check the page
against the JSON files.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from econt.paths import reports_dir, shown, work_dir

STAGE_ORDER = ["data", "emd", "train", "rtl", "asic", "faults", "conformance", "sweep"]
STAGE_TITLES = {
    "data": "Data",
    "emd": "EMD and the EMD-CNN",
    "train": "Training: EMD per loss, per-region weights",
    "rtl": "RTL: verification, TMR and single-event upsets",
    "asic": "ASIC: area, timing, power, energy per inference",
    "faults": "Configuration-bit fault sensitivity and selective TMR (protection curve, per-layer maps)",
    "conformance": "ECON-T conformance",
    "sweep": "Design-space sweep: EMD against energy and area (Pareto front)",
}
#: Published ECON-T silicon (65 nm LP).
PUBLISHED = {"die_area_mm2": 3.6, "power_mw": 95.0, "energy_per_inference_nj": 2.4}


def fmt(value: Any) -> str:
    """The one formatting rule for numbers on the page (the test uses it too)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if value == 0:
            return "0"
        a = abs(value)
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 10:
            return f"{value:.1f}"
        if a >= 0.01:
            return f"{value:.3f}"
        return f"{value:.2e}"
    return str(value)


def get_path(doc: Any, key: str) -> Any:
    node = doc
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


@dataclass
class Summaries:
    root: Path
    docs: dict[str, dict]

    @classmethod
    def load(cls, root: Path) -> "Summaries":
        docs = {}
        for stage in STAGE_ORDER:
            p = root / stage / "summary.json"
            if p.is_file():
                try:
                    docs[stage] = json.loads(p.read_text())
                except json.JSONDecodeError:
                    docs[stage] = {"error": f"{p} is not valid JSON"}
        return cls(root, docs)

    def cell(self, stage: str, key: str) -> str:
        value = get_path(self.docs.get(stage, {}), key)
        if value is None or isinstance(value, (dict, list)):
            return '<td class="missing">not run</td>'
        return (f'<td class="num" data-source="{stage}/summary.json" data-key="{html.escape(key)}">'
                f"{html.escape(fmt(value))}</td>")

    def first_key(self, stage: str, candidates: Iterable[str]) -> str | None:
        for key in candidates:
            if get_path(self.docs.get(stage, {}), key) is not None:
                return key
        return None


def _emd_rows(s: Summaries) -> str:
    train = s.docs.get("train", {})
    losses = train.get("losses") if isinstance(train.get("losses"), dict) else {
        k: v for k, v in train.items() if isinstance(v, dict) and "mean_emd_test" in v}
    prefix = "losses." if isinstance(train.get("losses"), dict) else ""
    rows = []
    for loss in losses or {}:
        rows.append(f"<tr><th>{html.escape(loss)}</th>"
                    + s.cell("train", f"{prefix}{loss}.mean_emd_test")
                    + s.cell("train", f"{prefix}{loss}.median_emd_test")
                    + s.cell("train", f"{prefix}{loss}.mean_emd_real") + "</tr>")
    base = s.first_key("train", ["deployed_mean_emd_real", "deployed_baseline.mean_emd_real", "deployed.mean_emd_real"])
    if base:
        rows.append('<tr><th>deployed ECON-T encoder (baseline)</th><td class="missing">—</td><td class="missing">—</td>'
                    + s.cell("train", base) + "</tr>")
    if not rows:
        return '<p class="missing">Training has not run yet (make train).</p>' + _deployed_finding(s)
    ratios = _kv_rows(s, "train", [
        ("EMD-CNN loss / telescope, synthetic test (target ≤ 0.85)", ["ratio_emd_cnn_over_telescope_test"]),
        ("EMD-CNN loss / MSE, synthetic test (target ≤ 0.75)", ["ratio_emd_cnn_over_mse_test"]),
        ("EMD-CNN loss / telescope, real vectors", ["ratio_emd_cnn_over_telescope_real"]),
        ("EMD-CNN loss / MSE, real vectors", ["ratio_emd_cnn_over_mse_real"]),
        ("integer model vs QKeras: mismatches", ["bit_exact_mismatches"]),
        ("integer model vs QKeras: samples compared", ["bit_exact_samples"])])
    return ("<table><tr><th>loss</th><th>mean EMD, synthetic test</th><th>median EMD, synthetic test</th>"
            "<th>mean EMD, real ECON-T vectors</th></tr>" + "".join(rows) + "</table>" + _deployed_finding(s) + ratios)


def _deployed_finding(s: Summaries) -> str:
    """The emd stage's diagnosis of the deployed baseline on the real vectors (econt.emd.evaluate)."""
    finding = get_path(s.docs.get("emd", {}), "peers.deployed_baseline.finding")
    if not isinstance(finding, str):
        return ""
    return (f'<p class="note" data-source="emd/summary.json" data-key="peers.deployed_baseline.finding">'
            f"Deployed baseline on the real vectors — {html.escape(finding)}</p>")


def _asic_entries(s: Summaries) -> list[tuple[str, str]]:
    """(key prefix, label) for each (design, pdk) entry of the ASIC summary."""
    asic = s.docs.get("asic", {})
    entries = asic.get("entries", asic)
    out = []
    if isinstance(entries, dict):
        base = "entries." if "entries" in asic else ""
        for k, v in entries.items():
            if isinstance(v, dict) and "cell_area_um2" in v:
                out.append((f"{base}{k}", k))
    elif isinstance(entries, list):
        for i, v in enumerate(entries):
            if isinstance(v, dict) and "cell_area_um2" in v:
                out.append((f"entries.{i}", f"{v.get('design', '?')} / {v.get('pdk', '?')}"))
    return out


def _asic_rows(s: Summaries) -> str:
    entries = _asic_entries(s)
    if not entries:
        return '<p class="missing">The ASIC flow has not run yet (make asic).</p>'
    rows = []
    for prefix, label in entries:
        rows.append(f"<tr><th>{html.escape(label)}</th>" + "".join(
            s.cell("asic", f"{prefix}.{k}") for k in
            ("cell_area_um2", "die_area_mm2", "fmax_mhz", "power_mw.total_mw", "energy_per_inference_nj", "n_flops")) + "</tr>")
    rows.append("<tr><th>published ECON-T (65 nm LP silicon)</th><td>—</td>"
                f"<td>{PUBLISHED['die_area_mm2']}</td><td>40 (clock)</td><td>{PUBLISHED['power_mw']}</td>"
                f"<td>{PUBLISHED['energy_per_inference_nj']}</td><td>—</td></tr>")
    return ("<table><tr><th>design / PDK</th><th>cell area µm²</th><th>die area mm²</th><th>fmax MHz</th>"
            "<th>power mW</th><th>energy / inference nJ</th><th>flops</th></tr>" + "".join(rows) + "</table>"
            '<p class="note">Pre-layout figures; the 65 nm-style rows are scaled estimates from the open '
            "libraries, not a real 65 nm library. Power from the kit's gate-level simulation of real ECON-T events "
            "(zero delay, ideal clock).</p>" + _asic_tmr_and_target(s, entries))


def _asic_storage_rows(s: Summaries) -> str:
    """Refresh vs clock-gated configuration storage × TMR option: area, power split, energy."""
    entries = [(p, lab) for p, lab in _asic_entries(s)
               if get_path(s.docs.get("asic", {}), f"{p}.power_split_mw.clock_mw") is not None]
    if not any(get_path(s.docs["asic"], f"{p}.cfg_storage") == "gated" for p, _ in entries):
        return ('<p class="missing">No clock-gated design has run through the ASIC flow yet '
                "(econt asic run --storage refresh gated).</p>")
    keys = ("tmr", "cfg_storage", "cell_area_um2", "power_split_mw.clock_mw", "power_split_mw.config_storage_mw",
            "power_split_mw.datapath_mw", "power_split_mw.leakage_mw", "power_split_mw.glitch_mw",
            "energy_per_inference_nj", "gated_vs_refresh.dynamic_energy_ratio", "gated_vs_refresh.area_ratio")
    rows = [f"<tr><th>{html.escape(label)}</th>" + "".join(s.cell("asic", f"{prefix}.{k}") for k in keys) + "</tr>"
            for prefix, label in entries]
    return ("<table><tr><th>design / PDK</th><th>TMR</th><th>storage</th><th>cell area µm²</th><th>clock mW</th>"
            "<th>config storage mW</th><th>datapath mW</th><th>leakage mW</th><th>glitch mW</th>"
            "<th>energy / inference nJ</th><th>gated/refresh dynamic energy ×</th><th>gated/refresh area ×</th></tr>"
            + "".join(rows) + "</table>")


def _asic_tmr_and_target(s: Summaries, entries: list[tuple[str, str]]) -> str:
    rows = []
    for prefix, label in entries:
        if get_path(s.docs.get("asic", {}), f"{prefix}.tmr_overhead.area_ratio") is None:
            continue
        rows.append(f"<tr><th>{html.escape(label)}</th>" + "".join(
            s.cell("asic", f"{prefix}.tmr_overhead.{k}") for k in ("area_ratio", "power_ratio", "flop_ratio")) + "</tr>")
    out = ""
    if rows:
        out += ("<table><tr><th>TMR overhead (tmr=config vs none)</th><th>area ×</th><th>power ×</th><th>flops ×</th>"
                "</tr>" + "".join(rows) + "</table>")
    if get_path(s.docs.get("asic", {}), "target_65nm_energy.target_nj") is not None:
        out += ("<table><tr><th>design</th><th>65 nm-style ESTIMATE energy / inference (nJ)</th>"
                "<th>target: published chip (nJ)</th><th>met</th></tr><tr><th>" + html.escape(str(get_path(s.docs["asic"], "target_65nm_energy.design")))
                + "</th>" + "".join(s.cell("asic", f"target_65nm_energy.{k}") for k in
                                    ("energy_per_inference_nj", "target_nj", "met")) + "</tr></table>")
    return out


def _chip_arithmetic_rows(s: Summaries) -> str:
    """EMD on the ECON-T silicon's truncating arithmetic: exact-sum-trained vs chip-trained weights."""
    section = get_path(s.docs.get("train", {}), "chip_arithmetic_training.losses")
    if not isinstance(section, dict) or not section:
        return ('<p class="missing">Chip-arithmetic training has not run (full `make train`; '
                "configs/train/chip_arithmetic.yaml).</p>")
    rows = []
    for loss in section:
        key = f"chip_arithmetic_training.losses.{loss}"
        rows.append(f"<tr><th>{html.escape(loss)}</th>"
                    + s.cell("train", f"{key}.mean_emd_test_exact_sums_trained")
                    + s.cell("train", f"{key}.mean_emd_test_chip_trained")
                    + s.cell("train", f"{key}.mean_emd_real_exact_sums_trained")
                    + s.cell("train", f"{key}.mean_emd_real_chip_trained") + "</tr>")
    return ("<table><tr><th>loss</th><th>trained for exact sums, synthetic test</th>"
            "<th>trained for the chip's arithmetic, synthetic test</th><th>exact-sum-trained, real vectors</th>"
            "<th>chip-trained, real vectors</th></tr>" + "".join(rows) + "</table>"
            + '<p class="note">Mean EMD when the encoder computes as the ECON-T silicon does (every product '
            "truncated before the sum). Write the chip-trained weights (build/export_chip_arithmetic) to a real "
            "chip.</p>")


def _kv_rows(s: Summaries, stage: str, keys: list[tuple[str, list[str]]]) -> str:
    rows = []
    for label, candidates in keys:
        key = s.first_key(stage, candidates)
        if key:
            rows.append(f"<tr><th>{html.escape(label)}</th>{s.cell(stage, key)}</tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else f'<p class="missing">Stage {stage} has not run yet.</p>'


def _flatten(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_flatten(v, f"{prefix}{k}."))
    elif isinstance(doc, list) and len(doc) <= 50:
        for i, v in enumerate(doc):
            out.extend(_flatten(v, f"{prefix}{i}."))
    else:
        out.append((prefix[:-1], doc))
    return out


def _plots(stage_dir: Path, rel: Path) -> str:
    pngs = sorted(stage_dir.glob("*.png"))
    if not pngs:
        return ""
    captions_file = stage_dir / "captions.json"
    captions = json.loads(captions_file.read_text()) if captions_file.is_file() else {}
    figs = []
    for png in pngs:
        cap = captions.get(png.name) or png.stem.replace("_", " ")
        src = (rel / png.name).as_posix()
        figs.append(f'<figure><a href="{html.escape(src)}"><img src="{html.escape(src)}" alt="{html.escape(cap)}" '
                    f'loading="eager"></a><figcaption>{html.escape(cap)}</figcaption></figure>')
    return '<div class="plots">' + "".join(figs) + "</div>"


def _cfg_regs_rows(root: Path) -> str:
    """The register file synthesised alone per TMR variant (``econt asic cfg-regs``)."""
    f = root / "asic" / "cfg_regs_cost.json"
    if not f.is_file():
        return ('<p class="missing">Register file per TMR variant not synthesised yet '
                "(<code>econt asic cfg-regs</code>).</p>")
    doc = json.loads(f.read_text())
    cols = [("flops", "n_flops"), ("protected bits", "protected_bits"), ("cell area (um2)", "cell_area_um2"),
            ("area vs tmr=config", "area_over_tmr_config"), ("power (mW)", "power_total_mw"),
            ("energy / inference (nJ)", "energy_per_inference_nj"), ("power vs tmr=config", "power_over_tmr_config")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c, _ in cols)
    rows = "".join(f"<tr><td>{html.escape(t)} ({html.escape(str(r.get('pdk')))})</td>"
                   + "".join(f'<td class="num">{html.escape(fmt(r.get(k)))}</td>' for _, k in cols) + "</tr>"
                   for t, r in doc["designs"].items())
    return (f"<table><tr><th>tmr (module {html.escape(doc['module'])})</th>{head}</tr>{rows}</table>"
            f'<p class="note">{html.escape(doc["method"])}</p>')


def _weight_sets(out_root: Path) -> str:
    export_root = work_dir("export")
    files = sorted(export_root.rglob("weights.json"))
    if not files:
        return '<p class="missing">No exported weight sets yet (make train).</p>'
    rows = []
    for wj in files:
        rel_dir = wj.parent.relative_to(export_root)
        i2c = wj.parent / "init.yaml"
        link = lambda p: html.escape(os.path.relpath(p, out_root))  # noqa: E731
        i2c_cell = f'<a href="{link(i2c)}">init.yaml</a>' if i2c.is_file() else "—"
        rows.append(f"<tr><td>{html.escape(rel_dir.as_posix())}</td><td><a href=\"{link(wj)}\">weights.json</a></td>"
                    f"<td>{i2c_cell}</td></tr>")
    return "<table><tr><th>weight set (loss / region)</th><th>JSON</th><th>I2C image</th></tr>" + "".join(rows) + "</table>"


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.missing,.missing{color:#a33}
.plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;width:370px}figure img{width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#444}.note{font-size:.9em;color:#555}details{margin:.5em 0}
"""


def build_dashboard(root: Path | None = None) -> Path:
    """Write ``index.html`` into ``root`` (default reports/) and return its path."""
    root = Path(root) if root else reports_dir()
    s = Summaries.load(root)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>econt — ECON-T design kit report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>econt — ECON-T autoencoder design kit</h1>",
             '<p class="note">Generated by <code>make all</code> / <code>econt report</code>. Default data are '
             "synthetic (documented generator); real ECON-T test vectors are used where ../shared is present.</p>",
             "<h2>Headline</h2><h3>Reconstruction quality (EMD, lower is better)</h3>", _emd_rows(s),
             "<h3>EMD on the ECON-T silicon's arithmetic</h3>", _chip_arithmetic_rows(s),
             "<h3>Silicon cost per PDK vs the published ECON-T</h3>", _asic_rows(s),
             "<h3>Configuration storage: refresh vs clock-gated</h3>", _asic_storage_rows(s),
             "<h3>EMD-CNN accuracy</h3>",
             _kv_rows(s, "emd", [("relative error mean (held-out synthetic ae pairs)", ["cnn_rel_err_mean"]),
                                 ("relative error std", ["cnn_rel_err_std"]),
                                 ("exact EMD pairs/s (batched)", ["exact_pairs_per_s"]),
                                 ("plain ot.emd2 loop pairs/s", ["pot_loop_pairs_per_s"])]),
             "<h3>Verification, radiation tolerance, conformance</h3>",
             _rtl_table(s),
             _seu_table(s), _conformance_table(s),
             "<h3>Selective TMR (configuration bits protected by measured sensitivity)</h3>",
             _kv_rows(s, "faults", [("configuration bits ranked", ["bits_ranked"]),
                                    ("protected bits (union mask)", ["protected_bits"]),
                                    ("worst single upset of an unprotected bit (% of mean EMD)",
                                     ["worst_single_upset_emd_loss_pct"]),
                                    ("configuration flops vs tmr=config", ["selective_over_tmr_config_flops"]),
                                    ("cheap ranking agreement (Spearman)", ["ranking_agreement.spearman",
                                                                           "ranking_agreement"]),
                                    ("SEU on protected bits: upsets", ["seu_selective.protected_upsets"]),
                                    ("SEU on protected bits: corrupted outputs",
                                     ["seu_selective.protected_outputs_corrupted"]),
                                    ("SEU unprotected: measured vs predicted EMD change (Pearson)",
                                     ["seu_selective.pearson"]),
                                    ("SEU unprotected: max relative error", ["seu_selective.max_rel_error"])]),
             '<p class="note">Whole-encoder area, power and energy of tmr=selective beside none/config/full: the '
             "ASIC table above (<code>econt asic run --tmr none config full selective</code>). The configuration "
             "register file alone, the only module in which none, config and selective differ:</p>",
             _cfg_regs_rows(root),
             "<h3>Per-region weight sets</h3>", _weight_sets(root)]
    for stage in STAGE_ORDER:
        stage_dir = root / stage
        if not stage_dir.is_dir():
            continue
        parts.append(f"<h2>{html.escape(STAGE_TITLES[stage])}</h2>")
        parts.append(_plots(stage_dir, Path(stage)))
        if stage in s.docs:
            flat = _flatten(s.docs[stage])
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(fmt(v))}</td></tr>" for k, v in flat)
            parts.append(f"<details><summary>all figures in {stage}/summary.json ({len(flat)})</summary>"
                         f"<table>{rows}</table></details>")
    timings = root / "timings.json"
    if timings.is_file():
        t = json.loads(timings.read_text())
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{fmt(v.get('seconds', 0.0))} s"
                       f"{' (skipped: unchanged)' if v.get('skipped') else ''}</td></tr>"
                       for k, v in t.get("stages", {}).items())
        parts.append(f"<h2>Stage times</h2><table>{rows}</table>")
    # After load, record how many images rendered: headless checks read these attributes.
    parts.append("<script>window.addEventListener('load',function(){var im=document.images,b=0;"
                 "for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))b++;}"
                 "document.body.setAttribute('data-images',im.length);"
                 "document.body.setAttribute('data-broken-images',b);});</script>")
    parts.append("</body></html>")
    out = root / "index.html"
    out.write_text("\n".join(parts))
    return out


def _rtl_table(s: Summaries) -> str:
    designs = s.docs.get("rtl", {}).get("designs")
    if not isinstance(designs, dict) or not designs:
        return '<p class="missing">RTL verification has not run yet.</p>'
    keys = ("lint_warnings", "sim_samples", "sim_mismatches", "latency_cycles", "config_bits")
    rows = [f"<tr><th>{html.escape(name)}</th>" + "".join(s.cell("rtl", f"designs.{name}.{k}") for k in keys) + "</tr>"
            for name, v in designs.items() if isinstance(v, dict)]
    return ("<table><tr><th>generated design</th><th>lint warnings</th><th>simulated samples</th><th>mismatches vs "
            "golden</th><th>latency (cycles)</th><th>configuration bits</th></tr>" + "".join(rows) + "</table>")


def _seu_table(s: Summaries) -> str:
    rtl = s.docs.get("rtl", {})
    seu = rtl.get("seu")
    if not isinstance(seu, dict) or not seu:
        return '<p class="missing">SEU fault injection has not run yet.</p>'
    # every upset target any row has (config, pipeline; gate_latch, double_group, write on gated storage)
    targets: list[str] = []
    for v in seu.values():
        for k in (v if isinstance(v, dict) else {}):
            t = k[: -len("_upsets_injected")] if k.endswith("_upsets_injected") else None
            if t and t not in targets:
                targets.append(t)
    rows = []
    for opt, v in seu.items():
        if isinstance(v, dict):
            rows.append(f"<tr><th>tmr={html.escape(opt)}</th>" + "".join(
                s.cell("rtl", f"seu.{opt}.{t}_{k}") for t in targets for k in ("upsets_injected", "outputs_corrupted"))
                + "</tr>")
    head = "".join(f"<th>{html.escape(t)} upsets</th><th>outputs corrupted</th>" for t in targets)
    return ("<table><tr><th>TMR option (single-event upsets)</th>" + head + "</tr>" + "".join(rows) + "</table>")


def _conformance_table(s: Summaries) -> str:
    conf = s.docs.get("conformance", {})
    section = next((k for k in ("configs", "configurations") if isinstance(conf.get(k), dict)), None)
    configs = conf[section] if section else conf
    base = f"{section}." if section else ""
    rows = []
    for name, v in (configs.items() if isinstance(configs, dict) else []):
        if not isinstance(v, dict) or "crossings" not in v:
            continue
        cells = [s.cell("conformance", f"{base}{name}.crossings")]
        for model in ("golden", "rtl"):
            k1 = s.first_key("conformance", [f"{base}{name}.{model}.words_matching", f"{base}{name}.words_matching_{model}"])
            k2 = s.first_key("conformance", [f"{base}{name}.{model}.words_compared", f"{base}{name}.words_compared_{model}",
                                             f"{base}{name}.words_compared"])
            cells.append(s.cell("conformance", k1) if k1 else '<td class="missing">not run</td>')
            cells.append(s.cell("conformance", k2) if k2 else '<td class="missing">not run</td>')
        rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    if not rows:
        return '<p class="missing">Conformance has not run yet.</p>'
    return ("<table><tr><th>ECON-T configuration</th><th>crossings</th><th>golden words matching</th><th>of</th>"
            "<th>RTL words matching</th><th>of</th></tr>" + "".join(rows) + "</table>")


def run_stage(quick: bool = False) -> dict:
    path = build_dashboard()
    return {"index_html": shown(path)}
