"""EMD-CNN evaluation: relative error overall and binned, plots, published peers, real vectors.

Relative error of a prediction is ``(pred − true) / true`` with ``true`` the exact EMD
(:mod:`econt.emd.exact`). Pairs whose exact EMD is NaN (empty vector) or below ``min_emd``
(relative error undefined) are excluded and counted (``n_excluded``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import econt  # noqa: F401
from econt.data.dataset import Dataset
from econt.data.vectors import shared_econt_vectors
from econt.emd.cnn import predict_emd
from econt.emd.exact import emd_batch
from econt.emd.pairs import KIND_AE, KIND_PAIR, PairSet
from econt.paths import shared_path

#: bins of the exact EMD (ground-distance units, neighbours 2 apart)
EMD_EDGES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, np.inf)
#: bins of the input module's occupancy (cells with charge)
OCC_EDGES = (1, 9, 17, 25, 33, 41, 49)
PEER_FILES = {"ae_mse": "ae_mse.h5", "pair_mse": "pair_mse.h5"}
DEPLOYED_AE = ("econt-vectors", "AE_8x8_c8_S2_ele_qkeras")


def rel_error(true: np.ndarray, pred: np.ndarray, min_emd: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """``(rel_err, used_mask)``: relative errors on pairs with finite true EMD >= ``min_emd``."""
    true = np.asarray(true, dtype=np.float64)
    used = np.isfinite(true) & (true >= min_emd) & np.isfinite(pred)
    return (pred[used] - true[used]) / true[used], used


def rel_error_stats(true: np.ndarray, pred: np.ndarray, min_emd: float = 1e-3) -> dict[str, float | int]:
    r, used = rel_error(true, pred, min_emd)
    return {
        "mean": float(r.mean()) if r.size else float("nan"),
        "std": float(r.std()) if r.size else float("nan"),
        "median_abs": float(np.median(np.abs(r))) if r.size else float("nan"),
        "n": int(used.sum()),
        "n_excluded": int((~used).sum()),
    }


def binned_stats(true: np.ndarray, pred: np.ndarray, values: np.ndarray, edges, min_emd: float = 1e-3) -> list[dict]:
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (values >= lo) & (values < hi)
        if m.any():
            s = rel_error_stats(true[m], pred[m], min_emd)
            out.append({"lo": float(lo), "hi": float(hi), **s})
    return out


def full_report(true: np.ndarray, pred: np.ndarray, occupancy: np.ndarray, min_emd: float = 1e-3) -> dict[str, Any]:
    return {
        "overall": rel_error_stats(true, pred, min_emd),
        "by_true_emd": binned_stats(true, pred, true, EMD_EDGES, min_emd),
        "by_occupancy": binned_stats(true, pred, occupancy, OCC_EDGES, min_emd),
    }


def inference_pairs_per_s(model, test: PairSet, batch_size: int = 8192) -> float:
    """Throughput of :func:`predict_emd` (arrangement + CNN) on the test pairs, after a warm-up."""
    predict_emd(model, test.a[:batch_size], test.b[:batch_size], batch_size)
    t0 = time.perf_counter()
    predict_emd(model, test.a, test.b, batch_size)
    return len(test) / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- peers / real vectors


def load_peer_models() -> dict[str, Any] | None:
    """The published EMD-CNNs from ``shared/peers/fastml-science-emd`` (None when absent)."""
    import tf_keras as keras

    folder = shared_path("peers", "fastml-science-emd")
    if folder is None:
        return None
    return {name: keras.models.load_model(folder / f, compile=False) for name, f in PEER_FILES.items() if (folder / f).is_file()}


def real_vector_inputs() -> Dataset | None:
    """The non-empty real ECON-T crossings in the kit's cell order (:mod:`econt.data.vectors`),
    decoded with the deployed autoencoder's ``init.yaml``; None when ../shared lacks them."""
    return shared_econt_vectors(order="cells", config=DEPLOYED_AE[1], drop_empty=True)


