"""QKeras encoder, float decoder and autoencoder of the ECON-T architecture.

Layer names follow the deployed models so that their weights load by name:
``input_qa`` → ``conv2d`` → ``accum1_qa`` → ``flatten`` → ``encoded_vector`` → ``encod_qa``
(the AE/ model calls its convolution ``conv2d_0_m``; :func:`load_deployed_encoder`
maps it), decoder ``decoder_input`` → ``dense`` → ``reshape`` → ``conv2d_transpose`` →
``conv2d_transpose_1`` → ``decoder_output`` → ``decoder_cells`` (the 48 cells).

Models are saved as weights (Keras 2 HDF5) + the resolved :class:`EncoderConfig`
(:func:`save_encoder` / :func:`load_encoder`), never as pickled Python: the architecture
is always rebuilt from the config.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import econt  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
import numpy as np
import yaml

from econt.config import build_dataclass, to_plain
from econt.errors import ConfigError, DataError
from econt.model.config import EncoderConfig, load_encoder_config

ENCODER_WEIGHTS = "encoder.weights.h5"
DECODER_WEIGHTS = "decoder.weights.h5"
MODEL_CONFIG = "model_config.yaml"


def _tf():
    import tensorflow as tf  # noqa: F401
    import tf_keras

    return tf_keras


def input_quantizer(cfg: EncoderConfig):
    from qkeras import quantized_bits

    return quantized_bits(cfg.input_bits, cfg.input_integer, keep_negative=0, alpha=1)


def weight_quantizer(cfg: EncoderConfig):
    from qkeras import quantized_bits

    return quantized_bits(cfg.weight_bits, cfg.weight_integer, keep_negative=1, alpha=1)


def bias_quantizer(cfg: EncoderConfig):
    from qkeras import quantized_bits

    return quantized_bits(cfg.bias_bits, cfg.bias_integer, keep_negative=1, alpha=1)


def _chip_layers(cfg: EncoderConfig) -> tuple[type, type]:
    """QConv2D / QDense whose forward sums truncate every product as the ECON-T does.

    Forward: ``Σ floor(x·w · 2**p) / 2**p + b`` with ``p`` the next activation's fractional bits
    (conv ``conv_act_frac``, dense ``latent_frac``) — bit for bit ``IntegerEncoder(arithmetic="chip")``:
    every value is a multiple of 2**-12 far below 2**24, so float32 is exact. Backward: the
    gradient of the exact sum (straight-through), so training sees the truncation's bias in the
    loss and learns to compensate it.
    """
    import tensorflow as tf
    from qkeras import QConv2D, QDense

    def chip_sum(exact, prods, axis: int, frac: int, bias):
        scale = float(2 ** frac)
        chip = tf.reduce_sum(tf.floor(prods * scale), axis=axis) / scale
        if bias is not None:
            chip = chip + bias
        return exact + tf.stop_gradient(chip - exact)

    class ChipQConv2D(QConv2D):
        def call(self, inputs):
            exact = super().call(inputs)
            kernel = self.kernel_quantizer_internal(self.kernel)
            kh, kw = self.kernel_size
            sh, sw = self.strides
            # (B, oh, ow, kh·kw·c) in the kernel's (kh, kw, c) order, TF 'same' padding
            patches = tf.image.extract_patches(inputs, sizes=[1, kh, kw, 1], strides=[1, sh, sw, 1],
                                               rates=[1, 1, 1, 1], padding="SAME")
            prods = patches[..., :, None] * tf.reshape(kernel, (-1, self.filters))
            bias = self.bias_quantizer_internal(self.bias) if self.use_bias else None
            return chip_sum(exact, prods, -2, cfg.conv_act_frac, bias)

    class ChipQDense(QDense):
        def call(self, inputs):
            exact = super().call(inputs)
            kernel = self.kernel_quantizer_internal(self.kernel)
            prods = inputs[:, :, None] * kernel[None]
            bias = self.bias_quantizer_internal(self.bias) if self.use_bias else None
            return chip_sum(exact, prods, 1, cfg.latent_frac, bias)

    return ChipQConv2D, ChipQDense


def build_encoder(cfg: EncoderConfig, name: str = "encoder"):
    """QKeras encoder: input image (cfg.input_shape, normalised charges) → (N, latent_dim).

    ``cfg.arithmetic == "chip"``: the convolution and dense sums truncate every product as the
    ECON-T does (:func:`_chip_layers`); same layers, names and weights otherwise.
    """
    keras = _tf()
    from qkeras import QActivation, QConv2D, QDense, quantized_relu

    if cfg.arithmetic == "chip":
        QConv2D, QDense = _chip_layers(cfg)  # noqa: N806  (layer classes)

    inputs = keras.Input(shape=cfg.input_shape, name="input_1")
    x = QActivation(input_quantizer(cfg), name="input_qa")(inputs)
    x = QConv2D(cfg.conv_filters, cfg.conv_kernel, strides=cfg.conv_stride, padding="same",
                kernel_quantizer=weight_quantizer(cfg), bias_quantizer=bias_quantizer(cfg),
                name="conv2d")(x)
    x = QActivation(quantized_relu(cfg.conv_act_bits, cfg.conv_act_integer), name="accum1_qa")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = QDense(cfg.latent_dim, kernel_quantizer=weight_quantizer(cfg), bias_quantizer=bias_quantizer(cfg),
               name="encoded_vector")(x)
    x = QActivation(quantized_relu(cfg.latent_bits, cfg.latent_integer), name="encod_qa")(x)
    return keras.Model(inputs, x, name=name)


class _CellGather:
    """Factory for a layer picking the 48 cells out of the decoded image (no weights)."""

    @staticmethod
    def make(cfg: EncoderConfig):
        keras = _tf()
        import tensorflow as tf

        from econt.geometry import ARRANGE_443, REMAP_8X8

        if cfg.arrangement == "8x8":
            index = np.asarray(REMAP_8X8, dtype=np.int32)          # cell i ← flat pixel REMAP_8X8[i]
        else:
            index = np.empty(48, dtype=np.int32)
            index[np.asarray(ARRANGE_443)] = np.arange(48)         # cell c ← flat (row, col, sector) slot
        size = int(np.prod(cfg.input_shape))

        class CellGather(keras.layers.Layer):
            def call(self, image):
                flat = tf.reshape(image, (-1, size))
                return tf.gather(flat, index, axis=1)

        return CellGather(name="decoder_cells")


def build_decoder(cfg: EncoderConfig, name: str = "decoder"):
    """Float decoder mirroring the encoder: (N, latent_dim) → (N, 48) cells (normalised units)."""
    keras = _tf()
    h, w = cfg.conv_out_hw
    inputs = keras.Input(shape=(cfg.latent_dim,), name="decoder_input")
    x = keras.layers.Dense(cfg.flat_dim, activation=cfg.decoder_activation, name="dense")(inputs)
    x = keras.layers.Reshape((h, w, cfg.conv_filters), name="reshape")(x)
    x = keras.layers.Conv2DTranspose(cfg.conv_filters, cfg.conv_kernel, strides=cfg.conv_stride, padding="same",
                                     activation=cfg.decoder_activation, name="conv2d_transpose")(x)
    x = keras.layers.Conv2DTranspose(cfg.in_channels, cfg.conv_kernel, padding="same", name="conv2d_transpose_1")(x)
    x = keras.layers.Activation(cfg.decoder_output_activation, name="decoder_output")(x)
    x = _CellGather.make(cfg)(x)
    return keras.Model(inputs, x, name=name)


def build_autoencoder(cfg: EncoderConfig, name: str = "autoencoder"):
    """Encoder + decoder: input image → (N, 48) cells. Sub-models: ``get_layer('encoder'|'decoder')``."""
    keras = _tf()
    encoder = build_encoder(cfg)
    decoder = build_decoder(cfg)
    inputs = keras.Input(shape=cfg.input_shape, name="ae_input")
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)


def cells_to_input(cells: np.ndarray, cfg: EncoderConfig) -> np.ndarray:
    """(N, 48) → the encoder's input image (N, *cfg.input_shape) in cfg's arrangement."""
    from econt.geometry import to_443, to_8x8

    return to_8x8(cells) if cfg.arrangement == "8x8" else to_443(cells)


# ---------------------------------------------------------------------------------------
# Saving / loading (weights + resolved config)
# ---------------------------------------------------------------------------------------
def _write_config(cfg: EncoderConfig, folder: Path) -> None:
    doc = {"config": to_plain(cfg), "config_hash": cfg.hash()}
    (folder / MODEL_CONFIG).write_text(yaml.safe_dump(doc, sort_keys=False))


def read_model_config(folder: str | Path) -> EncoderConfig:
    """The :class:`EncoderConfig` saved beside a model's weights."""
    path = Path(folder) / MODEL_CONFIG
    if not path.is_file():
        raise DataError(f"{path}: model config not found. Save models with econt.model.save_encoder "
                        "(it writes the weights and model_config.yaml).")
    doc = yaml.safe_load(path.read_text()) or {}
    if "config" not in doc:
        raise ConfigError(f"{path}: missing 'config' section; re-save the model with econt.model.save_encoder.")
    return build_dataclass(EncoderConfig, doc["config"], source=str(path))


