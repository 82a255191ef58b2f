"""Conformance run: ECON-T input words → decode → golden integer model → formatter → eTx words,
compared word by word with the ECON-T emulator's ``testOutput.csv``; the same through the
generated RTL in Icarus; the deployed autoencoder's EMD on the same crossings.

Chain (each stage through its owner's public API):

1. decode — the kit's one vector loader, ``econt.data.vectors.load_econt_vectors(...,
   order="chip")``, with the chip's in-word cell order, mux, float-to-fixed and calibration
   (:mod:`.config`) → CALQ in the chip's mux-output order;
2. encoder — ``econt.model.integer.IntegerEncoder(weights, arithmetic="chip")
   .encode_calq(calq, calq_order="chip")``: hardware normalisation (MSB of the module sum),
   8x8 raster placement, conv/dense with the chip's truncating arithmetic, 9-bit latents and
   the 9-bit module-sum code;
3. formatter — :func:`.formatter.format_frames` (BX counter, module sum, mask-selected latents,
   eTx links).

The RTL run replaces step 2 by the rtl stage's ``build/rtl/econt_chip`` design (through
``build/rtl/index.json``, :mod:`econt.rtl.index`) + ``econt.verify.sim.simulate`` (Icarus via
cocotb); the formatter stays in Python there (the generated design stops at the latent and
module-sum outputs).

Divergence diagnosis (the emulator's outputs expose the BX counter, the module-sum code and the
transmitted latent bits): a wrong BX counter → formatter; a wrong module sum → decode (the sum of
the decoded, calibrated charges; it also fixes the normalisation shift); right sum but wrong
latent bits → encoder input or encoder (the run also tries the other ePortRX in-word order and
names "decode (cell order)" when that fixes the crossing); every field right but a word wrong →
formatter.
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from econt.data.dataset import Dataset
from econt.data.vectors import chip_to_cells, load_econt_vectors
from econt.errors import DataError, StageError
from econt.summary import merge_json
from econt.paths import reports_dir, shared_path, work_dir
from econt.verify.conformance.config import EcontChipConfig, load_chip_config
from econt.verify.conformance.formatter import (
    MAX_ETX,
    bx_counter,
    decode_frames,
    format_frames,
)

#: The shared configurations, ``../shared/econt-vectors/<name>/``.
SHARED_CONFIGS = ("AE_8x8_c8_S2_ele_qkeras", "AE")
RESET_HEADER = 0x9


@dataclass(frozen=True)
class ConformanceCase:
    """One configuration with its vectors."""

    name: str
    init_yaml: Path
    inputs: Path            # testInput.csv: 12 ePortRX words per crossing (hex)
    expected: Path          # testOutput.csv: 13 eTx words per crossing (hex)
    encoder_hdf5: Optional[Path] = None
    decoder_hdf5: Optional[Path] = None


def shared_cases(names: tuple[str, ...] = SHARED_CONFIGS) -> list[ConformanceCase]:
    """The shared vector sets; raises :class:`DataError` when ``../shared`` is absent."""
    root = shared_path("econt-vectors")
    if root is None or not root.is_dir():
        raise DataError("shared reference data econt-vectors/ not found (../shared or ECONT_SHARED); "
                        "the conformance run needs the ECON-T test vectors.")
    cases = []
    for n in names:
        d = root / n
        if not d.is_dir():
            raise DataError(f"{d}: configuration folder missing from the shared vectors.")
        cases.append(ConformanceCase(
            name=n, init_yaml=d / "init.yaml", inputs=root / "testInput.csv", expected=d / "testOutput.csv",
            encoder_hdf5=(d / "encoder.hdf5") if (d / "encoder.hdf5").is_file() else None,
            decoder_hdf5=(d / "decoder.hdf5") if (d / "decoder.hdf5").is_file() else None))
    return cases


def read_hex_words(path: str | Path, columns: int, limit: Optional[int] = None) -> np.ndarray:
    """A CSV of 32-bit hex words with a header row → ``(N, columns)`` int64."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    rows: list[list[int]] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or len(header) != columns:
            raise DataError(f"{path}: line 1: expected a header of {columns} column names, got {header!r}.")
        for lineno, row in enumerate(reader, start=2):
            if limit is not None and len(rows) >= limit:
                break
            if not row:
                continue
            if len(row) != columns:
                raise DataError(f"{path}: line {lineno}: expected {columns} hex words, got {len(row)}.")
            try:
                vals = [int(x, 16) for x in row]
            except ValueError as exc:
                raise DataError(f"{path}: line {lineno}: not a hex word ({exc}). Each field is 8 hex digits.") from exc
            if any(v < 0 or v > 0xFFFFFFFF for v in vals):
                raise DataError(f"{path}: line {lineno}: words must be 32-bit.")
            rows.append(vals)
    return np.asarray(rows, dtype=np.int64).reshape(-1, columns)