def _deployed_reconstruction() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]] | str:
    """(inputs, reconstructed cells, decoded 8x8 images, latents, info) of the real vectors through
    the shared deployed autoencoder, or a string saying why they are unavailable."""
    import tf_keras as keras

    from econt.data.normalise import normalise_float
    from econt.model.qkeras_model import cells_to_input, load_deployed_decoder, load_deployed_encoder

    ae_dir = shared_path(*DEPLOYED_AE)
    ds = real_vector_inputs() if ae_dir is not None else None
    if ds is None:
        return "shared/econt-vectors (testInput.csv and AE_8x8_c8_S2_ele_qkeras/) absent: real-vector comparison skipped"
    # the kit's cell order: the deployed encoder's 8x8 arrangement and the EMD's geometry both need it
    calq = np.asarray(ds.charges, dtype=np.float64)
    encoder, cfg = load_deployed_encoder(ae_dir)
    decoder, _ = load_deployed_decoder(ae_dir, cfg)
    x, _ = normalise_float(calq)
    latent = np.asarray(encoder.predict(cells_to_input(x, cfg), batch_size=4096, verbose=0), dtype=np.float64)
    recon = np.asarray(decoder.predict(latent, batch_size=4096, verbose=0), dtype=np.float64).reshape(len(calq), 48)
    image_model = keras.Model(decoder.input, decoder.get_layer("decoder_output").output)
    image = np.asarray(image_model.predict(latent, batch_size=4096, verbose=0), dtype=np.float64).reshape(len(calq), -1)
    info = {
        "source": "shared/econt-vectors/testInput.csv through AE_8x8_c8_S2_ele_qkeras (encoder.hdf5 + decoder.hdf5)",
        "n_crossings_nonempty": int(len(calq)),
        "cell_order": "cells (econt.data.vectors)",
        "latent_max": float((1 << cfg.latent_integer) - 2.0 ** -cfg.latent_frac),
    }
    return calq, recon, image, latent, info


#: A crossing is "concentrated" when its hottest cell holds at least this share of the module sum.
CONCENTRATED_SHARE = 0.4
#: A decoded cell fraction below this counts as switched off (sigmoid far below its midpoint).
DECODED_OFF = 0.01


def _diagnosis_finding(d: dict[str, Any]) -> str:
    """One sentence from the measured diagnosis (each clause is decided by its figure)."""
    head = "worse than a flat map" if d["emd_deployed"] > d["emd_flat_map"] else "no worse than a flat map"
    clauses = [f"deployed {d['emd_deployed']:.2f} vs flat map {d['emd_flat_map']:.2f}; the decoder's mean map alone "
               f"costs {d['emd_decoder_mean_map']:.2f} (the input's mean map {d['emd_input_mean_map']:.2f})"]
    causes = []
    layout_ok = d["cells_best_matched_at_their_pixel"] >= 24
    unused = d["decoded_energy_fraction_unused_pixels"]
    if unused > 0.25:
        if layout_ok:
            clauses.append(f"{100 * unused:.0f}% of the decoded 8x8 energy is in the 16 pixels that carry no cell "
                           f"({100 * d['decoded_energy_fraction_top_unused_pixel']:.0f}% in one), which the "
                           "reference training loss never constrains (it gathers the 48 cell pixels) and the "
                           "cell gather drops: not a cause")
        else:
            causes.append(f"decoder output layout/weights: {100 * unused:.0f}% of the decoded 8x8 energy lands in "
                          "the 16 pixels that carry no cell")
    clauses.append(f"arrangement {'confirmed' if layout_ok else 'suspect'}: for "
                   f"{d['cells_best_matched_at_their_pixel']} of 48 cells the decoded pixel most correlated with "
                   "the cell's input is the cell's own pixel")
    if d["latent_saturated_fraction"] > 0.01:
        causes.append(f"latent scaling: {100 * d['latent_saturated_fraction']:.1f}% of the latents saturate")
    clauses.append(f"latents saturated {100 * d['latent_saturated_fraction']:.2f}%")
    off = d["decoded_cell_fraction_off"]
    conc = d["concentrated"]
    if off > 0.3 and d["input_cells_nonzero_median"] >= 32:
        better = conc["crossings"] and conc["emd_deployed"] < conc["emd_flat_map"]
        causes.append(
            f"data distribution: the crossings are dense (median {d['input_cells_nonzero_median']:.0f} of 48 cells "
            f"non-zero, hottest cell {100 * d['hottest_cell_share_median']:.0f}% of the sum at the median) while the "
            f"decoder switches {100 * off:.0f}% of the decoded cells off (below {DECODED_OFF}), i.e. it reconstructs "
            "concentrated showers"
            + (f"; on the {conc['crossings']} concentrated crossings (hottest cell >= {CONCENTRATED_SHARE:.0%}) it "
               f"{'beats' if better else 'does not beat'} the flat map ({conc['emd_deployed']:.2f} vs "
               f"{conc['emd_flat_map']:.2f})" if conc["crossings"] else "")
            + "; this points to a decoder trained on another data distribution (the shared model is named _ele_) "
              "than these ttbar crossings")
    return f"{head}: " + "; ".join(clauses) + ". Likely cause: " + ("; ".join(causes) if causes else "not identified") + "."


