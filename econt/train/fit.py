"""The training loop: one autoencoder, one loss, early stopping, checkpoints, curves.

The model engineer's autoencoder works on the hardware image (8x8x1, or the
4x4x3 arrangement); the losses work on the 48 cells. :func:`cells_model` wraps
the autoencoder so that training sees ``(B, 48) → (B, 48)``: the cell→image
placement and its inverse are fixed gathers inside the graph (no trainable
weights, so the wrapped autoencoder's own weights are what gets trained and
saved).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import econt  # noqa: F401
import tensorflow as tf
import tf_keras as keras

from econt.errors import StageError
from econt.geometry import ARRANGE_443, REMAP_8X8


def _placement(shape: tuple) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]] | None:
    """(cells→flat-image gather index with 48 = zero, flat-image→cells index, image shape) for a model I/O shape."""
    dims = tuple(int(d) for d in shape[1:])
    if dims in ((48,),):
        return None
    if dims in ((8, 8, 1), (8, 8), (64,)):
        to_img = np.full(64, 48, dtype=np.int32)
        to_img[REMAP_8X8] = np.arange(48)
        return to_img, REMAP_8X8.astype(np.int32), dims
    if dims == (4, 4, 3):
        to_img = np.asarray(ARRANGE_443, dtype=np.int32)
        to_cells = np.empty(48, dtype=np.int32)
        to_cells[ARRANGE_443] = np.arange(48)
        return to_img, to_cells, dims
    raise StageError(f"train: the autoencoder's input/output shape {shape} is not one of (48,), (8,8,1), "
                     "(4,4,3); the model config's arrangement is not supported by the trainer.")


class _CellsToImage(keras.layers.Layer):
    def __init__(self, index: np.ndarray, dims: tuple[int, ...], **kw: Any) -> None:
        super().__init__(trainable=False, **kw)
        self.index = np.asarray(index, dtype=np.int32)
        self.dims = tuple(dims)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        padded = tf.concat([x, tf.zeros_like(x[:, :1])], axis=1)
        return tf.reshape(tf.gather(padded, self.index, axis=1), (-1,) + self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "index": self.index.tolist(), "dims": list(self.dims)}


class _ImageToCells(keras.layers.Layer):
    def __init__(self, index: np.ndarray, **kw: Any) -> None:
        super().__init__(trainable=False, **kw)
        self.index = np.asarray(index, dtype=np.int32)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        flat = tf.reshape(x, (tf.shape(x)[0], -1))
        return tf.gather(flat, self.index, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "index": self.index.tolist()}


def cells_model(autoencoder: keras.Model) -> keras.Model:
    """``(B, 48) → (B, 48)`` view of ``autoencoder`` (shares its weights)."""
    inp = keras.Input((48,), name="cells_in")
    place_in = _placement(autoencoder.input_shape)
    x = inp if place_in is None else _CellsToImage(place_in[0], place_in[2], name="cells_to_image")(inp)
    y = autoencoder(x)
    place_out = _placement(autoencoder.output_shape)
    out = y if place_out is None else _ImageToCells(place_out[1], name="image_to_cells")(y)
    return keras.Model(inp, out, name="autoencoder_cells")


class TqdmEpochs(keras.callbacks.Callback):
    """One tqdm bar over epochs, with the latest losses as postfix."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        super().__init__()
        self.total, self.desc, self.enabled = total, desc, enabled
        self.bar = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc=self.desc, unit="epoch", disable=not self.enabled, leave=True)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in (logs or {}).items() if k != "lr"})

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.close()


