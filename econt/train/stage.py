"""The training job: three losses, per-region fine-tunes, evaluation, bit-exactness, export.

``run_training(cfg)`` does, with one seed and one dataset:

1. data: the synthetic (or a saved) :class:`econt.data.dataset.Dataset`, split
   train/val/test stratified by region; inputs are the hardware-normalised float view
   (``econt.data.normalise.normalise_float``: CALQ / 2**msb(module sum), truncated to the
   input precision), which is also the reconstruction target;
2. one QKeras autoencoder per loss (``mse``, ``telescope``, ``emd_cnn``), same
   architecture, data, seed, epochs, patience and learning-rate schedule → ``build/train/<loss>/``;
   with ``fit.monitor: exact_emd`` every loss is early-stopped and its checkpoint chosen by
   the mean exact EMD of the validation reconstructions (``econt.train.refit``); the EMD-CNN
   loss can refit its surrogate on its own reconstructions (``emd_cnn.refit_every``);
3. per region: a fine-tune of the global model on that region's training samples →
   ``build/train/<loss>/regions/<region>/``, its EMD on the region's test samples with
   its own and with the global weights;
4. evaluation: exact EMD per test sample (mean, median, 68% band), EMD vs occupancy and
   vs |eta|, energy response; the same on the real ECON-T vectors (``../shared``) for every
   loss and for the deployed encoder/decoder as a baseline; event displays;
5. bit-exactness of every trained encoder: the integer model vs QKeras;
6. ``reports/train/summary.json`` + PNGs + ``captions.json``.

Exporting the saved encoders (``weights.json`` + I2C ``init.yaml``) is the next stage's job
(``econt.export.stage``), which reads ``build/train``.

Energy response: Σ decoded / Σ input in the network's normalised units. The EMD-CNN loss
compares sum-normalised maps, so it leaves the decoder's output scale free (its response
is far from 1 and meaningless); a back end normalises the decoded map to the transmitted
module sum anyway. For MSE and telescope the response is a real property of the decoder.

Chip arithmetic: ``mean_emd_*_chip_arithmetic`` runs the trained encoder the way the
ECON-T computes (integer model, every product truncated before the sum) and decodes its
latent codes with the float decoder: the truncation shifts every latent down, so this is
what a QKeras-trained weight set costs on the chip without bias correction.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import econt  # noqa: F401
from econt.summary import merge_json
from econt.config import kit_config_path, to_plain, write_resolved_config
from econt.errors import ConfigError, StageError
from econt.paths import reports_dir, shared_path, work_dir
from econt.train.config import CHIP_CONFIG, DEFAULT_CONFIG, QUICK_CONFIG, TrainConfig, load_train_config, resolve
from econt.train import evaluate as ev



def _log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@dataclass
class Split:
    charges: np.ndarray      # (N, 48) input charges (CALQ units)
    x: np.ndarray            # (N, 48) normalised network input, truncated as the chip does
    frac: np.ndarray         # (N, 48) the same normalisation at full precision (the true map)
    region: np.ndarray       # (N,) str
    eta: np.ndarray          # (N,) float (nan when unknown)

    def subset(self, idx: np.ndarray) -> "Split":
        return Split(self.charges[idx], self.x[idx], self.frac[idx], self.region[idx], self.eta[idx])

    def target(self, kind: str) -> np.ndarray:
        """What the decoder is trained to reproduce (``fit.target``): the truncated input or the true map."""
        return self.x if kind == "input" else self.frac

    def __len__(self) -> int:
        return len(self.x)


def input_bits_per_code(enc_cfg: Any) -> int:
    """``bits_per_input`` of the normalisation giving the encoder's input fractional bits."""
    return enc_cfg.input_frac + 1


def make_split(ds: Any, enc_cfg: Any) -> Split:
    from econt.data.normalise import normalise_float

    charges = np.asarray(ds.charges, dtype=np.float64)
    x, _scale = normalise_float(charges, input_bits_per_code(enc_cfg))
    frac, _scale = normalise_float(charges, None)
    return Split(charges=charges, x=x, frac=frac, region=np.asarray(ds.meta["region"]).astype(str),
                 eta=np.asarray(ds.meta["eta"], dtype=np.float64))


def load_data(cfg: TrainConfig, enc_cfg: Any) -> tuple[Split, Split, Split, dict]:
    from econt.data.splits import split_dataset

    if cfg.data.source == "stage":
        return _load_stage_splits(cfg, enc_cfg)
    if cfg.data.source == "synthetic":
        from econt.data.synthetic import generate

        ds = generate(cfg.data.n_samples, seed=cfg.seed)
    else:
        from econt.data.dataset import Dataset

        ds = Dataset.load(resolve(cfg.data.path))
        if cfg.data.n_samples and len(ds) > cfg.data.n_samples:
            ds = ds.subset(np.random.default_rng(cfg.seed).choice(len(ds), cfg.data.n_samples, replace=False))
    ds, empty = _drop_empty(ds)
    train, val, test = split_dataset(ds, seed=cfg.seed, fractions=tuple(cfg.data.split))
    info = {"source": getattr(ds, "source", cfg.data.source), "n_samples": len(ds), "n_empty_dropped": empty,
            "n_train": len(train), "n_val": len(val), "n_test": len(test)}
    return make_split(train, enc_cfg), make_split(val, enc_cfg), make_split(test, enc_cfg), info