def real_vector_pairs() -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | str:
    """(inputs, reconstructions, info) from the real ECON-T vectors through the shared deployed
    autoencoder, or a string saying why they are unavailable."""
    got = _deployed_reconstruction()
    if isinstance(got, str):
        return got
    calq, recon, _image, _latent, info = got
    return calq, recon, info


def deployed_baseline_diagnosis(workers: int = 2) -> dict[str, Any] | str:
    """Why the deployed autoencoder reconstructs the real vectors worse than a flat map: its EMD
    beside references that carry no event information, and the decoder's output layout.

    * ``emd_flat_map``: EMD(input, uniform 48-cell map); ``emd_input_mean_map``: EMD(input, the
      mean input map of the orbit); ``emd_decoder_mean_map``: EMD(input, the mean decoded map) —
      what the decoder's average shape alone costs;
    * ``decoded_energy_fraction_unused_pixels``: share of the decoder's 8x8 output in the 16
      pixels that carry no cell (dropped by the cell gather);
    * ``latent_saturated_fraction``: latents at the quantiser's maximum (a scaling problem would
      show here); ``cell_correlation_*``: per-cell correlation of input and decoded fractions
      across crossings (diagonal: same cell; off-diagonal mean), a check of the arrangement;
      ``cells_best_matched_at_their_pixel``: cells whose input correlates best, of all 64 decoded
      pixels, with the pixel the arrangement gives them (a layout check that does not assume it);
    * ``decoded_cell_fraction_off``: decoded cell values below :data:`DECODED_OFF`;
      ``input_cells_nonzero_median`` / ``hottest_cell_share_median``: how dense the crossings are;
      ``concentrated``: deployed and flat-map EMD on the crossings whose hottest cell holds at least
      :data:`CONCENTRATED_SHARE` of the sum (where a shower-shaped reconstruction should win).
    """
    from econt.geometry import REMAP_8X8

    got = _deployed_reconstruction()
    if isinstance(got, str):
        return got
    calq, recon, image, latent, info = got
    recon = np.clip(recon, 0.0, None)
    n = len(calq)
    deployed = emd_batch(calq, recon, workers=workers)
    fin = calq / calq.sum(axis=1, keepdims=True)
    fout = recon / np.maximum(recon.sum(axis=1, keepdims=True), 1e-30)
    refs = {"emd_flat_map": np.ones((n, 48)), "emd_input_mean_map": np.tile(fin.mean(axis=0), (n, 1)),
            "emd_decoder_mean_map": np.tile(fout.mean(axis=0), (n, 1))}
    used = np.zeros(image.shape[1], dtype=bool)
    used[np.asarray(REMAP_8X8)] = True
    a = (fin - fin.mean(0)) / (fin.std(0) + 1e-12)
    b = (fout - fout.mean(0)) / (fout.std(0) + 1e-12)
    corr = a.T @ b / n
    out: dict[str, Any] = {
        "crossings": n, "emd_deployed": float(np.nanmean(deployed)),
        **{k: float(np.nanmean(emd_batch(calq, v, workers=workers))) for k, v in refs.items()},
        "decoded_energy_fraction_unused_pixels": float(np.clip(image, 0, None)[:, ~used].sum()
                                                       / np.clip(image, 0, None).sum()),
        "latent_saturated_fraction": float((latent >= info["latent_max"]).mean()),
        "cell_correlation_diagonal_mean": float(np.diag(corr).mean()),
        "cell_correlation_offdiagonal_mean": float((corr.sum() - np.trace(corr)) / (48 * 47)),
        "input_cells_above_minimum_median": float(np.median((calq > calq.min()).sum(axis=1))),
        "input_cells_nonzero_median": float(np.median((calq > 0).sum(axis=1))),
        "hottest_cell_share_median": float(np.median(fin.max(axis=1))),
        "decoded_cell_fraction_off": float((np.clip(image, 0, None)[:, np.asarray(REMAP_8X8)] < DECODED_OFF).mean()),
    }
    pos = np.clip(image, 0, None)
    unused_energy = pos[:, ~used].sum(axis=0)
    out["decoded_energy_fraction_top_unused_pixel"] = float(unused_energy.max() / pos.sum())
    za = (fin - fin.mean(0)) / (fin.std(0) + 1e-12)
    zp = (image - image.mean(0)) / (image.std(0) + 1e-12)
    pixel_corr = za.T @ zp / n                                   # 48 cells x 64 pixels
    out["cells_best_matched_at_their_pixel"] = int((pixel_corr.argmax(axis=1) == np.asarray(REMAP_8X8)).sum())
    conc = fin.max(axis=1) >= CONCENTRATED_SHARE
    out["concentrated"] = {"crossings": int(conc.sum()), "min_hottest_cell_share": CONCENTRATED_SHARE,
                           "emd_deployed": float(np.nanmean(deployed[conc])) if conc.any() else None,
                           "emd_flat_map": float(np.nanmean(emd_batch(calq[conc], refs["emd_flat_map"][conc],
                                                                      workers=workers))) if conc.any() else None}
    out["finding"] = _diagnosis_finding(out)
    return out


