"""SEU campaign on a ``tmr: selective`` design, scored against the fault ranking.

One Icarus stream of the evaluation set's charges (as CALQ) with the trained weights loaded:

* protected bits: ``n_protected`` single upsets of a random copy (``q_a`` bit, or
  ``g_bit[k].tmr.r_b|r_c``) of a random protected bit; the voter masks each and the refresh /
  gated repair removes it, so every output must equal the golden model's (0 corrupted);
* unprotected bits: the ``n_unprotected`` unprotected bits the ranking predicts worst, each upset
  for a window of ``window`` events (flipped back after it: the system's reload). The window's
  outputs are decoded with the trained decoder and scored with the exact EMD; the measured change
  of mean EMD (vs the golden outputs of the same events, % of the ranking's mean EMD) is compared
  with the ranking's prediction for that bit (Pearson correlation, max relative error; the ranking
  averages over the whole evaluation set, the window over events spread evenly across it), and with the integer
  model's change on the window's own events (must agree exactly: the RTL under the upset computes
  what the ranking's model computes).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from econt.rtl.generator import GeneratedDesign
from econt.verify.sim import StreamChunk, simulate


@dataclass
class SelectiveSeuResult:
    design: str
    protected_upsets: int
    protected_outputs_corrupted: int
    unprotected_bits: list[int]
    predicted_loss_pct: list[float]
    measured_loss_pct: list[float]
    window_events: int
    pearson: float
    max_rel_error: float
    #: the integer model with the bit flipped, decoded and scored on the window's own events (the
    #: ranking's method on the same events): the RTL under the upset must reproduce it exactly
    model_window_loss_pct: list[float]
    max_abs_diff_vs_model_pct: float
    samples: int
    sim_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _copy_path(bit: int, copy: str) -> tuple[str, int]:
    base = f"u_enc.u_cfg.g_byte[{bit // 8}]"
    return (f"{base}.q_a", bit % 8) if copy == "a" else (f"{base}.g_bit[{bit % 8}].tmr.r_{copy}", 0)


def image_bit(design: GeneratedDesign, weights: Any, bit: int) -> int:
    """The register-image bit that holds configuration bit ``bit`` of the ranking (econt.faults.bits
    order): the one image bit that changes when the bit is flipped. The ECON-T layout keeps the
    ranking's order; other layouts (e.g. the reduced encoder's test layout) permute it."""
    from econt.faults.bits import flip_bit
    from econt.rtl.arch import ArchSpec
    from econt.verify.sim import weights_flat

    lay = design.layout()
    a = design.manifest["arch"]
    spec = ArchSpec(**{k: v for k, v in a.items() if k in ArchSpec.__dataclass_fields__})

    def bits(w: Any) -> np.ndarray:
        return np.concatenate([((np.asarray(b)[:, None] >> np.arange(8)) & 1).reshape(-1)
                               for b in lay.params_to_image(weights_flat(w), spec)])
    diff = np.flatnonzero(bits(weights) != bits(flip_bit(weights, bit)))
    if len(diff) != 1:
        raise ValueError(f"configuration bit {bit} maps to {len(diff)} register-image bits of {design.path}")
    return int(diff[0])


def window_loss_pct(weights: Any, bit: int, calq: np.ndarray, charges: np.ndarray, decoder: Any,
                    arch: dict, mean_emd: float) -> float:
    """Change of mean exact EMD (% of ``mean_emd``) over these events when image bit ``bit`` of
    ``weights`` is flipped in the integer model (the golden arithmetic of the design)."""
    from econt.faults.bits import flip_bit
    from econt.faults.scan import score
    from econt.verify.sim import golden_encode

    frac = 2.0 ** weights.cfg.latent_frac
    ref, _ = golden_encode(weights, calq, arch)
    got, _ = golden_encode(flip_bit(weights, bit), calq, arch)
    return 100.0 * float(score(charges, decoder(got / frac)).mean() - score(charges, decoder(ref / frac)).mean()) / mean_emd


def run_selective_seu(design: GeneratedDesign, weights: Any, decoder: Any, charges: np.ndarray,
                      ranking: dict[str, Any], protected: np.ndarray, work: Path, n_protected: int = 1000,
                      n_unprotected: int = 8, window: int = 200, seed: int = 0) -> SelectiveSeuResult:
    """Run the campaign (see the module doc); ``ranking`` is a ``ranking.json`` of econt faults rank."""
    from econt.faults.scan import score

    rng = np.random.default_rng(seed)
    lat = int(design.manifest["latency_cycles"])
    calq_max = (1 << int(design.manifest["arch"]["calq_bits"])) - 1
    calq = np.clip(np.rint(charges), 0, calq_max).astype(np.int64)
    pred = np.asarray(ranking["loss_pct"], dtype=float)
    unprot = np.setdiff1d(np.arange(len(pred)), protected)
    worst = unprot[np.argsort(-pred[unprot])][:n_unprotected]
    spacing = lat + 2
    n_prot_cycles = n_protected * spacing + lat + 4
    # An upset at stream cycle c acts on the samples still in the pipeline (sample c - 1 and
    # later). A guard of ``spacing`` unscored samples lets every protected-phase sample leave the
    # pipeline before the first unprotected upset: without it the last protected-phase sample
    # was counted as a corrupted output of a protected bit when the first window's upset hit it.
    first_window = n_prot_cycles + spacing
    n_samples = first_window + len(worst) * (window + spacing)
    idx = np.arange(n_samples) % len(calq)
    if len(calq) < window + spacing:
        raise ValueError(f"window of {window} events needs at least {window + spacing} evaluation events, got {len(calq)}")
    events: list[dict] = []
    for i in range(n_protected):
        b = int(rng.choice(protected))
        path, bit = _copy_path(b, "abc"[int(rng.integers(3))])
        events.append({"cycle": lat + 2 + i * spacing, "path": path, "bit": bit, "target": "config"})
    windows = []
    prot_image = set(np.asarray(protected).tolist())
    spread = np.linspace(0, len(calq) - 1, window + spacing).round().astype(np.int64)   # the mask is in register-image order
    for j, b in enumerate(worst.tolist()):
        start = first_window + j * (window + spacing)
        # window events: spread evenly over the whole evaluation set (real and synthetic, as the
        # ranking's mean), the same events for every bit
        idx[start:start + window + spacing] = spread
        img = image_bit(design, weights, b)
        if img in prot_image:
            raise ValueError(f"ranking bit {b} (unprotected) is register-image bit {img}, which the mask protects: "
                             "the mask and the ranking use different bit orders")
        path, bit = _copy_path(img, "a")
        events.append({"cycle": start, "path": path, "bit": bit, "target": "config"})
        events.append({"cycle": start + window, "path": path, "bit": bit, "target": "config", "restore": True})
        # events whose every pipeline stage ran with the upset (fed after the flip, done before the restore)
        windows.append((start + 1, start + window - lat))
    res = simulate(design, [weights], [StreamChunk(0, calq[idx], "selective_seu", events)], Path(work))
    bad = res.outputs_latent != res.golden_latent
    bad = bad.reshape(len(bad), -1).any(axis=1) | (res.outputs_modsum != res.golden_modsum).reshape(len(bad), -1).any(axis=1)
    prot_bad = int(bad[:n_prot_cycles].sum())
    frac = 2.0 ** weights.cfg.latent_frac
    mean_emd = float(ranking["mean_emd"])
    measured = []
    for lo, hi in windows:
        ch = charges[idx[lo:hi]]
        got = score(ch, decoder(res.outputs_latent[lo:hi] / frac))
        ref = score(ch, decoder(res.golden_latent[lo:hi] / frac))
        measured.append(100.0 * float(got.mean() - ref.mean()) / mean_emd)
    model = [window_loss_pct(weights, b, calq[idx[lo:hi]], charges[idx[lo:hi]], decoder, design.manifest["arch"],
                             mean_emd) for b, (lo, hi) in zip(worst.tolist(), windows)]
    p, m = pred[worst], np.asarray(measured)
    pearson = float(np.corrcoef(p, m)[0, 1]) if len(p) > 1 and p.std() > 0 and m.std() > 0 else float("nan")
    rel = np.abs(m - p) / np.maximum(np.abs(p), 1e-12)
    return SelectiveSeuResult(design.manifest["name"], n_protected, prot_bad, worst.tolist(), p.tolist(),
                              m.tolist(), window, pearson, float(rel.max()) if len(rel) else float("nan"),
                              model, float(np.max(np.abs(m - np.asarray(model)))) if len(model) else float("nan"),
                              res.samples, float(res.wall_seconds))


def run_check(weight_set: str = "export__emd_cnn__global", mask: Path | None = None, out: Path | None = None,
              n_protected: int = 1000, n_unprotected: int = 8, window: int = 200, n_real: int = 1000,
              n_synthetic: int = 1000, cfg_storage: str = "refresh", seed: int = 0) -> dict[str, Any]:
    """Generate ``selective`` with ``mask`` (default: reports/faults/protection_mask.json, the union),
    run the campaign with ``weight_set``'s weights, decoder and ranking; writes
    ``reports/faults/seu_selective.json`` and merges ``seu_selective`` into summary.json."""
    import json

    from econt.errors import DataError
    from econt.faults.mask import load_mask
    from econt.faults.stage import evaluation_set, load_weight_sets, _decoder_fn
    from econt.paths import reports_dir, work_dir
    from econt.rtl.config import RtlConfig
    from econt.rtl.generator import generate_design
    from econt.summary import merge_json

    out = Path(out) if out else reports_dir("faults")
    mask = Path(mask) if mask else out / "protection_mask.json"
    rfile = out / weight_set / "ranking.json"
    if not rfile.is_file():
        have = sorted(p.parent.name for p in out.glob("*/ranking.json"))
        raise DataError(f"{rfile}: no ranking of weight set {weight_set!r}; run `econt faults rank` first or pass "
                        f"--weights one of {have}.")
    ranking = json.loads(rfile.read_text())
    ws = {s.name.replace("/", "__"): s for s in load_weight_sets()}
    s = ws.get(weight_set) or next((v for v in ws.values() if ranking["weights"] == v.source), None)
    if s is None:
        raise DataError(f"{rfile}: its weights {ranking['weights']!r} are no longer exported; re-run `econt faults rank`.")
    cfg = RtlConfig(name=f"econt_tmr_selective_{cfg_storage}", tmr="selective", protection_mask=mask,
                    cfg_storage=cfg_storage, arithmetic=s.weights.cfg.arithmetic)
    cfg.validate()
    design = generate_design(cfg, work_dir("rtl") / cfg.name)
    charges, _, _ = evaluation_set(n_real, n_synthetic, 0, s.weights.cfg.input_frac + 1)
    res = run_selective_seu(design, s.weights, _decoder_fn(s.decoder_model), charges, ranking,
                            load_mask(mask), work_dir("faults") / "seu" / cfg.name, n_protected, n_unprotected, window, seed)
    doc = {**res.to_dict(), "mask": str(mask), "weight_set": weight_set, "cfg_storage": cfg_storage,
           "config_flops": design.manifest["config_flops"], "protected_bits": design.manifest["protected_bits"]}
    (out / "seu_selective.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    merge_json(out / "summary.json", {"seu_selective": {k: doc[k] for k in (
        "protected_upsets", "protected_outputs_corrupted", "pearson", "max_rel_error", "window_events",
        "max_abs_diff_vs_model_pct",
        "config_flops", "protected_bits")}})
    return doc