def _drop_empty(ds: Any) -> tuple[Any, int]:
    # An empty module has no shape to reconstruct and an undefined EMD: not a training sample.
    sums = np.asarray(ds.charges).sum(axis=1)
    empty = int((sums <= 0).sum())
    return (ds.subset(np.flatnonzero(sums > 0)) if empty else ds), empty


def _load_stage_splits(cfg: TrainConfig, enc_cfg: Any) -> tuple[Split, Split, Split, dict]:
    """The data stage's own train/val/test artifacts, capped to ``data.n_samples`` in proportion."""
    from econt.data.dataset import Dataset

    folder = work_dir("data")
    paths = [folder / f"{name}.npz" for name in ("train", "val", "test")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"training config: data.source is 'stage' but {', '.join(missing)} do not exist; run the "
                          "data stage first (`econt run data`) or set data.source: synthetic.")
    splits = [Dataset.load(p) for p in paths]
    total = sum(len(d) for d in splits)
    rng = np.random.default_rng(cfg.seed)
    empty = 0
    for k, d in enumerate(splits):
        if cfg.data.n_samples and total > cfg.data.n_samples:
            keep = max(1, round(len(d) * cfg.data.n_samples / total))
            d = d.subset(np.sort(rng.choice(len(d), keep, replace=False)))
        splits[k], dropped = _drop_empty(d)
        empty += dropped
    train, val, test = splits
    info = {"source": f"data stage ({folder})", "n_samples": sum(len(d) for d in splits), "n_empty_dropped": empty,
            "n_train": len(train), "n_val": len(val), "n_test": len(test)}
    return make_split(train, enc_cfg), make_split(val, enc_cfg), make_split(test, enc_cfg), info


def load_real_vectors(cfg: TrainConfig, enc_cfg: Any) -> tuple[Split | None, str]:
    """The real ECON-T crossings decoded with the deployed model's input config (None if absent)."""
    if not cfg.evaluation.use_real_vectors:
        return None, "disabled (evaluation.use_real_vectors: false)"
    if cfg.evaluation.real_vectors is not None:
        csv = resolve(cfg.evaluation.real_vectors)
        if not Path(csv).is_file():
            raise ConfigError(f"training config: evaluation.real_vectors = {csv} does not exist; give an existing "
                              "ePortRX CSV or null for the shared testInput.csv.")
    else:
        csv = shared_path("econt-vectors", "testInput.csv")
    deployed = deployed_folder(cfg)
    if csv is None or deployed is None:
        return None, "real vectors or deployed init.yaml not found (../shared absent)"
    from econt.data.vectors import load_econt_vectors

    # the kit's cell order (econt.data.vectors): geometry (EMD) and our models need it
    full = load_econt_vectors(csv, deployed / "init.yaml", order="cells")
    ds = full.subset(np.flatnonzero(full.charges.sum(axis=1) > 0))
    return make_split(ds, enc_cfg), f"{csv} ({len(ds)} non-empty of {len(full)} crossings)"


def deployed_folder(cfg: TrainConfig) -> Path | None:
    if cfg.evaluation.deployed_model is not None:
        folder = resolve(cfg.evaluation.deployed_model)
        if not (Path(folder) / "init.yaml").is_file():
            raise ConfigError(f"training config: evaluation.deployed_model = {folder} has no init.yaml; give the "
                              "folder holding init.yaml, encoder.hdf5 and decoder.hdf5, or null for the shared one.")
        return Path(folder)
    return shared_path("econt-vectors", "AE_8x8_c8_S2_ele_qkeras")


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
def _emd_cnn_fn(cfg: TrainConfig):
    from econt.emd.cnn import EmdCnnLoss

    path = resolve(cfg.emd_cnn.model_path) if cfg.emd_cnn.model_path else work_dir("emd", "cnn")
    if not Path(path).exists() or (Path(path).is_dir() and not any(Path(path).iterdir())):
        raise StageError(f"train: EMD-CNN model not found at {path}. Run `econt emd` (stage emd) first, "
                         "or set emd_cnn.model_path in the training config.")
    return EmdCnnLoss(path), Path(path)


def _build_ae(enc_cfg: Any):
    from econt.model.qkeras_model import build_autoencoder

    return build_autoencoder(enc_cfg)


def _save_ae(ae: Any, enc_cfg: Any, folder: Path) -> None:
    from econt.model.qkeras_model import save_encoder

    save_encoder(ae.get_layer("encoder"), enc_cfg, folder, decoder=ae.get_layer("decoder"))