def peers_block(
    kit_model,
    test: PairSet,
    min_emd: float = 1e-3,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Kit model and the published models on the same held-out synthetic pairs (ae and pair
    modes) and on the real-vector pairs. Returns (json block, {label: (true, pred)} for plots)."""
    block: dict[str, Any] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    models = {"kit": kit_model}
    peers = load_peer_models()
    if peers is None:
        block["skipped"] = "shared/peers/fastml-science-emd absent: published models not compared"
        log(block["skipped"])
    else:
        models.update(peers)
    real = real_vector_pairs()
    if isinstance(real, str):
        block["real_vectors_skipped"] = real
        log(real)
        real_true = None
    else:
        real_a, real_b, info = real
        real_true = emd_batch(real_a, real_b, workers=workers)
        block["real_vectors"] = {**info, "exact_emd_mean": float(np.nanmean(real_true))}
        diag = deployed_baseline_diagnosis(workers)
        block["deployed_baseline"] = diag if isinstance(diag, dict) else {"skipped": diag}
    for name, model in models.items():
        entry: dict[str, Any] = {}
        for label, kind in (("synthetic_ae", KIND_AE), ("synthetic_pair", KIND_PAIR)):
            sel = test.select(test.kind == kind)
            pred = predict_emd(model, sel.a, sel.b)
            entry[label] = rel_error_stats(sel.emd, pred, min_emd)
            if label == "synthetic_ae":
                curves[name] = (sel.emd, pred)
        if real_true is not None:
            pred = predict_emd(model, real_a, real_b)
            entry["real_ae"] = rel_error_stats(real_true, pred, min_emd)
            curves[f"{name}_real"] = (real_true, pred)
        block[name] = entry
    return block, curves


# --------------------------------------------------------------------------- plots


def save_plots(
    outdir: Path,
    test: PairSet,
    pred: np.ndarray,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    min_emd: float = 1e-3,
) -> dict[str, str]:
    """Calibration scatter, relative-error histogram (kit vs peers) and binned error PNGs; returns captions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    captions: dict[str, str] = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (label, kind) in zip(axes, (("ae mode (input vs reconstruction)", KIND_AE), ("pair mode (two inputs)", KIND_PAIR))):
        m = (test.kind == kind) & np.isfinite(test.emd)
        t, p = test.emd[m], pred[m]
        hi = float(np.percentile(np.concatenate([t, p]), 99.9)) * 1.05
        ax.hist2d(t, p, bins=120, range=[[0, hi], [0, hi]], cmin=1, norm=matplotlib.colors.LogNorm())
        ax.plot([0, hi], [0, hi], color="grey", lw=1)
        ax.set_xlabel("exact EMD")
        ax.set_ylabel("EMD-CNN prediction")
        s = rel_error_stats(t, p, min_emd)
        ax.set_title(f"{label}\nrel. err. mean {s['mean']:+.3f}, std {s['std']:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(outdir / "cnn_calibration.png", dpi=110)
    plt.close(fig)
    captions["cnn_calibration.png"] = (
        "EMD-CNN calibration on held-out synthetic pairs: prediction vs exact EMD (log colour), ae and pair modes."
    )

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    bins = np.linspace(-0.5, 0.5, 201)
    for name, (t, p) in curves.items():
        r, _ = rel_error(t, p, min_emd)
        where = "real vectors" if name.endswith("_real") else "synthetic ae pairs"
        ax.hist(np.clip(r, bins[0], bins[-1]), bins=bins, histtype="step", density=True,
                label=f"{name.replace('_real', '')} on {where}: {r.mean():+.3f} ± {r.std():.3f}")
    ax.set_xlabel("(pred − true) / true")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(outdir / "cnn_rel_error_hist.png", dpi=110)
    plt.close(fig)
    captions["cnn_rel_error_hist.png"] = (
        "Relative error of the kit's EMD-CNN and the published models (ae_mse, pair_mse) on the same "
        "held-out synthetic ae pairs and on real ECON-T vectors vs the deployed autoencoder (overflow in end bins)."
    )

    ae = test.select(test.kind == KIND_AE)
    p_ae = pred[test.kind == KIND_AE]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (label, vals, edges) in zip(axes, (("exact EMD", ae.emd, EMD_EDGES), ("input occupancy (cells)", ae.occupancy(), OCC_EDGES))):
        rows = binned_stats(ae.emd, p_ae, vals, edges, min_emd)
        centres = [0.5 * (r["lo"] + min(r["hi"], r["lo"] + 2)) for r in rows]
        ax.errorbar(centres, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], fmt="o", capsize=3)
        ax.axhline(0, color="grey", lw=1)
        ax.set_xlabel(label)
        ax.set_ylabel("rel. error mean ± std")
    fig.suptitle("EMD-CNN on held-out synthetic ae pairs, binned", fontsize=10)
    fig.tight_layout()
    fig.savefig(outdir / "cnn_rel_error_bins.png", dpi=110)
    plt.close(fig)
    captions["cnn_rel_error_bins.png"] = "EMD-CNN relative error (mean ± std) in bins of exact EMD and of occupancy (ae pairs)."
    return captions


def merge_json(path: Path, update: dict[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into the JSON object at ``path`` (created if absent); returns the result."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(update)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
    return data