@dataclass
class ChainTrace:
    """Intermediate values of one run of the chain."""

    calq: np.ndarray        # (N, 48) chip (mux-output) order
    bx_cnt: np.ndarray      # (N,)
    modsum: np.ndarray      # (N,) 9-bit code
    latents: np.ndarray     # (N, 16) 9-bit codes
    words: np.ndarray       # (N, 13) uint32


def decode_inputs(inputs: str | Path, chip: EcontChipConfig, n: Optional[int] = None) -> Dataset:
    """The first ``n`` crossings of ``inputs`` through this chip's input block, in the chip's own
    CALQ order (the one loader, :func:`econt.data.vectors.load_econt_vectors`, asked for it)."""
    return load_econt_vectors(inputs, input_config=chip.input_config(), order="chip", limit=n)


def bx_for_inputs(vectors: Dataset) -> np.ndarray:
    """The BX counter of each crossing: reset where input word 0 carries the reset header."""
    resets = np.flatnonzero(np.asarray(vectors.meta["header"]) == RESET_HEADER)
    return bx_counter(len(vectors), resets)


def golden_encode(chip: EcontChipConfig, calq_chip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chip's autoencoder block on CALQ in the chip's order → (latents (N,16), modsum code (N,))."""
    from econt.model.integer import IntegerEncoder

    lat, ms = IntegerEncoder(chip.weights, arithmetic="chip").encode_calq(np.asarray(calq_chip, np.int64),
                                                                          calq_order="chip")
    return np.asarray(lat, np.int64), np.asarray(ms, np.int64)


def golden_chain(inputs: str | Path, chip: EcontChipConfig, n: Optional[int] = None) -> ChainTrace:
    """The chip's chain on the first ``n`` crossings of the ePortRX words file ``inputs``."""
    vectors = decode_inputs(inputs, chip, n)
    calq = np.asarray(vectors.charges, np.int64)
    lat, ms = golden_encode(chip, calq)
    bx = bx_for_inputs(vectors)
    out = format_frames(bx, ms, lat, chip.formatter_mask, chip.n_etx)
    return ChainTrace(calq, bx, ms, lat, out)


@dataclass
class Mismatch:
    crossing: int
    word: int
    expected: int
    got: int
    stage: str
    detail: str

    def line(self) -> str:
        return (f"crossing {self.crossing} TX_DATA_{self.word}: expected {self.expected:08x} got {self.got:08x} "
                f"— first divergent stage: {self.stage} ({self.detail})")


def _alternate_order_latents(inputs: Path, chip: EcontChipConfig, rows: np.ndarray) -> np.ndarray:
    from dataclasses import replace

    other = "lsb_first" if chip.cell_order == "msb_first" else "msb_first"
    alt = replace(chip, cell_order=other)
    calq = decode_inputs(inputs, alt, int(rows.max()) + 1).charges[rows]
    lat, _ = golden_encode(alt, np.asarray(calq, np.int64))
    return lat


def diagnose(expected: np.ndarray, trace: ChainTrace, chip: EcontChipConfig, inputs: str | Path,
             max_report: int = 20) -> tuple[list[Mismatch], dict[str, int]]:
    """Per mismatching crossing, the first stage whose observable output differs (``inputs``: the
    ePortRX words file of ``trace``, re-decoded with the other in-word order for the diagnosis)."""
    exp = decode_frames(expected, chip.formatter_mask, chip.n_etx)
    bad_rows = np.flatnonzero((expected != trace.words).any(axis=1))
    stage_counts: dict[str, int] = {}
    mismatches: list[Mismatch] = []
    known = exp.latent_known_bits
    got_bits = trace.latents & known
    exp_bits = exp.latent_partial
    lat_bad = (got_bits != exp_bits).any(axis=1)
    alt_ok = np.zeros(len(expected), dtype=bool)
    cand = bad_rows[(exp.bx_cnt[bad_rows] == trace.bx_cnt[bad_rows]) & (exp.modsum[bad_rows] == trace.modsum[bad_rows])
                    & lat_bad[bad_rows]]
    if cand.size:
        alt = _alternate_order_latents(inputs, chip, cand)
        alt_ok[cand] = ((alt & known[cand]) == exp_bits[cand]).all(axis=1)
    for i in bad_rows:
        if exp.bx_cnt[i] != trace.bx_cnt[i]:
            stage, detail = "formatter", f"BX counter expected {exp.bx_cnt[i]} got {trace.bx_cnt[i]}"
        elif exp.modsum[i] != trace.modsum[i]:
            stage, detail = "decode", (f"module-sum code expected {exp.modsum[i]} got {trace.modsum[i]} "
                                       f"(Σ decoded CALQ = {int(trace.calq[i].sum())})")
        elif lat_bad[i]:
            diff = [k for k in range(16) if got_bits[i, k] != exp_bits[i, k]]
            k = diff[0]
            if alt_ok[i]:
                stage = "decode"
                detail = (f"cell order: the other ePortRX in-word order reproduces the latents; latent {k} "
                          f"bits expected {exp_bits[i, k]} got {got_bits[i, k]}")
            else:
                stage = "encoder"
                detail = (f"module sum agrees (so the normalisation shift does); latents {diff} differ, "
                          f"latent {k}: transmitted bits {known[i, k]:09b} expected {exp_bits[i, k]} got {got_bits[i, k]}")
        elif not exp.pad_ok[i]:
            stage, detail = "formatter", "expected words carry data on links beyond n_etx"
        else:
            stage, detail = "formatter", "BX, module sum and transmitted latent bits agree; framing differs"
        stage_counts[stage] = stage_counts.get(stage, 0) + 1
        for w in np.flatnonzero(expected[i] != trace.words[i]):
            if len(mismatches) < max_report:
                mismatches.append(Mismatch(int(i), int(w), int(expected[i, w]), int(trace.words[i, w]), stage, detail))
    return mismatches, stage_counts


def compare(expected: np.ndarray, trace: ChainTrace, chip: EcontChipConfig, inputs: str | Path,
            max_report: int = 20) -> dict[str, Any]:
    eq = expected == trace.words
    mism, stages = diagnose(expected, trace, chip, inputs, max_report)
    return {"crossings": int(len(expected)), "words_compared": int(eq.size), "words_matching": int(eq.sum()),
            "crossings_matching": int(eq.all(axis=1).sum()), "first_divergent_stage": stages,
            "mismatches": [m.line() for m in mism]}


def i2c_check(case: ConformanceCase) -> dict[str, Any]:
    """Export ``encoder.hdf5`` with the kit (``econt.export``) and compare with ``init.yaml`` field by field."""
    if case.encoder_hdf5 is None:
        return {"available": False, "reason": f"{case.name}: no encoder.hdf5"}
    from econt.export import compare_i2c, deployed_float_weights, quantise_deployed, to_i2c_image
    from econt.model.config import load_encoder_config

    w = quantise_deployed(deployed_float_weights(case.encoder_hdf5), load_encoder_config(), rounding="floor")
    # the shared images were generated input-major (Keras order): econt.export.i2c docstring
    cmp = compare_i2c({"Encoder": to_i2c_image(w, dense_order="keras")}, case.init_yaml)
    return {"available": True, "fields": cmp["fields"], "fields_matching": cmp["fields_matching"],
            "match": cmp["fields"] == cmp["fields_matching"], "rounding": "floor", "dense_order": "keras",
            "differences": cmp["differences"][:10]}


def rtl_encode(chip: EcontChipConfig, calq_chip: np.ndarray, work: Path, rtl_config: str = "econt_chip",
               weights_mode: str = "registers") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Latents and module sum from the generated RTL (chip arithmetic) simulated in Icarus.

    ``weights_mode="registers"`` (default): the rtl stage's reconfigurable chip-arithmetic design
    ``build/rtl/<rtl_config>`` (read through ``build/rtl/index.json``, not regenerated), loaded with
    the init.yaml weights through its I2C-mapped register port (one write per (block, byte) of the
    image) before streaming — the chip's own register image, unchanged. ``"hardwired"``: a what-if
    design with the init.yaml weights generated in as constants (generated here into ``work``: the
    rtl stage has no design for one particular weight set).
    """
    from econt.rtl.config import load_rtl_config, rtl_config_path
    from econt.rtl.generator import generate_design
    from econt.rtl.index import indexed_design
    from econt.verify.sim import StreamChunk, simulate

    if weights_mode not in ("hardwired", "registers"):
        raise StageError(f"weights_mode must be 'hardwired' or 'registers', got {weights_mode!r}.")
    if weights_mode == "registers":
        design = indexed_design(rtl_config)
        if design.manifest["arithmetic"] != "chip" or design.manifest["weights"] != "reconfigurable":
            raise StageError(f"build/rtl/{rtl_config}: arithmetic {design.manifest['arithmetic']!r}, weights "
                             f"{design.manifest['weights']!r}; the conformance run needs a reconfigurable design with "
                             "the chip's arithmetic (configs/rtl/econt_chip.yaml).")
    else:
        from econt.export import save_weights_json

        wfile = save_weights_json(chip.weights, Path(work) / "init_weights.json")
        cfg = load_rtl_config(rtl_config_path(rtl_config),
                              overrides={"weights": "hardwired", "hardwired_weights": str(wfile)})
        design = generate_design(cfg, work / f"design_{weights_mode}")
    calq_cells = chip_to_cells(np.asarray(calq_chip, np.int64))
    t0 = time.perf_counter()

    # the simulator's own golden check uses the design's arithmetic (chip) on the same cells
    res = simulate(design, [chip.weights], [StreamChunk(0, calq_cells, label="conformance")],
                   work / f"sim_{weights_mode}")
    info = {"design": str(design.path), "rtl_config": rtl_config, "arithmetic": "chip", "weights_mode": weights_mode,
            "rtl_vs_golden_value_mismatches": int(res.mismatches), "sim_wall_seconds": round(time.perf_counter() - t0, 2),
            "formatter": "python (econt.verify.conformance.formatter); the design stops at latents + module sum"}
    return np.asarray(res.outputs_latent, np.int64), np.asarray(res.outputs_modsum, np.int64), info


def emd_baseline(case: ConformanceCase, chip: EcontChipConfig, calq_chip: np.ndarray, latents_chip: np.ndarray
                 ) -> dict[str, Any]:
    """EMD of the deployed autoencoder on these crossings (needs ``decoder.hdf5``).

    Two latent sources: ``chip`` — the latents the chip computes with this init.yaml (all 16, golden
    model; they equal the transmitted bits where those exist); ``model`` — the deployed encoder's own
    dense matrix (init.yaml read input-major, i.e. what a chip-order export would program), same
    chip arithmetic. Input = decoded CALQ, output = decoder(latent/2**8); both sum-normalised in
    ``econt.emd.exact``; crossings with an empty side give NaN and are excluded.
    """
    if case.decoder_hdf5 is None:
        return {"available": False, "reason": f"{case.name}: no decoder.hdf5 in the shared folder"}
    import econt  # noqa: F401  (TF env before TensorFlow)
    from econt.emd.exact import emd_batch
    from econt.export import from_i2c_image
    from econt.model.integer import IntegerEncoder
    from econt.model.qkeras_model import load_deployed_decoder

    decoder, cfg = load_deployed_decoder(case.decoder_hdf5)
    cells_in = chip_to_cells(np.asarray(calq_chip, np.int64)).astype(np.float64)
    keras_w = from_i2c_image(case.init_yaml, dense_order="keras")
    lat_model, _ = IntegerEncoder(keras_w, arithmetic="chip").encode_calq(np.asarray(calq_chip, np.int64),
                                                                         calq_order="chip")
    out: dict[str, Any] = {"available": True, "crossings": int(len(calq_chip)),
                           "note": "input = decoded CALQ in cell order (empty cells decode to 4, not 0); "
                                   "flat_map = EMD(input, uniform 48-cell map) as the no-information reference"}
    flat = emd_batch(cells_in, np.ones_like(cells_in), workers=2)
    out["flat_map"] = {"emd_mean": float(np.nanmean(flat)), "emd_median": float(np.nanmedian(flat))}
    scale = float(1 << cfg.latent_frac)
    per_pair = {"flat_map": flat}
    for label, lat in (("chip", latents_chip), ("model", lat_model)):
        rec = np.asarray(decoder.predict(np.asarray(lat, np.float64) / scale, verbose=0, batch_size=1024), np.float64)
        rec = np.clip(rec, 0.0, None)
        d = emd_batch(cells_in, rec, workers=2)
        ok = ~np.isnan(d)
        per_pair[label] = d
        out[label] = {"emd_mean": float(np.mean(d[ok])), "emd_median": float(np.median(d[ok])),
                      "emd_p90": float(np.percentile(d[ok], 90)), "pairs": int(ok.sum()), "nan_pairs": int((~ok).sum())}
    out["_per_pair"] = per_pair       # popped by run_case (plotted, not written to JSON)
    return out


def plot_emd(name: str, per_pair: dict[str, np.ndarray], out_dir: Path) -> Path:
    """Histogram of the per-crossing EMD for the latent sources and the flat-map reference; caption recorded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    labels = {"chip": "chip latents (init.yaml as the chip reads it)", "model": "deployed encoder matrix (chip arithmetic)",
              "flat_map": "flat 48-cell map (reference)"}
    hi = max(float(np.nanmax(v)) for v in per_pair.values())
    bins = np.linspace(0.0, hi * 1.02, 60)
    for key in ("flat_map", "model", "chip"):
        v = per_pair[key][~np.isnan(per_pair[key])]
        ax.hist(v, bins=bins, histtype="step", lw=1.6, label=f"{labels[key]}: mean {v.mean():.2f}")
    ax.set_xlabel("EMD(input, reconstruction)  [neighbouring cells = 2]")
    ax.set_ylabel("crossings")
    ax.set_title(f"{name}: decoder.hdf5 on {len(next(iter(per_pair.values())))} ECON-T test crossings")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / f"emd_{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    cap_file = out_dir / "captions.json"
    caps = json.loads(cap_file.read_text()) if cap_file.is_file() else {}
    caps[path.name] = (f"Exact EMD between the decoded ECON-T input (testInput.csv, {name} configuration) and the "
                       "deployed decoder's reconstruction, per crossing: from the latents the chip computes with this "
                       "init.yaml, from the deployed encoder's own dense matrix, and a flat-map reference.")
    cap_file.write_text(json.dumps(caps, indent=1, sort_keys=True) + "\n")
    return path


def run_case(case: ConformanceCase, n: Optional[int] = None, rtl: bool = True, emd: bool = True,
             work: Optional[Path] = None, max_report: int = 20, rtl_weights: str = "registers",
             chip_overrides: Optional[dict[str, Any]] = None, plot_dir: Optional[Path] = None) -> dict[str, Any]:
    """One configuration. ``chip_overrides`` (``n_etx``, ``cell_order``) go to :func:`load_chip_config`
    — a what-if to see how the comparison and the divergence diagnosis react."""
    t0 = time.perf_counter()
    chip = load_chip_config(case.init_yaml, **(chip_overrides or {}))
    if chip.algorithm_select != 4:
        raise StageError(f"{case.init_yaml}: algorithm {chip.algorithm_select} ({chip.algorithm_name}) selected; "
                         "the conformance run covers the autoencoder (4).")
    expected = read_hex_words(case.expected, MAX_ETX, n)
    trace = golden_chain(case.inputs, chip, n)
    if len(trace.calq) != len(expected):
        raise DataError(f"{case.inputs} has {len(trace.calq)} crossings but {case.expected} has {len(expected)}.")
    res: dict[str, Any] = {"config": case.name, "init_yaml": str(case.init_yaml), "chip": chip.summary(),
                           "crossings": int(len(trace.calq))}
    g = compare(expected, trace, chip, case.inputs, max_report)
    res["golden"] = g
    res["i2c"] = i2c_check(case)
    if rtl:
        work = work or work_dir("conformance", case.name)
        lat, ms, info = rtl_encode(chip, trace.calq, work, weights_mode=rtl_weights)
        rtl_trace = ChainTrace(trace.calq, trace.bx_cnt, ms, lat,
                               format_frames(trace.bx_cnt, ms, lat, chip.formatter_mask, chip.n_etx))
        r = compare(expected, rtl_trace, chip, case.inputs, max_report)
        r.update(info)
        r["latents_equal_golden"] = int((lat == trace.latents).all(axis=1).sum())
        res["rtl"] = r
    if emd:
        e = emd_baseline(case, chip, trace.calq, trace.latents)
        per_pair = e.pop("_per_pair", None)
        if per_pair is not None and plot_dir is not None:
            e["plot"] = str(plot_emd(case.name, per_pair, Path(plot_dir)))
        res["emd"] = e
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res




def run_conformance(n: Optional[int] = None, rtl: bool = True, emd: bool = True,
                    cases: Optional[list[ConformanceCase]] = None, out_dir: Optional[Path] = None,
                    progress: bool = True, chip_overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Run every case; write ``reports/conformance/summary.json`` (merged) and return it."""
    from tqdm import tqdm

    from econt.config import write_resolved_config

    cases = cases if cases is not None else shared_cases()
    out_dir = Path(out_dir) if out_dir else reports_dir("conformance")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"configs": {}}
    for case in tqdm(cases, desc="conformance", unit="config", disable=not progress):
        r = run_case(case, n=n, rtl=rtl, emd=emd, chip_overrides=chip_overrides, plot_dir=out_dir)
        entry = {
            "crossings": r["crossings"],
            "golden": {k: r["golden"][k] for k in ("words_compared", "words_matching", "crossings_matching",
                                                   "first_divergent_stage")},
            "i2c_fields": r["i2c"].get("fields"), "i2c_fields_matching": r["i2c"].get("fields_matching"),
            "i2c_match": r["i2c"].get("match"),
            "n_etx": r["chip"]["eTx_links"], "ePortRX_cell_order": r["chip"]["ePortRX_cell_order"],
            "seconds": r["seconds"],
        }
        if "rtl" in r:
            entry["rtl"] = {k: r["rtl"][k] for k in ("words_compared", "words_matching", "crossings_matching",
                                                     "first_divergent_stage", "arithmetic", "weights_mode",
                                                     "latents_equal_golden", "sim_wall_seconds", "formatter")}
        if "emd" in r:
            entry["emd"] = r["emd"]
        summary["configs"][case.name] = entry
        (out_dir / f"{case.name}.json").write_text(json.dumps(r, indent=1, sort_keys=True, default=str) + "\n")
    # flat headline figures for the dashboard: "<config>.<figure>" → number
    head: dict[str, Any] = {}
    for name, c in summary["configs"].items():
        head[f"{name}.crossings"] = c["crossings"]
        for src in ("golden", "rtl"):
            if src in c:
                head[f"{name}.{src}_words_compared"] = c[src]["words_compared"]
                head[f"{name}.{src}_words_matching"] = c[src]["words_matching"]
        head[f"{name}.i2c_fields_matching"] = c["i2c_fields_matching"]
        if c.get("emd", {}).get("available"):
            head[f"{name}.emd_mean_chip_latents"] = round(c["emd"]["chip"]["emd_mean"], 4)
            head[f"{name}.emd_mean_deployed_model"] = round(c["emd"]["model"]["emd_mean"], 4)
            head[f"{name}.emd_mean_flat_map"] = round(c["emd"]["flat_map"]["emd_mean"], 4)
    summary["headline"] = head
    summary["all_words_match_golden"] = all(c["golden"]["words_matching"] == c["golden"]["words_compared"]
                                            for c in summary["configs"].values())
    if rtl:
        summary["all_words_match_rtl"] = all(c["rtl"]["words_matching"] == c["rtl"]["words_compared"]
                                             for c in summary["configs"].values())
    write_resolved_config(out_dir, {"crossings": n, "rtl": rtl, "emd": emd, "chip_overrides": chip_overrides or {},
                                    "cases": [c.name for c in cases]}, seed=0)
    merge_json(out_dir / "summary.json", summary)
    return summary


def run_stage(quick: bool = False, rtl: bool = True, emd: bool = True) -> dict[str, Any]:
    """``make all`` entry: the full orbit (3,564 crossings) per shared configuration; ``quick`` → 200."""
    return run_conformance(n=200 if quick else None, rtl=rtl, emd=emd)