def _loss_and_callbacks(name: str, cfg: TrainConfig, emd_fn: Any, fine_tune: bool, train: Split, val: Split):
    """(loss, metrics, monitor, extra callbacks, start_from_epoch) for one training run."""
    from econt.train.fit import MseMixSchedule
    from econt.train.losses import make_loss
    from econt.train.refit import EXACT_MONITOR, ExactEmdMonitor, SurrogateRefit

    workers = cfg.evaluation.workers
    exact = cfg.fit.monitor == "exact_emd"
    # the selection rule is the same for every loss: the exact-EMD monitor runs first so the
    # callbacks that read the logs (early stopping, checkpoint, LR plateau) see its value
    kind = cfg.fit.target
    callbacks: list = [ExactEmdMonitor(val.x, workers, target=val.target(kind))] if exact else []
    if name not in ("emd_cnn", "exact_emd"):
        return make_loss(name), [], EXACT_MONITOR if exact else "val_loss", callbacks, 0
    # exact_emd (the surrogate's bound) gets the EMD-CNN loss's MSE warm-up and schedule
    mix_start = 0.0 if fine_tune else cfg.emd_cnn.mse_weight_start
    loss = make_loss(name, emd_fn=emd_fn, mse_weight=mix_start, mse_scale=cfg.emd_cnn.mse_scale)

    def emd_cnn(y_true, y_pred):  # the pure EMD(-CNN) term: what early stopping watches
        import tensorflow as tf

        from econt.train.losses import sum_normalise

        return tf.reshape(loss.emd_fn(sum_normalise(y_true), sum_normalise(y_pred)), (-1,))

    start = 0
    if mix_start > 0 and cfg.emd_cnn.mse_decay_epochs > 0:
        callbacks.append(MseMixSchedule(loss, mix_start, cfg.emd_cnn.mse_decay_epochs))
        start = cfg.emd_cnn.mse_decay_epochs
    e = cfg.emd_cnn
    if name == "emd_cnn" and e.refit_every > 0 and not fine_tune and hasattr(emd_fn, "model"):
        callbacks.append(SurrogateRefit(
            emd_fn.model, emd_fn.model_path, train.x, val.x, y_train=train.target(kind), y_val=val.target(kind),
            start=e.refit_start, every=e.refit_every,
            n_pairs=e.refit_pairs, n_anchor=e.refit_anchor_pairs, epochs=e.refit_epochs,
            learning_rate=e.refit_learning_rate, max_recon_pairs=e.refit_max_pairs, workers=workers, seed=cfg.seed,
            verbose=cfg.progress))
    return loss, [emd_cnn], EXACT_MONITOR if exact else "val_emd_cnn", callbacks, start


def train_loss(name: str, cfg: TrainConfig, enc_cfg: Any, train: Split, val: Split, out: Path, emd_fn: Any,
               init_weights: list | None = None, fine_tune: bool = False, desc: str | None = None) -> tuple[Any, Any]:
    from econt.train.fit import fit_autoencoder
    from econt.train.refit import SurrogateRefit

    ae = _build_ae(enc_cfg)
    if init_weights is not None:
        ae.set_weights(init_weights)
    loss, metrics, monitor, callbacks, start = _loss_and_callbacks(name, cfg, emd_fn, fine_tune, train, val)
    sec = cfg.regions if fine_tune else cfg.fit
    result = fit_autoencoder(
        ae, loss, train.x, val.x, y_train=train.target(cfg.fit.target), y_val=val.target(cfg.fit.target),
        epochs=sec.epochs, batch_size=cfg.fit.batch_size,
        learning_rate=sec.learning_rate, patience=sec.patience, min_delta=cfg.fit.min_delta,
        lr_factor=cfg.fit.lr_factor if not fine_tune else 1.0, lr_patience=cfg.fit.lr_patience,
        seed=cfg.seed, out_dir=out, desc=desc or name, progress=cfg.progress, metrics=metrics, monitor=monitor,
        extra_callbacks=callbacks, start_from_epoch=min(start, max(sec.epochs - 1, 0)),
        steps_per_execution=cfg.fit.steps_per_execution)
    refits = [c for c in callbacks if isinstance(c, SurrogateRefit)]
    if refits:
        result.extra["surrogate_refits"] = refits[0].records
        if refits[0].records:
            # the refitted surrogate (the per-region fine-tunes that follow use it too)
            from econt.emd.cnn import save_emd_cnn

            meta = {"format": "econt-emd-cnn/1", "config": {"refit_of": str(emd_fn.model_path)}, "seed": cfg.seed,
                    "refits": refits[0].records}
            save_emd_cnn(refits[0].surrogate, meta, out / "surrogate")
    _save_ae(ae, enc_cfg, out)
    return ae, result


# --------------------------------------------------------------------------------------
# evaluation helpers
# --------------------------------------------------------------------------------------
def _reconstruct(ae: Any, split: Split) -> np.ndarray:
    from econt.train.fit import predict_cells

    return predict_cells(ae, split.x)


def _eval(ae: Any, split: Split, workers: int) -> tuple[dict, np.ndarray, np.ndarray]:
    decoded = _reconstruct(ae, split)
    emd = ev.emd_per_sample(split.charges, decoded, workers=workers)
    stats = ev.emd_stats(emd)
    stats.update(ev.energy_response(split.frac, decoded))
    return stats, emd, decoded


