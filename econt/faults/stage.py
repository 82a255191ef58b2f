"""``econt faults rank``: exhaustive single-upset ranking of every exported weight set.

Weight sets: every ``build/export*/<name>/<region>/weights.json`` whose source model folder
(``meta.source_model``) holds the trained decoder; without any, the shared deployed ECON-T
autoencoder (its ``init.yaml`` and ``decoder.hdf5``). Evaluation set: the first real ECON-T
crossings (``econt.data.vectors``) plus synthetic test events (the data stage's ``test.npz``,
else freshly generated), empty events dropped, normalised as the chip does
(``normalise_hw``). Outputs in ``reports/faults/``: ``summary.json``, ``ranking.csv`` (union
ranking), per weight set ``<set>/ranking.json``, ``protection_mask.json`` (union, chosen by
the EMD budget) and the plots.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from econt.config import write_resolved_config
from econt.errors import DataError
from econt.faults.bits import LAYER_IDS, bit_map
from econt.faults.ranking import agreement, protection_curve, select_protected, taylor_estimate, write_mask
from econt.faults.scan import exhaustive_scan
from econt.model.integer import IntegerWeights
from econt.paths import reports_dir, shared_path, shown, work_dir
from econt.summary import merge_json


@dataclass
class WeightSet:
    name: str
    weights: IntegerWeights
    decoder_model: Any
    source: str


def find_weight_sets(build: Path | None = None) -> list[tuple[str, Path]]:
    """(name, weights.json) of every export under ``build/export*`` (default build/)."""
    build = Path(build) if build else work_dir()
    found = []
    for root in sorted(p for p in build.glob("export*") if p.is_dir()):
        for wj in sorted(root.rglob("weights.json")):
            found.append((f"{root.name}/{wj.parent.relative_to(root).as_posix()}", wj))
    return found


def load_weight_sets(build: Path | None = None) -> list[WeightSet]:
    from econt.export.weights_json import load_weights_json
    from econt.model.qkeras_model import load_decoder

    sets = []
    for name, wj in find_weight_sets(build):
        w = load_weights_json(wj)
        src = w.meta.get("source_model")
        if not src or not (Path(src) / "decoder.weights.h5").is_file():
            raise DataError(f"{wj}: meta.source_model ({src!r}) holds no decoder.weights.h5; the fault ranking needs "
                            "the trained decoder. Re-export from the training stage's model folder.")
        dec, _ = load_decoder(src)
        sets.append(WeightSet(name, w, dec, str(wj)))
    if sets:
        return sets
    from econt.export.i2c import from_i2c_image
    from econt.model.config import load_encoder_config
    from econt.model.qkeras_model import load_deployed_decoder

    folder = shared_path("econt-vectors", "AE_8x8_c8_S2_ele_qkeras")
    if folder is None:
        raise DataError("no exported weight sets under build/export* and no shared deployed model; run "
                        "`econt train` and `econt export` first.")
    cfg = load_encoder_config()
    # the deployed image was written input-major (econt.export.i2c): read it that way to get the
    # encoder its decoder was trained with
    w = from_i2c_image(folder / "init.yaml", cfg, region="deployed", dense_order="keras")
    dec, _ = load_deployed_decoder(folder, cfg)
    return [WeightSet("deployed/AE_8x8_c8_S2_ele_qkeras", w, dec, str(folder / "init.yaml"))]


def evaluation_set(n_real: int, n_synthetic: int, seed: int, input_bits: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(charges (N, 48), input codes (N, 48), info): real ECON-T crossings + synthetic test events."""
    from econt.data.dataset import Dataset
    from econt.data.normalise import normalise_hw
    from econt.data.vectors import shared_econt_vectors

    parts, info = [], {}
    if n_real:
        real = shared_econt_vectors(order="cells", drop_empty=True)
        if real is None:
            raise DataError("the real ECON-T vectors (../shared/econt-vectors) are absent; pass --real 0 to rank on "
                            "synthetic events only.")
        parts.append(np.asarray(real.charges)[:n_real])
        info["real"] = {"source": real.source, "events": len(parts[-1])}
    if n_synthetic:
        test = work_dir("data") / "test.npz"
        if test.is_file():
            ds, src = Dataset.load(test), str(test)
        else:
            from econt.data.synthetic import generate

            ds, src = generate(n_synthetic, seed=seed), f"econt.data.synthetic.generate(seed={seed})"
        ch = np.asarray(ds.charges)
        ch = ch[ch.sum(axis=1) > 0][:n_synthetic]
        parts.append(ch)
        info["synthetic"] = {"source": src, "events": len(ch)}
    charges = np.rint(np.concatenate(parts)).astype(np.int64)
    charges = charges[charges.sum(axis=1) > 0]
    codes, _, _ = normalise_hw(charges, input_bits)
    info["events"] = len(charges)
    return charges.astype(np.float64), codes, info


