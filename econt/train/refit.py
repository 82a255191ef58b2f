"""Active refit of the EMD-CNN surrogate on the autoencoder's own reconstructions, and
checkpoint selection by the exact EMD.

The EMD-CNN is fitted (EMD stage) on module pairs and on reconstructions of a small float
autoencoder, not on the reconstructions of the encoder being trained. Used as a loss, the
encoder drifts into a region of map space the surrogate has seen little of, where its value
and gradient are less faithful, and can exploit its errors. :class:`SurrogateRefit`
(a Keras callback) therefore, every few epochs, takes the current reconstructions of a
sample of training modules, labels them with the exact EMD (:func:`econt.emd.exact.emd_batch`,
POT's network simplex), fine-tunes a trainable copy of the surrogate on them (plus all earlier
refit pairs and a fixed set of module-vs-module anchor pairs, so it stays calibrated away from
the current reconstructions), and copies the weights into the frozen surrogate the loss
calls. The loss's compiled graph reads the surrogate's variables, so no retracing happens.
Batch-norm layers stay frozen during the refit (inference statistics unchanged; standard
practice for fine-tuning). This phase only makes sense for the EMD-CNN loss.

:class:`ExactEmdMonitor` writes ``val_exact_emd`` (mean exact EMD of the validation
reconstructions) into the epoch logs, so early stopping, the best checkpoint and the
learning-rate plateau can watch the figure of merit itself rather than a loss. It is applied
identically to every loss (the surrogate's own value changes at each refit, so it could not be
the selection criterion of a refitted run anyway).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

import econt  # noqa: F401
import tensorflow as tf
import tf_keras as keras

from econt.emd.exact import emd_batch

EXACT_MONITOR = "val_exact_emd"


def _predict(model: keras.Model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    return np.clip(np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64), 0.0, None)


def mean_exact_emd(model: keras.Model, x: np.ndarray, workers: int = 2, target: np.ndarray | None = None) -> float:
    """Mean exact EMD between ``target`` (default ``x``; (B, 48)) and the model's reconstruction of ``x``
    (undefined pairs left out)."""
    ref = x if target is None else target
    emd = emd_batch(np.asarray(ref, dtype=np.float64), _predict(model, x), workers=workers)
    return float(np.nanmean(emd))


class ExactEmdMonitor(keras.callbacks.Callback):
    """Adds ``val_exact_emd`` to the epoch logs (before the callbacks that read it)."""

    def __init__(self, x_val: np.ndarray, workers: int = 2, target: np.ndarray | None = None) -> None:
        super().__init__()
        self.x_val = np.asarray(x_val, dtype=np.float32)
        self.target = self.x_val if target is None else np.asarray(target, dtype=np.float64)
        self.workers = workers

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs[EXACT_MONITOR] = mean_exact_emd(self.model, self.x_val, self.workers, target=self.target)


def _log_sq_err(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    y_true = tf.reshape(y_true, (-1,))
    y_pred = tf.reshape(y_pred, (-1,))
    return tf.square(tf.math.log(y_pred + 1e-7) - tf.math.log(y_true))


def _to_cnn(x: np.ndarray) -> np.ndarray:
    from econt.emd.cnn import to_cnn_input

    return to_cnn_input(x)


def surrogate_relative_error(surrogate: keras.Model, a: np.ndarray, b: np.ndarray, exact: np.ndarray,
                             min_emd: float = 1e-3) -> dict[str, float]:
    """Mean and r.m.s. of (surrogate / exact − 1) and mean |log ratio| over pairs with exact ≥ ``min_emd``."""
    ok = np.isfinite(exact) & (exact >= min_emd)
    pred = surrogate.predict([_to_cnn(a[ok]), _to_cnn(b[ok])], batch_size=8192, verbose=0).reshape(-1)
    rel = pred / exact[ok] - 1.0
    return {"rel_mean": float(rel.mean()), "rel_std": float(rel.std()),
            "rel_rms": float(np.sqrt(np.mean(rel ** 2))),
            "abs_log_mean": float(np.mean(np.abs(np.log(pred + 1e-12) - np.log(exact[ok]))))}


def refit_surrogate(surrogate: keras.Model, trainable: keras.Model, a: np.ndarray, b: np.ndarray, y: np.ndarray, *,
                    epochs: int, learning_rate: float, batch_size: int = 512, seed: int = 0,
                    min_emd: float = 1e-3) -> None:
    """Fine-tune ``trainable`` (a copy of ``surrogate``, batch norm frozen) on exact-labelled
    pairs ``(a, b, y)`` and copy its weights into ``surrogate``."""
    keep = np.isfinite(y) & (y >= min_emd)
    x1, x2, t = _to_cnn(a[keep]), _to_cnn(b[keep]), y[keep].astype(np.float32)
    # both orders: the surrogate is symmetric by construction, the data need not be
    x1, x2, t = np.concatenate([x1, x2]), np.concatenate([x2, x1]), np.concatenate([t, t])
    trainable.set_weights(surrogate.get_weights())
    keras.utils.set_random_seed(seed)
    trainable.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_log_sq_err)
    trainable.fit([x1, x2], t, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    surrogate.set_weights(trainable.get_weights())


def trainable_copy(model_path: Any) -> keras.Model:
    """A fresh, trainable copy of the saved surrogate with its batch-norm layers frozen."""
    from econt.emd.cnn import _batchnorm_layers, load_emd_cnn

    copy = load_emd_cnn(model_path)
    copy.trainable = True
    for bn in _batchnorm_layers(copy):
        bn.trainable = False  # tf_keras: a non-trainable BN layer runs in inference mode
    return copy


class SurrogateRefit(keras.callbacks.Callback):
    """Refits the EMD-CNN surrogate on the current reconstructions every ``every`` epochs from ``start``.

    ``surrogate`` is the frozen model the loss calls (``EmdCnnLoss.model``); ``model_path`` is
    where it was loaded from (for the trainable copy). ``x_train`` / ``x_val`` are the (B, 48)
    network inputs, ``y_train`` / ``y_val`` the maps the reconstructions are compared with
    (default: the inputs; the EMD is scale-free, so normalised maps serve as the charges).
    Each refit's surrogate error on fresh validation reconstructions, before and after, is
    kept in :attr:`records`.
    """

    def __init__(self, surrogate: keras.Model, model_path: Any, x_train: np.ndarray, x_val: np.ndarray, *,
                 y_train: np.ndarray | None = None, y_val: np.ndarray | None = None,
                 start: int, every: int, n_pairs: int, n_anchor: int, epochs: int, learning_rate: float,
                 max_recon_pairs: int | None = None, batch_size: int = 512, n_val: int = 5000,
                 workers: int = 2, seed: int = 0, verbose: bool = True) -> None:
        super().__init__()
        self.surrogate, self.model_path = surrogate, model_path
        self.x_train = np.asarray(x_train, dtype=np.float32)
        self.x_val = np.asarray(x_val, dtype=np.float32)
        self.y_train = self.x_train if y_train is None else np.asarray(y_train, dtype=np.float32)
        self.y_val = self.x_val if y_val is None else np.asarray(y_val, dtype=np.float32)
        self.start, self.every = int(start), max(1, int(every))
        self.n_pairs, self.n_anchor, self.epochs = int(n_pairs), int(n_anchor), int(epochs)
        self.learning_rate, self.batch_size = float(learning_rate), int(batch_size)
        # reconstruction pairs kept (most recent first; the anchor pairs always stay): bounds
        # the refit's cost as training goes on
        self.max_recon_pairs = int(max_recon_pairs) if max_recon_pairs else 3 * self.n_pairs
        self.n_val, self.workers, self.seed, self.verbose = int(n_val), workers, int(seed), verbose
        self.rng = np.random.default_rng([self.seed, 4242])
        self.records: list[dict[str, Any]] = []
        self._copy: keras.Model | None = None
        self._buf_a: list[np.ndarray] = []
        self._buf_b: list[np.ndarray] = []
        self._buf_y: list[np.ndarray] = []

    def _anchor(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # module-vs-module pairs of training inputs: keeps the surrogate calibrated on the
        # broad kind of pair it was originally fitted on
        n = len(self.x_train)
        i = self.rng.integers(0, n, self.n_anchor)
        j = (i + self.rng.integers(1, n, self.n_anchor)) % n
        a, b = self.y_train[i].astype(np.float64), self.y_train[j].astype(np.float64)
        return a, b, emd_batch(a, b, workers=self.workers)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._copy = trainable_copy(self.model_path)
        if self.n_anchor > 0:
            a, b, y = self._anchor()
            self._buf_a.append(a), self._buf_b.append(b), self._buf_y.append(y)

    def due(self, epoch: int) -> bool:
        return epoch >= self.start and (epoch - self.start) % self.every == 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.due(epoch):
            return
        t0 = time.perf_counter()
        idx = self.rng.choice(len(self.x_train), min(self.n_pairs, len(self.x_train)), replace=False)
        a = self.y_train[idx].astype(np.float64)
        b = _predict(self.model, self.x_train[idx])
        y = emd_batch(a, b, workers=self.workers)
        self._buf_a.append(a), self._buf_b.append(b), self._buf_y.append(y)
        first = 1 if self.n_anchor > 0 else 0
        while len(self._buf_y) > first + 1 and sum(len(v) for v in self._buf_y[first:]) > self.max_recon_pairs:
            for buf in (self._buf_a, self._buf_b, self._buf_y):
                del buf[first]
        vidx = self.rng.choice(len(self.x_val), min(self.n_val, len(self.x_val)), replace=False)
        va = self.y_val[vidx].astype(np.float64)
        vb = _predict(self.model, self.x_val[vidx])
        vy = emd_batch(va, vb, workers=self.workers)
        before = surrogate_relative_error(self.surrogate, va, vb, vy)
        refit_surrogate(self.surrogate, self._copy, np.concatenate(self._buf_a), np.concatenate(self._buf_b),
                        np.concatenate(self._buf_y), epochs=self.epochs, learning_rate=self.learning_rate,
                        batch_size=self.batch_size, seed=self.seed + epoch)
        after = surrogate_relative_error(self.surrogate, va, vb, vy)
        rec = {"epoch": epoch + 1, "n_pairs": int(sum(len(y) for y in self._buf_y)), "before": before,
               "after": after, "seconds": time.perf_counter() - t0}
        self.records.append(rec)
        if self.verbose:
            print(f"  surrogate refit after epoch {epoch + 1}: rel. error on val reconstructions "
                  f"{before['rel_mean']:+.3f} ± {before['rel_std']:.3f} → {after['rel_mean']:+.3f} ± "
                  f"{after['rel_std']:.3f} ({rec['n_pairs']} pairs, {rec['seconds']:.0f} s)", flush=True)