def save_encoder(model: Any, cfg: EncoderConfig, folder: str | Path, decoder: Any = None) -> Path:
    """Save encoder weights (and optionally the decoder's) + config into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(folder / ENCODER_WEIGHTS))
    if decoder is not None:
        decoder.save_weights(str(folder / DECODER_WEIGHTS))
    _write_config(cfg, folder)
    return folder


def load_encoder(folder: str | Path) -> tuple[Any, EncoderConfig]:
    """Rebuild the encoder from ``folder``'s config and load its weights → (model, cfg)."""
    folder = Path(folder)
    cfg = read_model_config(folder)
    path = folder / ENCODER_WEIGHTS
    if not path.is_file():
        raise DataError(f"{path}: encoder weights not found in {folder}. Train/save a model there first.")
    model = build_encoder(cfg)
    model.load_weights(str(path))
    return model, cfg


def load_decoder(folder: str | Path) -> tuple[Any, EncoderConfig]:
    """Rebuild the float decoder from ``folder`` → (model, cfg)."""
    folder = Path(folder)
    cfg = read_model_config(folder)
    path = folder / DECODER_WEIGHTS
    if not path.is_file():
        raise DataError(f"{path}: decoder weights not found in {folder}; save_encoder(..., decoder=...) writes it.")
    model = build_decoder(cfg)
    model.load_weights(str(path))
    return model, cfg


# ---------------------------------------------------------------------------------------
# The shared deployed models (weights-only Keras 2 HDF5, float weights before quantisation)
# ---------------------------------------------------------------------------------------
# Our layer name → names the deployed files use for it.
_ENCODER_ALIASES = {"conv2d": ("conv2d", "conv2d_0_m"), "encoded_vector": ("encoded_vector",)}
_DECODER_ALIASES = {"dense": ("dense", "de_dense_final"), "conv2d_transpose": ("conv2d_transpose", "conv2D_t_0"),
                    "conv2d_transpose_1": ("conv2d_transpose_1", "conv2d_t_final")}


def read_hdf5_layer_weights(path: str | Path) -> dict[str, list[np.ndarray]]:
    """{layer name: [kernel, bias]} from a Keras 2 weights-only HDF5 file (order of weight_names)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: HDF5 weights file not found.")
    out: dict[str, list[np.ndarray]] = {}
    with h5py.File(path, "r") as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", list(root))]
        for layer in names:
            grp = root[layer]
            wnames = [n.decode() if isinstance(n, bytes) else str(n) for n in grp.attrs.get("weight_names", [])]
            if wnames:
                out[layer] = [np.asarray(grp[w][()]) for w in wnames]
    return out


def _assign(model: Any, stored: dict[str, list[np.ndarray]], aliases: dict[str, tuple[str, ...]], path: Path) -> None:
    for ours, theirs in aliases.items():
        found = next((t for t in theirs if t in stored), None)
        if found is None:
            raise DataError(f"{path}: no layer named {' or '.join(theirs)}; layers present: {', '.join(stored)}.")
        layer = model.get_layer(ours)
        want = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(w.shape) for w in stored[found]]
        if want != got:
            raise DataError(f"{path}: layer '{found}' has weight shapes {got}, the architecture needs {want}. "
                            "Use a model config matching the file.")
        layer.set_weights(stored[found])


def load_deployed_encoder(folder_or_file: str | Path, cfg: EncoderConfig | None = None,
                          weights: str = "hdf5") -> tuple[Any, EncoderConfig]:
    """Build the ECON-T encoder and load a deployed ``encoder.hdf5`` by layer name.

    ``weights="hdf5"``: the float weights as stored (QKeras quantises them with round-half-even
    when it runs). ``weights="chip"``: the weights the chip actually holds — the floats
    quantised the way the deployed ``init.yaml`` images were made (floor, saturating; see
    ``econt.export.quantise_deployed``), set on the QKeras grid so the model computes with the
    chip's weights.
    """
    path = Path(folder_or_file)
    if path.is_dir():
        path = path / "encoder.hdf5"
    cfg = cfg or load_encoder_config()
    model = build_encoder(cfg)
    _assign(model, read_hdf5_layer_weights(path), _ENCODER_ALIASES, path)
    if weights == "chip":
        from econt.model.integer import quantise_to_codes

        for lname in ("conv2d", "encoded_vector"):
            layer = model.get_layer(lname)
            k, b = layer.get_weights()
            kc = quantise_to_codes(k, cfg.weight_bits, cfg.weight_integer, True, rounding="floor")
            bc = quantise_to_codes(b, cfg.bias_bits, cfg.bias_integer, True, rounding="floor")
            layer.set_weights([kc / 2.0 ** cfg.weight_frac, bc / 2.0 ** cfg.bias_frac])
    elif weights != "hdf5":
        raise ConfigError(f"load_deployed_encoder: weights={weights!r}; use 'hdf5' or 'chip'.")
    return model, cfg


def load_deployed_decoder(folder_or_file: str | Path, cfg: EncoderConfig | None = None) -> tuple[Any, EncoderConfig]:
    """Build the float decoder and load a deployed ``decoder.hdf5`` by layer name."""
    path = Path(folder_or_file)
    if path.is_dir():
        path = path / "decoder.hdf5"
    cfg = cfg or load_encoder_config()
    model = build_decoder(cfg)
    _assign(model, read_hdf5_layer_weights(path), _DECODER_ALIASES, path)
    return model, cfg


def describe(model: Any) -> str:
    """One line per layer: name, type, output shape (for logs)."""
    rows = [f"{layer.name}: {type(layer).__name__} {layer.output.shape}" for layer in model.layers]
    return json.dumps(rows, indent=0)


def randomise_encoder_weights(model: Any, cfg: EncoderConfig, seed: int) -> None:
    """Set float weights that stress the quantisers: on-grid codes, exact half-LSB ties
    (round-half-even cases) and values beyond the representable range (saturation)."""
    rng = np.random.default_rng(seed)
    for lname in ("conv2d", "encoded_vector"):
        layer = model.get_layer(lname)
        new = []
        for w, (bits, frac) in zip(layer.get_weights(), ((cfg.weight_bits, cfg.weight_frac),
                                                         (cfg.bias_bits, cfg.bias_frac))):
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            codes = rng.integers(lo, hi + 1, size=w.shape).astype(np.float64)
            kind = rng.integers(0, 4, size=w.shape)
            vals = np.where(kind == 0, codes + 0.5,                                  # ties
                   np.where(kind == 1, codes + rng.uniform(-0.49, 0.49, w.shape),    # off-grid
                   np.where(kind == 2, rng.choice([lo - 3.0, hi + 3.0], w.shape),    # saturating
                            codes)))                                                 # on grid
            new.append((vals / 2.0 ** frac).astype(np.float32))
        layer.set_weights(new)