def _decoder_fn(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    def run(z: np.ndarray) -> np.ndarray:
        out = model.predict(np.asarray(z, dtype=np.float32), batch_size=16384, verbose=0)
        return np.asarray(out, dtype=np.float64).reshape(len(z), -1)
    return run


def layer_maps(weights: IntegerWeights, loss_pct: np.ndarray) -> dict[str, np.ndarray]:
    """Per layer, (code index…, bit) arrays of the EMD loss % (the worst bit per weight in the plots)."""
    m = bit_map(weights.cfg)
    out = {}
    for name, lid in LAYER_IDS.items():
        sel = np.flatnonzero(m.layer == lid)
        arr = np.zeros((getattr(weights, name).size, weights.layer_format(name)[0]))
        arr[m.flat[sel], m.bit[sel]] = loss_pct[sel]
        out[name] = arr
    return out


def _plots(out: Path, curves: dict[str, dict], union_loss: np.ndarray, maps: dict[str, np.ndarray],
           cfg: Any, budget: float) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, c in curves.items():
        ax.plot(c["fraction_protected"], c["worst_loss_pct"], label=f"worst, {name}")
        ax.plot(c["fraction_protected"], c["mean_loss_pct"], ls="--", label=f"mean, {name}")
    ax.axhline(budget, color="k", lw=0.8, ls=":", label=f"budget {budget:g} %")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("fraction of configuration bits protected (most costly first)")
    ax.set_ylabel("EMD loss from one upset in an unprotected bit (% of mean EMD)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "protection_curve.png", dpi=120)
    plt.close(fig)
    files.append("protection_curve.png")
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 0.3, 2, 0.3]})
    shapes = {"conv_w": (cfg.conv_kernel ** 2, cfg.conv_filters), "conv_b": (1, cfg.conv_filters),
              "dense_w": (cfg.flat_dim, cfg.latent_dim), "dense_b": (1, cfg.latent_dim)}
    for ax, (name, arr) in zip(axes, maps.items()):
        worst = arr.max(axis=1).reshape(shapes[name])
        im = ax.imshow(worst if name != "dense_w" else worst.T, aspect="auto", cmap="magma")
        ax.set_title(f"{name}: worst bit, % of mean EMD", fontsize=8)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "layer_maps.png", dpi=120)
    plt.close(fig)
    files.append("layer_maps.png")
    return files