def _eval_chip_arithmetic(ae: Any, enc_cfg: Any, split: Split, workers: int) -> dict:
    """EMD when the encoder runs as the ECON-T computes (truncating products, integer model)
    and the float decoder reads the transmitted latent codes."""
    from econt.data.normalise import normalise_hw
    from econt.model.integer import IntegerEncoder, extract_integer_weights

    calq = np.rint(split.charges).astype(np.int64)
    codes, _, _ = normalise_hw(calq, input_bits_per_code(enc_cfg))
    chip = IntegerEncoder(extract_integer_weights(ae.get_layer("encoder"), enc_cfg), arithmetic="chip")
    latent = chip.encode_codes(codes).astype(np.float32) / np.float32(2 ** enc_cfg.latent_frac)
    decoded = np.asarray(ae.get_layer("decoder").predict(latent, batch_size=4096, verbose=0), dtype=np.float64)
    return ev.emd_stats(ev.emd_per_sample(split.charges, decoded, workers=workers))


def _deployed_baseline(folder: Path, enc_cfg: Any, real: Split, workers: int, weights: str = "hdf5"
                       ) -> tuple[dict, np.ndarray, np.ndarray]:
    """The deployed encoder + its float decoder on the real vectors.

    ``weights="hdf5"``: the float weights as trained (QKeras quantises them on the fly), i.e.
    the encoder the decoder was trained with; ``"chip"``: the floor-quantised values of the
    chip's register image (econt.model.qkeras_model.load_deployed_encoder).
    """
    import tf_keras as keras

    from econt.model.qkeras_model import load_deployed_decoder, load_deployed_encoder

    enc, dep_cfg = load_deployed_encoder(folder, weights=weights)
    dec, _ = load_deployed_decoder(folder, dep_cfg)
    inp = keras.Input(dep_cfg.input_shape)
    ae = keras.Model(inp, dec(enc(inp)))
    if input_bits_per_code(dep_cfg) != input_bits_per_code(enc_cfg):
        from econt.data.normalise import normalise_float

        real = replace(real, x=normalise_float(real.charges, input_bits_per_code(dep_cfg))[0])
    return _eval(ae, real, workers)


def bit_exact_check(encoder: Any, enc_cfg: Any, pools: list[np.ndarray | None], n_stress: int, seed: int
                    ) -> tuple[int, int]:
    """(mismatching latent values, samples) of the integer model vs QKeras.

    Samples: the model engineer's ``check_bit_exact`` stress set (``n_stress`` inputs
    that hit rounding ties and saturation) plus every sample of the given CALQ pools
    (test split, real vectors) through the hardware normalisation.
    """
    from econt.data.normalise import normalise_hw
    from econt.model.integer import IntegerEncoder, check_bit_exact, extract_integer_weights, qkeras_latent_codes

    res = check_bit_exact(encoder, enc_cfg, n=n_stress, seed=seed)
    mismatches, samples = int(res["bit_exact_mismatches"]), int(res["bit_exact_samples"])
    int_model = IntegerEncoder(extract_integer_weights(encoder, enc_cfg), arithmetic=enc_cfg.arithmetic)
    for pool in pools:
        if pool is None or not len(pool):
            continue
        calq = np.rint(np.asarray(pool, dtype=np.float64)).astype(np.int64)
        codes, _, _ = normalise_hw(calq, input_bits_per_code(enc_cfg))
        ref = qkeras_latent_codes(encoder, enc_cfg, codes)
        got = np.asarray(int_model.encode_codes(codes), dtype=np.int64)
        mismatches += int((ref != got).sum())
        samples += len(codes)
    return mismatches, samples




# --------------------------------------------------------------------------------------
# the job
# --------------------------------------------------------------------------------------
def output_dirs(cfg: TrainConfig) -> tuple[Path, Path]:
    """(models folder, reports folder) of a training job."""
    out_root = resolve(cfg.out_dir) if cfg.out_dir else work_dir(cfg.output_name)
    rep = resolve(cfg.reports_dir) if cfg.reports_dir else reports_dir(cfg.output_name)
    return Path(out_root), Path(rep)


def run_training(cfg: TrainConfig, config_path: Path | None = None) -> dict:
    """Run the whole training job; returns (and writes) the summary dict."""
    import tf_keras as keras

    from econt.model.config import load_encoder_config

    t_start = time.perf_counter()
    out_root, rep = output_dirs(cfg)
    for d in (out_root, rep):
        Path(d).mkdir(parents=True, exist_ok=True)
    write_resolved_config(out_root, cfg, seed=cfg.seed)
    write_resolved_config(rep, cfg, seed=cfg.seed)
    enc_cfg = load_encoder_config(resolve(cfg.model_config), dict(cfg.model_overrides))
    workers = cfg.evaluation.workers
    captions: dict[str, str] = {}
    timings: dict[str, float] = {}

    _log(f"data: {cfg.data.source}, {cfg.data.n_samples} samples, seed {cfg.seed}")
    t0 = time.perf_counter()
    train, val, test, data_info = load_data(cfg, enc_cfg)
    real, real_info = load_real_vectors(cfg, enc_cfg)
    timings["data_s"] = time.perf_counter() - t0
    regions = sorted(set(train.region.tolist()))
    _log(f"train/val/test = {len(train)}/{len(val)}/{len(test)}; regions {regions}; real: {real_info}")

    emd_fn, emd_path = (None, None)
    if "emd_cnn" in cfg.losses:
        emd_fn, emd_path = _emd_cnn_fn(cfg)

    summary: dict[str, Any] = {"config_path": str(config_path) if config_path else None, "seed": cfg.seed,
                               "model_config": str(cfg.model_config), "model_config_hash": enc_cfg.hash(),
                               "arithmetic": enc_cfg.arithmetic,
                               "data": data_info, "real_vectors": real_info, "regions": regions,
                               "emd_cnn_model": str(emd_path) if emd_path else None, "losses": {}}
    test_emd: dict[str, np.ndarray] = {}
    real_emd: dict[str, np.ndarray] = {}
    test_resp: dict[str, np.ndarray] = {}
    real_resp: dict[str, np.ndarray] = {}
    models: dict[str, Any] = {}
    mismatches_total, bit_samples, bit_models = 0, 0, 0

    for loss_name in cfg.losses:
        out = Path(out_root) / loss_name
        init = None
        if loss_name == "emd_cnn" and cfg.emd_cnn.init_from:
            init = models[cfg.emd_cnn.init_from].get_weights()
        _log(f"training {loss_name} ({len(train)} samples, ≤ {cfg.fit.epochs} epochs)")
        t0 = time.perf_counter()
        ae, fit = train_loss(loss_name, cfg, enc_cfg, train, val, out, emd_fn, init_weights=init)
        timings[f"fit_{loss_name}_s"] = fit.seconds
        write_resolved_config(out, cfg, seed=cfg.seed)
        models[loss_name] = ae
        stats, emd, decoded = _eval(ae, test, workers)
        test_emd[loss_name] = emd
        test_resp[loss_name] = ev.response_ratio(test.frac, decoded)
        entry: dict[str, Any] = {
            "mean_emd_test": stats["mean"], "median_emd_test": stats["median"],
            "emd_test_q16": stats["q16"], "emd_test_q84": stats["q84"], "n_test": stats["n"],
            "n_test_undefined": stats["n_undefined"],
            "energy_response_test": stats["response_mean"], "energy_resolution_test": stats["response_rms"],
            "energy_sigma68_test": stats["response_sigma68"],
            "epochs_run": fit.epochs_run, "best_epoch": fit.best_epoch + 1, "fit_seconds": round(fit.seconds, 1),
            "monitor": fit.monitor, "final_val": fit.history[fit.monitor][fit.best_epoch],
        }
        if fit.extra.get("surrogate_refits"):
            entry["surrogate_refits"] = fit.extra["surrogate_refits"]
        chip = _eval_chip_arithmetic(ae, enc_cfg, test, workers)
        entry["mean_emd_test_chip_arithmetic"] = chip["mean"]
        if real is not None:
            entry["mean_emd_real_chip_arithmetic"] = _eval_chip_arithmetic(ae, enc_cfg, real, workers)["mean"]
            rstats, remd, rdec = _eval(ae, real, workers)
            real_emd[loss_name] = remd
            real_resp[loss_name] = ev.response_ratio(real.frac, rdec)
            entry.update({"mean_emd_real": rstats["mean"], "median_emd_real": rstats["median"],
                          "emd_real_q16": rstats["q16"], "emd_real_q84": rstats["q84"], "n_real": rstats["n"],
                          "energy_response_real": rstats["response_mean"],
                          "energy_resolution_real": rstats["response_rms"]})
        # event displays: best and worst reconstructions of the test split
        n_disp = cfg.evaluation.n_displays
        if n_disp > 0:
            from econt.geometry.display import save_event_displays

            best, worst = ev.best_worst_indices(emd, n_disp)
            events, titles = [], []
            for tag, idxs in (("best", best), ("worst", worst)):
                for i in idxs:
                    events += [test.x[i], np.clip(decoded[i], 0, None)]
                    titles += [f"{loss_name} {tag}: input (region {test.region[i]})",
                               f"decoded, EMD {emd[i]:.3f}"]
            png = f"displays_{loss_name}.png"
            save_event_displays(rep / png, events, titles, ncols=2)
            captions[png] = (f"{loss_name} loss: the {n_disp} best and {n_disp} worst test reconstructions "
                             "(left input, right decoded; normalised charge).")
        # bit-exactness of the trained encoder
        t0 = time.perf_counter()
        mm, ns = bit_exact_check(ae.get_layer("encoder"), enc_cfg, [test.charges, real.charges if real else None],
                                 cfg.evaluation.bit_exact_samples, cfg.seed)
        timings[f"bit_exact_{loss_name}_s"] = time.perf_counter() - t0
        entry["bit_exact_mismatches"] = mm
        mismatches_total += mm
        bit_samples += ns
        bit_models += 1
        (out / "metrics.json").write_text(json.dumps(entry, indent=1))
        summary["losses"][loss_name] = entry
        png = f"training_curve_{loss_name}.png"
        (rep / png).write_bytes((out / "training_curve.png").read_bytes())
        captions[png] = f"Training and validation loss per epoch, {loss_name} loss (dotted: restored best epoch)."
        _log(f"{loss_name}: mean EMD test {entry['mean_emd_test']:.4f}"
             + (f", real {entry['mean_emd_real']:.4f}" if "mean_emd_real" in entry else "")
             + f", bit-exact mismatches {mm}/{ns} samples, {fit.epochs_run} epochs in {fit.seconds:.0f} s")

    # ---- per-region weights ------------------------------------------------------------
    if cfg.regions.enabled and len(regions) > 1:
        per_region: dict[str, dict[str, Any]] = {}
        for loss_name in cfg.losses:
            global_ae = models[loss_name]
            rows: dict[str, Any] = {}
            for region in regions:
                tr = train.subset(np.flatnonzero(train.region == region))
                va = val.subset(np.flatnonzero(val.region == region))
                te = test.subset(np.flatnonzero(test.region == region))
                if len(tr) < cfg.fit.batch_size // 4 or len(va) == 0 or len(te) == 0:
                    rows[region] = {"skipped": f"too few samples (train {len(tr)}, val {len(va)}, test {len(te)})"}
                    continue
                out = Path(out_root) / loss_name / "regions" / region
                t0 = time.perf_counter()
                ae_r, fit_r = train_loss(loss_name, cfg, enc_cfg, tr, va, out, emd_fn,
                                         init_weights=global_ae.get_weights(), fine_tune=True,
                                         desc=f"{loss_name}/{region}")
                timings[f"finetune_{loss_name}_{region}_s"] = time.perf_counter() - t0
                # the starting point is a candidate too: a region keeps the global weights when its
                # fine-tune does not lower the exact EMD on the region's validation samples
                val_own, _, _ = _eval(ae_r, va, workers)
                val_glob, _, _ = _eval(global_ae, va, workers)
                kept_global = not val_own["mean"] < val_glob["mean"]
                if kept_global:
                    ae_r.set_weights(global_ae.get_weights())
                    _save_ae(ae_r, enc_cfg, out)
                own, _, _ = _eval(ae_r, te, workers)
                glob, _, _ = _eval(global_ae, te, workers)
                mm, ns = bit_exact_check(ae_r.get_layer("encoder"), enc_cfg, [te.charges],
                                         cfg.evaluation.bit_exact_samples_region, cfg.seed + 1)
                mismatches_total += mm
                bit_samples += ns
                bit_models += 1
                rows[region] = {"mean_emd_own": own["mean"], "mean_emd_global": glob["mean"],
                                "median_emd_own": own["median"], "median_emd_global": glob["median"],
                                "own_over_global": own["mean"] / glob["mean"] if glob["mean"] else float("nan"),
                                "n_train": len(tr), "n_test": len(te), "epochs_run": fit_r.epochs_run,
                                "val_mean_emd_finetuned": val_own["mean"], "val_mean_emd_global": val_glob["mean"],
                                "kept_global_weights": kept_global, "bit_exact_mismatches": mm}
                _log(f"{loss_name}/{region}: EMD own {own['mean']:.4f} vs global {glob['mean']:.4f}"
                     + (" (fine-tune did not improve validation EMD: global weights kept)" if kept_global else ""))
            per_region[loss_name] = rows
        summary["per_region"] = per_region
        _plot_regions(per_region, rep / "per_region_emd.png")
        captions["per_region_emd.png"] = ("Mean test EMD per detector region: the region's own fine-tuned weights "
                                          "vs the global weights, per loss.")

    # ---- deployed baseline on the real vectors ------------------------------------------
    if real is not None:
        dep = deployed_folder(cfg)
        bstats, bemd, bdec = _deployed_baseline(dep, enc_cfg, real, workers)
        real_emd["deployed"] = bemd
        real_resp["deployed"] = ev.response_ratio(real.frac, bdec)
        summary["deployed"] = {"model": str(dep), "mean_emd_real": bstats["mean"], "median_emd_real": bstats["median"],
                               "emd_real_q16": bstats["q16"], "emd_real_q84": bstats["q84"],
                               "energy_response_real": bstats["response_mean"],
                               "energy_resolution_real": bstats["response_rms"]}
        cstats, _, _ = _deployed_baseline(dep, enc_cfg, real, workers, weights="chip")
        summary["deployed"].update({"mean_emd_real_chip_weights": cstats["mean"],
                                    "median_emd_real_chip_weights": cstats["median"]})
        _log(f"deployed baseline: mean EMD real {bstats['mean']:.4f} (chip-quantised weights {cstats['mean']:.4f})")

    # ---- reference point: a flat map (every cell equal) carries no shape information ----------
    summary["flat_map_mean_emd_test"] = ev.emd_stats(ev.emd_per_sample(test.charges, np.ones_like(test.charges),
                                                                       workers=workers))["mean"]
    if real is not None:
        summary["flat_map_mean_emd_real"] = ev.emd_stats(ev.emd_per_sample(real.charges, np.ones_like(real.charges),
                                                                           workers=workers))["mean"]

    # ---- plots ----------------------------------------------------------------------------
    occ_edges = np.arange(0.5, 49.5, 3.0)
    ev.plot_emd_vs("occupancy", {k: ev.occupancy(test.charges) for k in test_emd}, test_emd,
                   rep / "emd_vs_occupancy_test.png", occ_edges, "synthetic test split", "occupied cells")
    captions["emd_vs_occupancy_test.png"] = "EMD (median, 68% band) vs number of occupied cells, synthetic test split, per loss."
    if np.isfinite(test.eta).any():
        abseta = np.abs(test.eta)
        eta_edges = np.linspace(np.nanmin(abseta), np.nanmax(abseta) + 1e-9, 11)
        ev.plot_emd_vs("|eta|", {k: abseta for k in test_emd}, test_emd, rep / "emd_vs_eta_test.png", eta_edges,
                       "synthetic test split", "|η|")
        captions["emd_vs_eta_test.png"] = "EMD (median, 68% band) vs module |η|, synthetic test split, per loss."
    ev.plot_emd_hist(test_emd, rep / "emd_hist_test.png", "synthetic test split")
    captions["emd_hist_test.png"] = "Distribution of the exact EMD per test sample, per loss."
    ev.plot_response(test_resp, rep / "energy_response_test.png", "synthetic test split")
    captions["energy_response_test.png"] = ("Energy response Σdecoded/Σinput (normalised units) per test sample, "
                                            "per loss: mean ± r.m.s. in the legend.")
    if real is not None:
        ev.plot_emd_vs("occupancy", {k: ev.occupancy(real.charges) for k in real_emd}, real_emd,
                       rep / "emd_vs_occupancy_real.png", occ_edges, "real ECON-T vectors (ttbar)", "occupied cells")
        captions["emd_vs_occupancy_real.png"] = ("EMD vs occupancy on the real ECON-T test vectors (no η available), "
                                                 "per loss and for the deployed encoder/decoder.")
        ev.plot_emd_hist(real_emd, rep / "emd_hist_real.png", "real ECON-T vectors")
        captions["emd_hist_real.png"] = "Distribution of the exact EMD on the real ECON-T vectors, per loss and deployed."
        ev.plot_response(real_resp, rep / "energy_response_real.png", "real ECON-T vectors")
        captions["energy_response_real.png"] = "Energy response Σdecoded/Σinput on the real ECON-T vectors."

    # ---- headline figures ---------------------------------------------------------------------
    L = summary["losses"]
    for k in L:
        summary[f"mean_emd_test_{k}"] = L[k]["mean_emd_test"]
    summary["bit_exact_mismatches"] = mismatches_total
    summary["bit_exact_samples"] = bit_samples
    summary["bit_exact_models"] = bit_models
    if "deployed" in summary:
        summary["deployed_mean_emd_real"] = summary["deployed"]["mean_emd_real"]
    for a, b in (("emd_cnn", "telescope"), ("emd_cnn", "mse"), ("telescope", "mse")):
        if a in L and b in L:
            summary[f"ratio_{a}_over_{b}_test"] = L[a]["mean_emd_test"] / L[b]["mean_emd_test"]
            if "mean_emd_real" in L[a] and "mean_emd_real" in L[b]:
                summary[f"ratio_{a}_over_{b}_real"] = L[a]["mean_emd_real"] / L[b]["mean_emd_real"]
    if "ratio_emd_cnn_over_telescope_test" in summary and "ratio_emd_cnn_over_mse_test" in summary:
        summary["target_met"] = bool(summary["ratio_emd_cnn_over_telescope_test"] <= 0.85
                                     and summary["ratio_emd_cnn_over_mse_test"] <= 0.75)
    timings["total_s"] = time.perf_counter() - t_start
    summary["timings"] = {k: round(v, 1) for k, v in timings.items()}
    summary["train_wall_seconds"] = round(timings["total_s"], 1)
    merge_json(rep / "summary.json", summary)
    merge_json(rep / "captions.json", captions)
    keras.backend.clear_session()
    _log(f"done in {timings['total_s']:.0f} s → {rep / 'summary.json'}")
    return summary


