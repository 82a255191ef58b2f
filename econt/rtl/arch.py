"""The integer datapath the Verilog implements, as plain numbers.

``ArchSpec`` is the bridge between the model stage's ``EncoderConfig`` (bit widths,
shapes, rounding) and the generator: every width, shift and rounding rule the
RTL uses is a field here, so the generated hardware and the golden integer model
(``econt.model.integer.IntegerEncoder``) are driven by the same configuration.
``arch_from_encoder_config`` reads it from the model engineer's config; the
generator never invents a number of its own.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from econt.errors import ConfigError

Rounding = Literal["half_even", "half_up", "floor"]
Arithmetic = Literal["qkeras", "chip"]


@dataclass(frozen=True)
class ArchSpec:
    """Integer architecture of the encoder datapath (all widths in bits)."""

    n_cells: int = 48
    calq_bits: int = 22          # unsigned calibrated charge per cell at the encoder input
    in_bits: int = 8             # unsigned normalised input code per pixel
    in_frac: int = 7             # fractional bits of the code (code / 2**in_frac in [0, 2))
    image: int = 8               # input image is image x image x 1
    conv_filters: int = 8
    kernel: int = 3
    stride: int = 2
    weight_bits: int = 6         # two's complement, all parameters (weights and biases)
    weight_frac: int = 5
    bias_frac: int = 5
    act_bits: int = 8            # unsigned conv activation (after ReLU quantiser)
    act_frac: int = 7
    act_rounding: Rounding = "half_even"
    latent: int = 16
    latent_bits: int = 9         # unsigned latent outputs
    latent_frac: int = 8
    latent_rounding: Rounding = "half_even"
    modsum_exp_bits: int = 5     # module sum encoded as a small float: exponent
    modsum_mant_bits: int = 4    # ... and mantissa (9 bits in all by default)
    # "qkeras": exact sums, rounding at the activation quantisers (bit-exact with model.predict);
    # "chip": every product truncated (floor) to the activation precision before the sum, as the
    # ECON-T computes (econt.model.integer, arithmetic="chip"); the quantisers then only clip.
    arithmetic: Arithmetic = "qkeras"

    # ---- derived shapes -------------------------------------------------------------
    @property
    def conv_out(self) -> int:
        # TensorFlow 'same' padding: ceil(in / stride)
        return -(-self.image // self.stride)

    @property
    def pad_before(self) -> int:
        total = max((self.conv_out - 1) * self.stride + self.kernel - self.image, 0)
        return total // 2  # TF pads the extra row/column at the bottom/right

    @property
    def dense_inputs(self) -> int:
        return self.conv_out * self.conv_out * self.conv_filters

    # ---- arithmetic: shifts of products, biases and activations -----------------------------
    @property
    def conv_sum_frac(self) -> int:
        return self.in_frac + self.weight_frac if self.arithmetic == "qkeras" else self.act_frac

    @property
    def dense_sum_frac(self) -> int:
        return self.act_frac + self.weight_frac if self.arithmetic == "qkeras" else self.latent_frac

    @property
    def shifts(self) -> dict[str, int]:
        """Right shift of each product, left shift of each bias, right shift at each quantiser."""
        return {
            "conv_product_shift": self.in_frac + self.weight_frac - self.conv_sum_frac,
            "conv_bias_shift": self.conv_sum_frac - self.bias_frac,
            "conv_shift": self.conv_sum_frac - self.act_frac,
            "dense_product_shift": self.act_frac + self.weight_frac - self.dense_sum_frac,
            "dense_bias_shift": self.dense_sum_frac - self.bias_frac,
            "dense_shift": self.dense_sum_frac - self.latent_frac,
        }

    @property
    def n_params(self) -> int:
        k2 = self.kernel * self.kernel
        return k2 * self.conv_filters + self.conv_filters + self.dense_inputs * self.latent + self.latent

    @property
    def config_bits(self) -> int:
        return self.n_params * self.weight_bits

    @property
    def modsum_code_bits(self) -> int:
        return self.modsum_exp_bits + self.modsum_mant_bits

    @property
    def sum_bits(self) -> int:
        return self.calq_bits + (self.n_cells - 1).bit_length()

    def validate(self, source: str = "<arch>") -> None:
        if self.in_frac > self.in_bits:
            raise ConfigError(f"{source}: in_frac ({self.in_frac}) exceeds in_bits ({self.in_bits}).")
        if self.arithmetic not in ("qkeras", "chip"):
            raise ConfigError(f"{source}: arithmetic must be 'qkeras' or 'chip', got {self.arithmetic!r}.")
        if min(self.shifts.values()) < 0:
            raise ConfigError(f"{source}: the formats give a negative shift {self.shifts}; the activation/bias "
                              "cannot have more fractional bits than the sums.")
        for name in ("act_rounding", "latent_rounding"):
            if getattr(self, name) not in ("half_even", "half_up", "floor"):
                raise ConfigError(f"{source}: {name} must be half_even, half_up or floor.")
        if self.image * self.image < self.n_cells:
            raise ConfigError(f"{source}: image {self.image}x{self.image} cannot hold {self.n_cells} cells.")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(conv_out=self.conv_out, dense_inputs=self.dense_inputs, n_params=self.n_params,
                 config_bits=self.config_bits, **self.shifts)
        return d


def arch_from_encoder_config(cfg: Any, calq_bits: int = 22, arithmetic: Arithmetic = "qkeras",
                             rounding: Rounding | None = None) -> ArchSpec:
    """Read an :class:`ArchSpec` from the model stage's ``EncoderConfig``.

    The model config is the single source of truth for widths; ``calq_bits`` is the
    width of the calibrated charges at the encoder input (22 bits in ECON-T: the
    float-to-fixed decoder gives up to 21 bits, calibration up to ×2); ``arithmetic`` and
    ``rounding`` select the golden model's variant (``IntegerEncoder(w, rounding, arithmetic)``;
    default rounding: half-even for qkeras as QKeras rounds, floor for chip). The shifts are
    cross-checked against ``econt.model.integer.accumulator_widths``.
    """
    from econt.model.integer import accumulator_widths

    from econt.data.normalise import MODSUM_EXP_BITS, MODSUM_MANT_BITS

    src = f"model config '{getattr(cfg, 'name', '?')}'"
    rounding = rounding or ("half_even" if arithmetic == "qkeras" else "floor")
    if getattr(cfg, "arrangement", "8x8") != "8x8":
        raise ConfigError(f"{src}: field 'arrangement' is {cfg.arrangement!r}; the Verilog generator implements "
                          "the ECON-T 8x8x1 image only. Use arrangement: \"8x8\".")
    if cfg.bias_bits != cfg.weight_bits:
        raise ConfigError(f"{src}: field 'bias_bits' ({cfg.bias_bits}) differs from weight_bits ({cfg.weight_bits}); "
                          "the I2C register map stores every parameter in the same field width.")
    if cfg.modsum_bits != MODSUM_EXP_BITS + MODSUM_MANT_BITS:
        raise ConfigError(f"{src}: field 'modsum_bits' is {cfg.modsum_bits}; the chip's module-sum code is "
                          f"{MODSUM_EXP_BITS + MODSUM_MANT_BITS} bits.")
    spec = ArchSpec(
        calq_bits=calq_bits, in_bits=cfg.input_bits, in_frac=cfg.input_frac, image=cfg.input_shape[0],
        conv_filters=cfg.conv_filters, kernel=cfg.conv_kernel, stride=cfg.conv_stride,
        weight_bits=cfg.weight_bits, weight_frac=cfg.weight_frac, bias_frac=cfg.bias_frac,
        act_bits=cfg.conv_act_bits, act_frac=cfg.conv_act_frac, act_rounding=rounding,
        latent=cfg.latent_dim, latent_bits=cfg.latent_bits, latent_frac=cfg.latent_frac,
        latent_rounding=rounding, modsum_exp_bits=MODSUM_EXP_BITS, modsum_mant_bits=MODSUM_MANT_BITS,
        arithmetic=arithmetic,
    )
    spec.validate(src)
    ref = accumulator_widths(cfg, arithmetic)
    for key, value in spec.shifts.items():
        if ref[key] != value:
            raise ConfigError(f"{src}: RTL {key}={value} disagrees with the golden model's {ref[key]}; "
                              "econt.rtl.arch and econt.model.integer are out of step.")
    return spec