class MseMixSchedule(keras.callbacks.Callback):
    """Linearly decays the MSE term of an :class:`EmdCnnMixedLoss` to 0 over ``decay_epochs``."""

    def __init__(self, loss: Any, start: float, decay_epochs: int) -> None:
        super().__init__()
        self.loss, self.start, self.decay_epochs = loss, float(start), int(decay_epochs)

    def weight_at(self, epoch: int) -> float:
        if self.decay_epochs <= 0:
            return 0.0
        return self.start * max(0.0, 1.0 - epoch / self.decay_epochs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.loss.set_mse_weight(self.weight_at(epoch))


@dataclass
class FitResult:
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    monitor: str
    stopped_early: bool
    extra: dict[str, Any] = field(default_factory=dict)


def fit_autoencoder(autoencoder: keras.Model, loss: Callable, x_train: np.ndarray, x_val: np.ndarray, *,
                    y_train: np.ndarray | None = None, y_val: np.ndarray | None = None,
                    epochs: int, batch_size: int, learning_rate: float, patience: int, min_delta: float = 0.0,
                    lr_factor: float = 0.5, lr_patience: int = 3, seed: int = 0, out_dir: Path,
                    desc: str = "train", progress: bool = True, metrics: list | None = None,
                    monitor: str = "val_loss", extra_callbacks: list | None = None,
                    start_from_epoch: int = 0, steps_per_execution: int = 1) -> FitResult:
    """Train ``autoencoder`` in place to map its (B, 48) input to ``y`` (default: the input) under ``loss``.

    The best weights (by ``monitor``) are restored at the end and also written as
    a checkpoint ``out_dir/checkpoint.weights.h5`` during training; the history goes
    to ``out_dir/history.json`` and ``out_dir/training_curve.png``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = cells_model(autoencoder)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics or [],
                  steps_per_execution=steps_per_execution)
    ckpt = out_dir / "checkpoint.weights.h5"
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=patience, min_delta=min_delta,
                                            restore_best_weights=True, start_from_epoch=start_from_epoch)
    callbacks: list = [
        stopper,
        keras.callbacks.ModelCheckpoint(str(ckpt), monitor=monitor, mode="min", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.TerminateOnNaN(),
        TqdmEpochs(epochs, desc, progress),
    ]
    if lr_factor < 1.0:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="min", factor=lr_factor,
                                                           patience=lr_patience, min_lr=learning_rate / 64,
                                                           min_delta=0.0))
    callbacks = list(extra_callbacks or []) + callbacks
    x_train = np.asarray(x_train, dtype=np.float32)
    x_val = np.asarray(x_val, dtype=np.float32)
    y_train = x_train if y_train is None else np.asarray(y_train, dtype=np.float32)
    y_val = x_val if y_val is None else np.asarray(y_val, dtype=np.float32)
    if y_train.shape != x_train.shape or y_val.shape != x_val.shape:
        raise StageError(f"train ({desc}): targets {y_train.shape}/{y_val.shape} do not match the inputs "
                         f"{x_train.shape}/{x_val.shape}.")
    t0 = time.perf_counter()
    hist = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
                     shuffle=True, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    if any(not np.all(np.isfinite(v)) for v in history.values()):
        raise StageError(f"train ({desc}): the loss became NaN/inf (history in {out_dir}); lower "
                         "fit.learning_rate in the training config.")
    monitored = history.get(monitor, [])
    # EarlyStopping only tracks (and restores) the best epoch from start_from_epoch on
    first = min(start_from_epoch, max(len(monitored) - 1, 0))
    best_epoch = first + int(np.argmin(monitored[first:])) if monitored else len(history.get("loss", [])) - 1
    epochs_run = len(history.get("loss", []))
    (out_dir / "history.json").write_text(json.dumps({"history": history, "best_epoch": best_epoch,
                                                      "monitor": monitor, "seconds": seconds}, indent=1))
    plot_history(history, out_dir / "training_curve.png", title=desc, best_epoch=best_epoch)
    return FitResult(history=history, best_epoch=best_epoch, epochs_run=epochs_run, seconds=seconds,
                     monitor=monitor, stopped_early=epochs_run < epochs)


def plot_history(history: dict[str, list[float]], path: Path, title: str = "", best_epoch: int | None = None) -> None:
    """Loss curves (train and validation; every logged quantity) on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in history if not k.startswith("val_") and k != "lr"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        if best_epoch is not None and 0 <= best_epoch < len(epochs):
            ax.axvline(best_epoch + 1, color="grey", ls=":", label="best (restored)")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def predict_cells(autoencoder: keras.Model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Decoded ``(N, 48)`` for ``(N, 48)`` inputs (float64)."""
    model = cells_model(autoencoder)
    return np.asarray(model.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0),
                      dtype=np.float64)