def _plot_regions(per_region: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = list(per_region)
    regions = sorted({r for rows in per_region.values() for r, v in rows.items() if "mean_emd_own" in v})
    if not regions:
        return
    fig, axes = plt.subplots(1, len(losses), figsize=(4.5 * len(losses), 3.6), squeeze=False, sharey=True)
    w = 0.38
    for ax, loss in zip(axes[0], losses):
        rows = per_region[loss]
        x = np.arange(len(regions))
        glob = [rows.get(r, {}).get("mean_emd_global", np.nan) for r in regions]
        own = [rows.get(r, {}).get("mean_emd_own", np.nan) for r in regions]
        ax.bar(x - w / 2, glob, w, label="global weights")
        ax.bar(x + w / 2, own, w, label="own region weights")
        ax.set_xticks(x, regions, rotation=20, fontsize=8)
        ax.set_title(loss, fontsize=10)
        ax.set_ylabel("mean EMD (region test)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)




def chip_arithmetic_comparison(exact_sums: dict, chip_trained: dict) -> dict:
    """Per loss: EMD on the ECON-T's truncating arithmetic of the exact-sum-trained weights vs the
    chip-arithmetic-trained ones (both from their ``summary.json``)."""
    rows: dict[str, Any] = {}
    for loss, entry in chip_trained.get("losses", {}).items():
        ref = exact_sums.get("losses", {}).get(loss, {})
        row = {"mean_emd_test_chip_trained": entry.get("mean_emd_test"),
               "mean_emd_real_chip_trained": entry.get("mean_emd_real"),
               "mean_emd_test_exact_sums_trained": ref.get("mean_emd_test_chip_arithmetic"),
               "mean_emd_real_exact_sums_trained": ref.get("mean_emd_real_chip_arithmetic")}
        a, b = row["mean_emd_test_chip_trained"], row["mean_emd_test_exact_sums_trained"]
        row["chip_trained_over_exact_sums_trained_test"] = a / b if a is not None and b else None
        rows[loss] = row
    return {"losses": rows, "bit_exact_mismatches": chip_trained.get("bit_exact_mismatches"),
            "bit_exact_samples": chip_trained.get("bit_exact_samples"),
            "train_wall_seconds": chip_trained.get("train_wall_seconds")}


def limit_tensorflow_threads(threads: int) -> None:
    """Run TensorFlow's ops on ``threads`` threads (before its first op; later calls are no-ops)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already initialised its thread pools in this process
        pass


def _training_job_process(config_path: str, log_path: str, threads: int) -> None:
    """Body of a companion training process: one job, its console output in ``log_path``."""
    import os

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    limit_tensorflow_threads(threads)
    run_training(load_train_config(config_path), config_path=Path(config_path))


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_jobs_side_by_side(first: Path, second: Path) -> tuple[dict, dict]:
    """Run the training jobs of two config files at once: ``first`` in this process, ``second`` in
    a companion process (its console output in ``<second's reports folder>/train.log``), each on
    half of the machine's cores. Returns both summaries; a failed companion is a StageError
    quoting the end of its log.
    """
    import multiprocessing
    import os

    cfg, second_cfg = load_train_config(first), load_train_config(second)
    threads = max(1, (os.cpu_count() or 2) // 2)
    log = output_dirs(second_cfg)[1] / "train.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    companion = multiprocessing.get_context("spawn").Process(
        target=_training_job_process, args=(str(second), str(log), threads), name=f"train-{second_cfg.output_name}")
    companion.start()
    _log(f"job {second_cfg.output_name} started in a second process (pid {companion.pid}, {threads} thread(s)); "
         f"its progress: {log}")
    limit_tensorflow_threads(threads)
    try:
        summary = run_training(cfg, config_path=first)
    except BaseException:
        companion.terminate()
        companion.join()
        raise
    if companion.is_alive():
        _log(f"job {cfg.output_name} done; waiting for job {second_cfg.output_name}")
    companion.join()
    if companion.exitcode != 0:
        raise StageError(f"train: the job of {second} failed (exit code {companion.exitcode}); "
                         f"its log {log} ends:\n{_tail(log)}")
    return summary, json.loads((output_dirs(second_cfg)[1] / "summary.json").read_text())


def run_stage(quick: bool = False, config: str | None = None, parallel: bool = True) -> dict:
    """Entry point of the ``make all`` orchestrator: the default (or quick) training job, then
    (full runs) the same job for the chip's arithmetic, compared in ``chip_arithmetic_training``.

    With ``parallel`` (default) the two jobs run side by side (:func:`run_jobs_side_by_side`):
    one small model's training steps do not keep two cores busy (measured: 2.7 CPU-s per
    70k-sample epoch on one thread against 2.3 s wall on two), so two jobs at once finish far
    sooner than one after the other.
    """
    path = kit_config_path("train", config) if config else (QUICK_CONFIG if quick else DEFAULT_CONFIG)
    cfg = load_train_config(path)
    if quick or config:
        return run_training(cfg, config_path=path)
    chip_path = CHIP_CONFIG
    if parallel:
        summary, chip = run_jobs_side_by_side(path, chip_path)
    else:
        summary = run_training(cfg, config_path=path)
        chip = run_training(load_train_config(chip_path), config_path=chip_path)
    comparison = chip_arithmetic_comparison(summary, chip)
    merge_json(output_dirs(cfg)[1] / "summary.json", {"chip_arithmetic_training": comparison})
    summary["chip_arithmetic_training"] = comparison
    return summary
