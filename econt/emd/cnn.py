"""EMD-CNN: a convolutional network that approximates the exact EMD, and a Keras loss built on it.

Architecture (published ECON-T design, made configurable): the two 48-cell vectors are each
normalised to unit sum, arranged as 4x4x3 images (:func:`econt.geometry.to_443`, one channel
per 16-cell sector) and concatenated to 4x4x6; ``conv_layers`` blocks of Conv2D
(``filters`` x ``kernel_size``², 'same') + batch norm + ReLU; flatten; ``dense_layers`` Dense
(``dense_units``) + batch norm + ReLU; one output. The kit's head predicts log(EMD) and
exponentiates (``exponential`` activation), so the network works in relative terms, which
is what the quality target (relative error) measures and keeps predictions positive. The
model is symmetric by construction: output = mean(f(a, b), f(b, a)).

Training uses exact EMD labels (:mod:`econt.emd.exact`) on pairs from :mod:`econt.emd.pairs`
and augments with the module's exact 3-fold rotation (rolling the sector channels is an
isometry of the ground distance).

Model file format (a folder, default ``build/emd/cnn/``)
    ``model.h5``        tf_keras HDF5 full model; inputs two ``(None, 4, 4, 3)`` float32
                        sum-normalised arrangements (``input_1`` = true/input, ``input_2`` =
                        reconstruction), output ``(None, 1)`` EMD in ground-distance units
                        (neighbouring cells 2 apart). The same interface as the published
                        models in ``shared/peers/fastml-science-emd/`` (those ``.h5`` files
                        load with :func:`load_emd_cnn` too). Loads with
                        ``tf_keras.models.load_model(path, compile=False)``; no custom objects.
    ``emd_cnn.json``    ``{"format": "econt-emd-cnn/1", "config": <EmdCnnConfig as plain
                        data>, "config_hash": str, "data_hash": str (sha256 prefix of the
                        training pairs and labels), "seed": int, "history": {...},
                        "train_seconds": float}``.
    ``resolved_config.yaml`` the resolved config and seed (:func:`econt.config.write_resolved_config`).

:class:`EmdCnnLoss` wraps a saved model as a frozen, differentiable, batched loss
``(y_true (B, 48), y_pred (B, 48)) -> (B,)`` for encoder training.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

import econt  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from econt.emd.pairs import PairsConfig
from econt.config import config_hash, kit_config_path, load_config, to_plain, write_resolved_config
from econt.errors import ConfigError, DataError, EcontError
from econt.geometry import ARRANGE_443, REMAP_8X8
from econt.paths import kit_data, work_dir, workdir

MODEL_FORMAT = "econt-emd-cnn/1"
MODEL_FILE = "model.h5"
META_FILE = "emd_cnn.json"


@dataclass(frozen=True)
class ArchConfig:
    """Network size (published: 32 filters 5x5, 3 conv blocks, 1 dense layer of 256)."""

    filters: int = 32
    kernel_size: int = 5
    conv_layers: int = 3
    dense_units: int = 256
    dense_layers: int = 1
    batch_norm: bool = True

    def validate(self, source: str) -> None:
        for name in ("filters", "kernel_size", "conv_layers", "dense_units"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{source}: field 'arch.{name}' must be >= 1, got {getattr(self, name)}.")
        if self.dense_layers < 0:
            raise ConfigError(f"{source}: field 'arch.dense_layers' must be >= 0, got {self.dense_layers}.")


@dataclass(frozen=True)
class FitConfig:
    """Optimisation. ``loss``: ``log_mse`` = mean (log pred − log true)², ``rel_mse`` = mean
    ((pred − true)/true)², ``mse`` = plain squared error (published choice)."""

    epochs: int = 12
    batch_size: int = 512
    learning_rate: float = 2e-3
    final_learning_rate: float = 5e-5
    loss: Literal["log_mse", "rel_mse", "mse"] = "log_mse"
    rotation_augment: bool = True
    #: pairs whose exact EMD is below this are left out of training (relative error of a
    #: near-zero target is ill-defined); they are counted in the evaluation report.
    min_emd: float = 1e-3
    threads: int = 2

    def validate(self, source: str) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"{source}: 'fit.epochs' and 'fit.batch_size' must be >= 1.")
        if not (0 < self.final_learning_rate <= self.learning_rate):
            raise ConfigError(f"{source}: need 0 < fit.final_learning_rate <= fit.learning_rate.")


@dataclass(frozen=True)
class EmdCnnConfig:
    """Everything one EMD-CNN run depends on (``configs/emd/default.yaml``)."""

    seed: int = 0
    arch: ArchConfig = field(default_factory=ArchConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    pairs: PairsConfig = field(default_factory=PairsConfig)
    #: model folder; null = ``build/emd/cnn`` (under $ECONT_BUILD if set); relative paths
    #: are taken from the working folder. Not part of the model's config hash.
    out_dir: str | None = None

    def resolved_out_dir(self) -> Path:
        if self.out_dir is None:
            return work_dir("emd", "cnn")
        p = Path(self.out_dir)
        return p if p.is_absolute() else workdir() / p

    def model_hash(self) -> str:
        """Hash of everything that determines the trained model (not ``out_dir``, ``pairs.workers``)."""
        return config_hash(dataclasses.replace(self, out_dir=None, pairs=dataclasses.replace(self.pairs, workers=0)))


def default_config_path() -> Path:
    return kit_data("configs", "emd", "default.yaml")


def load_emd_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> EmdCnnConfig:
    return load_config(EmdCnnConfig, kit_config_path("emd", path) if path else default_config_path(), overrides)


# --------------------------------------------------------------------------- model


def build_emd_cnn(arch: ArchConfig, seed: int = 0):
    """The symmetric EMD-CNN (uncompiled tf_keras Model with inputs ``input_1``, ``input_2``)."""
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    tf.random.set_seed(seed)
    in1 = keras.Input((4, 4, 3), name="input_1")
    in2 = keras.Input((4, 4, 3), name="input_2")
    x = layers.Concatenate(name="concat")([in1, in2])
    for i in range(1, arch.conv_layers + 1):
        x = layers.Conv2D(arch.filters, arch.kernel_size, padding="same", use_bias=not arch.batch_norm, name=f"conv2d_{i}")(x)
        if arch.batch_norm:
            x = layers.BatchNormalization(name=f"batchnorm_{i}")(x)
        x = layers.Activation("relu", name=f"relu_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in range(1, arch.dense_layers + 1):
        j = arch.conv_layers + i
        x = layers.Dense(arch.dense_units, use_bias=not arch.batch_norm, name=f"dense_{i}")(x)
        if arch.batch_norm:
            x = layers.BatchNormalization(name=f"batchnorm_{j}")(x)
        x = layers.Activation("relu", name=f"relu_{j}")(x)
    # log(EMD) regression head: exp keeps the output positive and makes errors relative.
    out = layers.Dense(1, activation="exponential", name="output")(x)
    base = keras.Model([in1, in2], out, name="base_model")
    sym = layers.Average(name="average")([base([in1, in2]), base([in2, in1])])
    return keras.Model([in1, in2], sym, name="sym_model")


def to_cnn_input(charges: np.ndarray) -> np.ndarray:
    """``(N, 48)`` charges → ``(N, 4, 4, 3)`` float32 sum-normalised (empty rows stay zero)."""
    x = np.asarray(charges, dtype=np.float64)
    s = x.sum(axis=-1, keepdims=True)
    norm = np.divide(x, s, out=np.zeros_like(x), where=s > 0)
    return norm[..., ARRANGE_443].reshape(x.shape[:-1] + (4, 4, 3)).astype(np.float32)


def _model_file(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    if not p.is_file():
        raise EcontError(
            f"EMD-CNN model '{p}' not found. Train one with `econt emd train` (default folder build/emd/cnn/) "
            "or pass the path of a saved model folder / .h5 file."
        )
    return p


def load_emd_cnn(path: str | Path | None = None):
    """Load a saved EMD-CNN (model folder or ``.h5``; default ``build/emd/cnn``), uncompiled."""
    import tf_keras as keras

    p = _model_file(path or work_dir("emd", "cnn"))
    try:
        model = keras.models.load_model(p, compile=False)
    except (OSError, ValueError) as exc:
        raise EcontError(f"{p}: not a loadable tf_keras model ({exc}). Re-train with `econt emd train`.") from exc
    if len(model.inputs) != 2 or any(tuple(i.shape[1:]) != (4, 4, 3) for i in model.inputs):
        raise EcontError(f"{p}: expected a model with two (None, 4, 4, 3) inputs, got {[i.shape for i in model.inputs]}.")
    return model


def read_model_meta(path: str | Path) -> dict[str, Any] | None:
    """The ``emd_cnn.json`` beside a saved model, or None (e.g. for the published peer files)."""
    p = Path(path)
    meta = (p if p.is_dir() else p.parent) / META_FILE
    return json.loads(meta.read_text()) if meta.is_file() else None


def predict_emd(model, A: np.ndarray, B: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """EMD-CNN predictions for charge rows ``(A[i], B[i])`` → ``(N,)`` float64."""
    x1, x2 = to_cnn_input(A), to_cnn_input(B)
    return model.predict([x1, x2], batch_size=batch_size, verbose=0).reshape(-1).astype(np.float64)


# --------------------------------------------------------------------------- loss


class EmdCnnLoss:
    """Frozen EMD-CNN as a differentiable, batched Keras loss.

    ``loss(y_true, y_pred)`` takes ``(B, 48)`` tensors in cell order (the encoder's output
    arrangement; ``(B, 8, 8, 1)`` images in the ECON-T 8x8 arrangement are accepted too and
    mapped back to cells) and returns the predicted EMD per sample, ``(B,)``. Each vector is
    normalised to unit sum inside (with a small epsilon so an all-zero reconstruction gives a
    finite value and gradient); inputs are expected non-negative, as decoder outputs are.
    Use it directly in ``model.compile(loss=EmdCnnLoss(path))``.
    """

    def __init__(self, model_path: str | Path | None = None, eps: float = 1e-9) -> None:
        import tensorflow as tf

        self.model_path = Path(model_path) if model_path else work_dir("emd", "cnn")
        self.model = load_emd_cnn(self.model_path)
        self.model.trainable = False
        for layer in self.model.layers:
            layer.trainable = False
        self.eps = float(eps)
        self.__name__ = "emd_cnn_loss"  # Keras names the metric after this
        self._arrange = tf.constant(ARRANGE_443, dtype=tf.int32)
        self._remap = tf.constant(REMAP_8X8, dtype=tf.int32)

    def _to_443(self, x):
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        x = tf.cast(x, tf.float32)
        if x.shape.rank == 4:  # (B, 8, 8, 1) hardware image → (B, 48) cells
            x = tf.gather(tf.reshape(x, (-1, 64)), self._remap, axis=1)
        elif x.shape.rank != 2 or (x.shape[-1] is not None and x.shape[-1] != 48):
            raise DataError(f"EmdCnnLoss: expected (B, 48) cells or (B, 8, 8, 1) images, got shape {x.shape}.")
        x = x / (tf.reduce_sum(x, axis=1, keepdims=True) + self.eps)
        return tf.reshape(tf.gather(x, self._arrange, axis=1), (-1, 4, 4, 3))

    def __call__(self, y_true, y_pred):
        import tensorflow as tf

        out = self.model([self._to_443(y_true), self._to_443(y_pred)], training=False)
        return tf.reshape(out, (-1,))

    def get_config(self) -> dict[str, Any]:
        return {"model_path": str(self.model_path), "eps": self.eps}


# --------------------------------------------------------------------------- training


def _fit_loss(kind: str):
    import tensorflow as tf

    def log_mse(y_true, y_pred):
        y_true = tf.reshape(y_true, (-1,))
        y_pred = tf.reshape(y_pred, (-1,))
        return tf.square(tf.math.log(y_pred + 1e-7) - tf.math.log(y_true))

    def rel_mse(y_true, y_pred):
        y_true = tf.reshape(y_true, (-1,))
        y_pred = tf.reshape(y_pred, (-1,))
        return tf.square((y_pred - y_true) / y_true)

    return {"log_mse": log_mse, "rel_mse": rel_mse, "mse": "mse"}[kind]


def pairs_data_hash(A: np.ndarray, B: np.ndarray, y: np.ndarray) -> str:
    """sha256 prefix over the training pairs and labels (recorded with the model)."""
    h = hashlib.sha256()
    for arr in (A, B, y):
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def train_emd_cnn(
    cfg: EmdCnnConfig,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    out_dir: str | Path | None = None,
    verbose: int = 1,
) -> tuple[Any, dict[str, Any]]:
    """Train a symmetric EMD-CNN on ``(A, B, emd)`` charge pairs; save it if ``out_dir`` is given.

    Returns ``(model, meta)``; ``meta`` is what ``emd_cnn.json`` holds.
    """
    import tensorflow as tf
    import tf_keras as keras

    try:
        tf.config.threading.set_intra_op_parallelism_threads(cfg.fit.threads)
        tf.config.threading.set_inter_op_parallelism_threads(cfg.fit.threads)
    except RuntimeError:
        pass  # TensorFlow already initialised in this process: keep its thread pools
    A, B, y = train
    keep = np.isfinite(y) & (y >= cfg.fit.min_emd)
    if keep.sum() < 2:
        raise DataError(f"train_emd_cnn: only {int(keep.sum())} usable training pairs (EMD >= fit.min_emd).")
    A, B, y = A[keep], B[keep], y[keep]
    data_hash = pairs_data_hash(A, B, y)
    rng = np.random.default_rng(cfg.seed)
    keras.utils.set_random_seed(cfg.seed)

    x1, x2 = to_cnn_input(A), to_cnn_input(B)
    ds = tf.data.Dataset.from_tensor_slices(((x1, x2), y.astype(np.float32)))
    ds = ds.shuffle(min(len(y), 200_000), seed=int(rng.integers(2**31)), reshuffle_each_iteration=True)
    ds = ds.batch(cfg.fit.batch_size)
    if cfg.fit.rotation_augment:
        # Rolling the three sector channels is an exact rotation of the module (the ground
        # distance is invariant). Each pair gets its own random rotation: rotating whole
        # batches would give batch-norm batch statistics that its moving averages (used at
        # inference) do not reproduce, which showed up as a -5 % bias.
        def rotate(xs, t):
            k = tf.random.uniform((tf.shape(t)[0],), 0, 3, dtype=tf.int32)

            def per_sample(x):
                stacked = tf.stack([x, tf.roll(x, 1, axis=3), tf.roll(x, 2, axis=3)], axis=1)
                return tf.gather(stacked, k, axis=1, batch_dims=1)

            return (per_sample(xs[0]), per_sample(xs[1])), t

        ds = ds.map(rotate)
    ds = ds.prefetch(2)

    val_data = None
    if val is not None:
        va, vb, vy = val
        vkeep = np.isfinite(vy) & (vy >= cfg.fit.min_emd)
        val_data = ((to_cnn_input(va[vkeep]), to_cnn_input(vb[vkeep])), vy[vkeep].astype(np.float32))

    model = build_emd_cnn(cfg.arch, seed=cfg.seed)
    steps = cfg.fit.epochs * int(np.ceil(len(y) / cfg.fit.batch_size))
    # cosine decay to final_learning_rate: no tuning of a plateau schedule needed
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.fit.learning_rate, steps, alpha=cfg.fit.final_learning_rate / cfg.fit.learning_rate
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=_fit_loss(cfg.fit.loss))
    t0 = time.perf_counter()
    hist = model.fit(ds, epochs=cfg.fit.epochs, validation_data=val_data, verbose=verbose)
    _recalibrate_batchnorm(model, x1, x2, cfg.seed)
    seconds = time.perf_counter() - t0
    meta = {
        "format": MODEL_FORMAT,
        "config": to_plain(cfg),
        "config_hash": cfg.model_hash(),
        "data_hash": data_hash,
        "seed": cfg.seed,
        "n_train_pairs": int(len(y)),
        "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
        "train_seconds": seconds,
    }
    if out_dir is not None:
        save_emd_cnn(model, meta, out_dir)
    return model, meta


def _batchnorm_layers(model) -> list:
    from tf_keras import layers

    found = []
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(_batchnorm_layers(layer))
    return found


def _recalibrate_batchnorm(model, x1: np.ndarray, x2: np.ndarray, seed: int, n: int = 20_000) -> None:
    """Set every batch-norm layer's moving statistics to the exact statistics of ``n`` training
    pairs under the final weights.

    The moving averages accumulated during training lag the weights (visible as a noisy
    validation loss and a few-percent bias); one forward pass in training mode with momentum 0
    over both input orders (the base network sees (a, b) and (b, a)) replaces them with the
    population statistics that inference then uses.
    """
    bns = _batchnorm_layers(model)
    if not bns:
        return
    idx = np.random.default_rng(seed).permutation(len(x1))[:n]
    a = np.concatenate([x1[idx], x2[idx]])
    b = np.concatenate([x2[idx], x1[idx]])
    saved = [bn.momentum for bn in bns]
    try:
        for bn in bns:
            bn.momentum = 0.0
        model([a, b], training=True)
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m


def save_emd_cnn(model, meta: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``model.h5`` + ``emd_cnn.json`` + ``resolved_config.yaml`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE, include_optimizer=False)
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    write_resolved_config(out, meta["config"], seed=meta.get("seed"))
    return out