def run_rank(build: Path | None = None, out: Path | None = None, n_real: int = 1000, n_synthetic: int = 1000,
             budget_pct: float = 1.0, seed: int = 0, workers: int = 2, cheap: bool = True,
             progress: bool = True) -> dict[str, Any]:
    """Rank every exported weight set, write the union mask and the reports; returns the summary."""
    t0 = time.perf_counter()
    out = Path(out) if out else reports_dir("faults")
    out.mkdir(parents=True, exist_ok=True)
    sets = load_weight_sets(build)
    cfg = sets[0].weights.cfg
    if any(s.weights.cfg.hash() != cfg.hash() for s in sets):
        raise DataError("exported weight sets of different architectures: rank them separately (--build).")
    charges, codes, eval_info = evaluation_set(n_real, n_synthetic, seed, cfg.input_frac + 1)
    n_bits = bit_map(cfg).n_bits
    per_set: dict[str, Any] = {}
    losses, curves, masks = [], {}, []
    for s in sets:
        ts = time.perf_counter()
        res = exhaustive_scan(s.weights, codes, charges, _decoder_fn(s.decoder_model), workers=workers,
                              progress=progress)
        scan_s = time.perf_counter() - ts
        loss = res.loss_pct
        entry: dict[str, Any] = {
            "source": s.source, "arithmetic": s.weights.cfg.arithmetic, "mean_emd": res.mean_emd,
            "scan_seconds": round(scan_s, 1), "latents_scored": res.latents_scored,
            "bits_changing_any_event": int((res.events_changed > 0).sum()),
            "worst_single_upset_emd_loss_pct": float(loss.max()),
            "mean_single_upset_emd_loss_pct": float(np.clip(loss, 0, None).mean()),
        }
        mask = select_protected(loss, budget_pct)
        entry["protected_bits_own_mask"] = int(len(mask))
        if cheap:
            tc = time.perf_counter()
            est = taylor_estimate(s.weights, codes, charges, s.decoder_model)
            entry["cheap_seconds"] = round(time.perf_counter() - tc, 1)
            entry["ranking_agreement"] = agreement(res.delta_mean_emd, est)
        folder = out / s.name.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ranking.json").write_text(json.dumps({
            "weights": s.source, "mean_emd": res.mean_emd, "n_events": res.n_events,
            "delta_mean_emd": res.delta_mean_emd.tolist(), "loss_pct": loss.tolist(),
            "events_changed": res.events_changed.tolist(),
            **({"taylor_delta_mean_emd": est.tolist()} if cheap else {})}) + "\n")
        write_mask(folder / "protection_mask.json", mask, n_bits, budget_pct=budget_pct, weights=s.source)
        per_set[s.name] = entry
        losses.append(loss)
        masks.append(set(mask.tolist()))
        curves[s.name] = protection_curve(loss)
    loss_all = np.max(np.stack(losses), axis=0)       # the worst over every weight set the chip may carry
    union = np.asarray(sorted(set().union(*masks)), dtype=np.int64)
    unprotected = np.setdiff1d(np.arange(n_bits), union)
    curves["union (worst over sets)"] = protection_curve(loss_all)
    mask_path = write_mask(out / "protection_mask.json", union, n_bits, budget_pct=budget_pct,
                           weight_sets=[s.source for s in sets], rule="union of per-set masks: protect a bit when its "
                           "single upset costs more than budget_pct % of the mean EMD for any weight set")
    order = np.argsort(-loss_all)
    m = bit_map(cfg)
    names = {v: k for k, v in LAYER_IDS.items()}
    with open(out / "ranking.csv", "w") as fh:
        fh.write("rank,bit,block,byte,bit_in_byte,layer,flat_index,code_bit,worst_loss_pct,protected\n")
        prot = set(union.tolist())
        for r, b in enumerate(order.tolist()):
            fh.write(f"{r},{b},{b // 1072},{(b % 1072) // 8},{b % 8},{names[int(m.layer[b])]},{m.flat[b]},"
                     f"{m.bit[b]},{loss_all[b]:.6g},{int(b in prot)}\n")
    config_flops = 3 * n_bits
    selective_flops = n_bits + 2 * len(union)
    worst_unprot = float(loss_all[unprotected].max()) if len(unprotected) else 0.0
    agreements = [e["ranking_agreement"] for e in per_set.values() if "ranking_agreement" in e]
    summary = {
        "bits_ranked": int(n_bits),
        "weight_sets": len(sets),
        "evaluation_set": eval_info,
        "budget_pct": budget_pct,
        "protected_bits": int(len(union)),
        "protected_fraction": len(union) / n_bits,
        "per_set_protected_bits": {k: v["protected_bits_own_mask"] for k, v in per_set.items()},
        "union_over_largest_per_set_mask": (len(union) / max(v["protected_bits_own_mask"] for v in per_set.values())
                                             if any(v["protected_bits_own_mask"] for v in per_set.values()) else 1.0),
        "worst_single_upset_emd_loss_pct": worst_unprot,
        "worst_single_upset_emd_loss_pct_unprotected_design": float(loss_all.max()),
        "mean_single_upset_emd_loss_pct": float(np.clip(loss_all[unprotected], 0, None).mean()) if len(unprotected) else 0.0,
        "selective_config_flops": selective_flops,
        "tmr_config_flops": config_flops,
        "selective_over_tmr_config_flops": selective_flops / config_flops,
        "target_met": bool(selective_flops <= 0.5 * config_flops and worst_unprot <= budget_pct),
        "ranking_agreement": ({k: float(np.mean([a[k] for a in agreements])) for k in agreements[0]}
                              if agreements else None),
        "ranking_agreement_method": "first-order Taylor: gradient of mean exact EMD (dual potentials, QKeras STE) × Δw",
        "per_set": per_set,
        "curves": curves,
        "mask": shown(mask_path),
        "plots": _plots(out, curves, loss_all, layer_maps(sets[0].weights, loss_all), cfg, budget_pct),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_resolved_config(out, {"n_real": n_real, "n_synthetic": n_synthetic, "budget_pct": budget_pct,
                                "weight_sets": [s.source for s in sets]}, seed)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary
