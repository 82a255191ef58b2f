"""Architecture and fixed-point formats of the ECON-T encoder (``configs/model/*.yaml``).

Fixed-point formats follow the QKeras convention so that a config maps 1:1 onto the
quantisers of the trained model:

* signed ``quantized_bits(bits, integer, keep_negative=1)``: 1 sign bit, ``integer``
  integer bits, ``bits - integer - 1`` fractional bits (HLS ``ap_fixed<bits, integer+1>``);
* unsigned ``quantized_bits(bits, integer, keep_negative=0)`` / ``quantized_relu(bits, integer)``:
  ``bits - integer`` fractional bits (HLS ``ap_ufixed<bits, integer>``).

Defaults are the deployed ECON-T encoder (the HLS types of the chip, see
``econt.model.integer`` for the arithmetic and the sources):

=================  ======================  =============================================
quantity           QKeras                  chip / HLS type
=================  ======================  =============================================
input              quantized_bits(8,1,0)   ap_ufixed<8,1>: 7 fractional bits, 0 … 255/128
weights, biases    quantized_bits(6,0,1)   ap_fixed<6,1>: 5 fractional bits, −1 … 31/32
conv activation    quantized_relu(8,1)     ap_ufixed<8,1>: 7 fractional bits
latent             quantized_relu(9,1)     ap_ufixed<9,1>: 8 fractional bits (value·2⁸ on the link)
=================  ======================  =============================================
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from econt.config import config_hash, kit_config_path, load_config, to_plain
from econt.errors import ConfigError

DEFAULT_MODEL_CONFIG = "econt_default.yaml"


@dataclass(frozen=True)
class EncoderConfig:
    """Encoder architecture + every bit width; validated on load (``validate``)."""

    name: str = "econt_default"
    # "8x8": 8x8x1 hardware image (48 cells + 16 zeros); "4x4x3": one 4x4 channel per sector.
    arrangement: Literal["8x8", "4x4x3"] = "8x8"
    # Input: unsigned fixed point (QKeras quantized_bits(input_bits, input_integer, keep_negative=0)).
    input_bits: int = 8
    input_integer: int = 1
    # Convolution.
    conv_filters: int = 8
    conv_kernel: int = 3
    conv_stride: int = 2
    # Signed weights/biases: quantized_bits(bits, integer, keep_negative=1, alpha=1).
    weight_bits: int = 6
    weight_integer: int = 0
    bias_bits: int = 6
    bias_integer: int = 0
    # Activation after the convolution: quantized_relu(conv_act_bits, conv_act_integer).
    conv_act_bits: int = 8
    conv_act_integer: int = 1
    # Latent: QDense(latent_dim) then quantized_relu(latent_bits, latent_integer).
    latent_dim: int = 16
    latent_bits: int = 9
    latent_integer: int = 1
    # Width of the chip's encoded module sum (5-bit exponent, 4-bit mantissa float).
    modsum_bits: int = 9
    # Float decoder (off-detector): hidden activation and output activation.
    decoder_activation: Literal["relu", "linear"] = "relu"
    decoder_output_activation: Literal["sigmoid", "relu", "linear"] = "sigmoid"
    # What the encoder's sums compute, in training and in the golden integer model:
    # "qkeras": exact sums, rounding at the activation (the kit's RTL default);
    # "chip": every product truncated (floor) to the activation precision before the sum, as the
    # ECON-T silicon does (econt.model.integer). Training with "chip" (straight-through gradient)
    # gives weights that keep their quality on the chip; QKeras-arithmetic weights lose it there
    # (each latent is biased low by up to ~half an LSB per product).
    arithmetic: Literal["qkeras", "chip"] = "qkeras"

    # ---- derived quantities -------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (8, 8, 1) if self.arrangement == "8x8" else (4, 4, 3)

    @property
    def in_channels(self) -> int:
        return self.input_shape[2]

    @property
    def conv_out_hw(self) -> tuple[int, int]:
        h, w, _ = self.input_shape
        # TF 'same': ceil(in / stride)
        return (-(-h // self.conv_stride), -(-w // self.conv_stride))

    @property
    def flat_dim(self) -> int:
        h, w = self.conv_out_hw
        return h * w * self.conv_filters

    @property
    def input_frac(self) -> int:
        return self.input_bits - self.input_integer

    @property
    def weight_frac(self) -> int:
        return self.weight_bits - self.weight_integer - 1

    @property
    def bias_frac(self) -> int:
        return self.bias_bits - self.bias_integer - 1

    @property
    def conv_act_frac(self) -> int:
        return self.conv_act_bits - self.conv_act_integer

    @property
    def latent_frac(self) -> int:
        return self.latent_bits - self.latent_integer

    def encoder_fields(self) -> dict:
        """The fields that fix the encoder's hardware and weight formats (not its name, the
        off-detector decoder or the arithmetic the weights were trained for): weight sets of two
        configs with equal ``encoder_fields`` load into the same registers."""
        skip = {"name", "decoder_activation", "decoder_output_activation", "arithmetic"}
        return {k: v for k, v in to_plain(self).items() if k not in skip}

    @property
    def n_params(self) -> int:
        k = self.conv_kernel
        return (k * k * self.in_channels * self.conv_filters + self.conv_filters
                + self.flat_dim * self.latent_dim + self.latent_dim)

    def hash(self) -> str:
        return config_hash(to_plain(self))

    # ---- validation ----------------------------------------------------------------
    def validate(self, source: str = "<EncoderConfig>") -> None:
        def fail(field: str, msg: str) -> None:
            raise ConfigError(f"{source}: field '{field}' {msg}")

        positive = {
            "conv_filters": self.conv_filters, "conv_kernel": self.conv_kernel,
            "conv_stride": self.conv_stride, "latent_dim": self.latent_dim,
        }
        for field, value in positive.items():
            if value < 1:
                fail(field, f"is {value}; it must be ≥ 1.")
        if self.conv_kernel % 2 == 0:
            fail("conv_kernel", f"is {self.conv_kernel}; use an odd kernel size (3 in ECON-T).")
        if self.conv_stride > self.input_shape[0]:
            fail("conv_stride", f"is {self.conv_stride}; it must not exceed the image size {self.input_shape[0]}.")
        # Widths: keep every format representable and every accumulator within int64 / float32-exact
        # ranges (the QKeras reference computes in float32, exact only below 2**24).
        widths = {
            "input_bits": (self.input_bits, 2, 16), "weight_bits": (self.weight_bits, 2, 16),
            "bias_bits": (self.bias_bits, 2, 16), "conv_act_bits": (self.conv_act_bits, 2, 16),
            "latent_bits": (self.latent_bits, 2, 16), "modsum_bits": (self.modsum_bits, 2, 16),
        }
        for field, (value, lo, hi) in widths.items():
            if not lo <= value <= hi:
                fail(field, f"is {value}; allowed range is {lo}..{hi} bits.")
        integers = {
            "input_integer": (self.input_integer, self.input_bits, 0),
            "weight_integer": (self.weight_integer, self.weight_bits, 1),
            "bias_integer": (self.bias_integer, self.bias_bits, 1),
            "conv_act_integer": (self.conv_act_integer, self.conv_act_bits, 0),
            "latent_integer": (self.latent_integer, self.latent_bits, 0),
        }
        for field, (value, bits, sign) in integers.items():
            if not 0 <= value <= bits - sign - 1:
                fail(field, f"is {value}; with {bits} bits it must be 0..{bits - sign - 1} "
                            f"(at least one fractional bit{' besides the sign' if sign else ''}).")
        # The bias is added at the product's precision: it must not have more fractional bits.
        if self.bias_frac > self.input_frac + self.weight_frac:
            fail("bias_bits", "gives the conv/dense bias more fractional bits than input×weight products; "
                              "reduce bias_bits or raise bias_integer.")
        if self.bias_frac > self.conv_act_frac + self.weight_frac:
            fail("bias_bits", "gives the dense bias more fractional bits than activation×weight products.")
        if self.conv_act_frac > self.input_frac + self.weight_frac:
            fail("conv_act_bits", "has more fractional bits than the conv accumulator; the activation "
                                  "cannot add precision. Lower conv_act_bits or raise conv_act_integer.")
        if self.latent_frac > self.conv_act_frac + self.weight_frac:
            fail("latent_bits", "has more fractional bits than the dense accumulator; lower latent_bits "
                                "or raise latent_integer.")
        # float32 exactness of the QKeras reference (see econt.model.integer accumulator bounds).
        from econt.model.integer import accumulator_widths  # local: integer imports this module

        acc = accumulator_widths(self)
        for name in ("conv_acc_bits", "dense_acc_bits"):
            if acc[name] > 24:
                fail("weight_bits", f"makes the {name.split('_')[0]} accumulator {acc[name]} bits wide; "
                                    "QKeras computes in float32 and is bit-exact only up to 24 bits.")


def model_config_path(name_or_path: str | Path = DEFAULT_MODEL_CONFIG) -> Path:
    """The model config file ``name_or_path`` (a bare name: the kit's ``configs/model/<name>.yaml``)."""
    return kit_config_path("model", name_or_path)


def load_encoder_config(path: str | Path = DEFAULT_MODEL_CONFIG, overrides: dict | None = None) -> EncoderConfig:
    """Load and validate an :class:`EncoderConfig` (default: the ECON-T architecture)."""
    return load_config(EncoderConfig, model_config_path(path), overrides)
