"""A small float autoencoder of the ECON-T shape, used only to make `ae`-mode EMD-CNN pairs.

The EMD-CNN, when used as a loss, sees (input, reconstruction) pairs from an encoder in
training, whose quality runs from a random initialisation to a converged model. To train
the CNN on that kind of pair, this module trains its own float autoencoder (8x8x1 input →
Conv2D 8 filters 3x3 stride 2 'same' → Dense ``latent`` → mirrored decoder with a sigmoid
output, the published ECON-T training shape) with MSE on sum-normalised inputs, and keeps
snapshots after a list of optimiser steps (step 0 = untrained), so reconstructions span
poor → good. It is internal to the EMD stage; the kit's real encoder lives in
``econt.model``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

import econt  # noqa: F401
from econt.errors import ConfigError
from econt.geometry import from_8x8, to_8x8


@dataclass(frozen=True)
class AeGenConfig:
    latent: int = 16
    latent_activation: Literal["relu", "linear"] = "linear"
    conv_filters: int = 8
    batch_size: int = 256
    learning_rate: float = 3e-3
    #: optimiser steps after which a snapshot's reconstructions are taken (0 = untrained)
    snapshot_steps: tuple[int, ...] = (0, 300, 500, 700, 1000, 2000)

    def validate(self, source: str) -> None:
        steps = self.snapshot_steps
        if not steps or any(s < 0 for s in steps) or list(steps) != sorted(set(steps)):
            raise ConfigError(
                f"{source}: field 'pairs.ae.snapshot_steps' must be a non-empty increasing list of steps >= 0, got {steps}."
            )


def _build(cfg: AeGenConfig):
    import tf_keras as keras
    from tf_keras import layers

    inp = keras.Input((8, 8, 1))
    x = layers.Conv2D(cfg.conv_filters, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.Flatten()(x)
    z = layers.Dense(cfg.latent, activation=cfg.latent_activation)(x)
    x = layers.Dense(4 * 4 * cfg.conv_filters, activation="relu")(z)
    x = layers.Reshape((4, 4, cfg.conv_filters))(x)
    x = layers.Conv2DTranspose(cfg.conv_filters, 3, strides=2, padding="same", activation="relu")(x)
    # Output bias at logit(1/48): an untrained decoder then outputs ~ the mean cell share
    # instead of 0.5 everywhere, which skips an early collapse phase of MSE training.
    x = layers.Conv2DTranspose(1, 3, strides=1, padding="same", bias_initializer=keras.initializers.Constant(-3.85))(x)
    out = layers.Activation("sigmoid")(x)
    return keras.Model(inp, out)


def snapshot_reconstructions(
    cfg: AeGenConfig, train_charges: np.ndarray, apply_to: list[np.ndarray], seed: int, verbose: bool = True
) -> list[np.ndarray]:
    """Train on ``train_charges`` (N, 48); for each array in ``apply_to`` return its
    reconstructions at every snapshot, shape ``(n_snapshots, M, 48)`` (non-negative)."""
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    model = _build(cfg)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="mse")

    def norm8(x: np.ndarray) -> np.ndarray:
        s = x.sum(axis=1, keepdims=True)
        return to_8x8(np.divide(x, s, out=np.zeros_like(x), where=s > 0)).astype(np.float32)

    xtr = norm8(train_charges)
    inputs = [norm8(a) for a in apply_to]
    outs: list[list[np.ndarray]] = [[] for _ in apply_to]
    rng = np.random.default_rng(seed)
    step = 0
    steps = list(cfg.snapshot_steps)
    it = steps
    if verbose:
        from tqdm import tqdm

        it = tqdm(steps, desc="ae snapshots", unit="snap")
    ds = tf.data.Dataset.from_tensor_slices((xtr, xtr)).shuffle(len(xtr), seed=int(rng.integers(2**31)))
    batches = iter(ds.repeat().batch(cfg.batch_size).prefetch(2))
    for target in it:
        if target > step:
            # one fit call per snapshot interval: far less per-step overhead than train_on_batch
            model.fit(batches, steps_per_epoch=target - step, epochs=1, verbose=0)
            step = target
        for k, x in enumerate(inputs):
            rec = model.predict(x, batch_size=8192, verbose=0)
            outs[k].append(np.clip(from_8x8(rec).astype(np.float64), 0.0, None))
    return [np.stack(o) for o in outs]
