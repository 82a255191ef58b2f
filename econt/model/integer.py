"""Bit-exact integer model of the ECON-T encoder (numpy) — the golden reference for the RTL.

Integer spec of the QKeras-exact arithmetic (``arithmetic="qkeras"``; default config
``configs/model/econt_default.yaml``; every width follows the config, the numbers below are
the defaults; the chip's truncating variant is described further down):

1. **Input**: 48 unsigned codes ``x`` of ``input_bits`` = 8 bits, value ``x / 2**7``
   (ap_ufixed<8,1>). From calibrated charges (CALQ integers) the chip normalises by the most
   significant bit of the 48-cell sum: ``msb = floor(log2(sum))``, ``x = floor(calq * 2**7 / 2**msb)``
   (a shift; ``sum == 0`` → all zeros). ``econt.data.normalise.normalise_hw`` implements it.
   The codes are placed in the 8x8x1 image (``econt.geometry.REMAP_8X8``, 16 fixed zeros).
2. **Conv**: 3x3, 8 filters, stride 2, TF 'same' padding (out = ceil(in/stride); the padding
   total ``(out-1)*s + k - in`` = 1 goes to the bottom/right, 0 at top/left).
   ``acc = Σ x·w + (b << 7)`` with weight/bias codes 6-bit two's complement (5 fractional
   bits), i.e. ``acc`` has 7+5 = 12 fractional bits. Range: |acc| ≤ 9·255·32 + 32·128 = 77,536
   → **18-bit signed** accumulator (:func:`accumulator_widths`).
3. **Conv activation** (quantized_relu(8,1)): ``a = clip(round(acc / 2**5), 0, 255)``, 7
   fractional bits, unsigned 8 bits. ``round`` is round-half-to-even (QKeras ``tf.round``).
4. **Dense**: flatten in (row, col, filter) order (Keras channels-last), 128 → 16:
   ``acc = Σ a·w + (b << 7)``, 12 fractional bits, range −1,048,576 … 1,015,808 →
   **21-bit signed** accumulator.
5. **Latent** (quantized_relu(9,1)): ``z = clip(round(acc / 2**4), 0, 511)``: 9-bit unsigned,
   8 fractional bits; the chip sends ``z`` (= value·2⁸) on its output link.
6. **Module sum**: the 48-cell CALQ sum, encoded by the chip as a 9-bit float (5-bit exponent,
   4-bit mantissa) — ``econt.data.normalise.encode_module_sum``.

Two arithmetics (``IntegerEncoder(weights, arithmetic=...)``):

* ``"qkeras"`` (default) — exactly what the QKeras model computes: exact sums, round-half-even
  at the two activation quantisers, saturation. 0 mismatches against ``model.predict`` on
  ≥100,000 stress samples (:func:`check_bit_exact`). The QKeras reference computes in float32;
  every value is an integer times 2**-12 below 2**20 in magnitude, so float32 is exact and
  bit-exactness is a property, not a tolerance.
* ``"chip"`` — what the ECON-T computes (pinned on the emulator's test vectors: every latent of
  both shared ``testOutput.csv`` files reproduced): each product is truncated (floor) to the
  activation precision *before* summation — conv ``(x·w) >> 5`` (7 fractional bits) summed with
  ``b << 2``; dense ``(a·w) >> 4`` (8 fractional bits) summed with ``b << 3`` — then ReLU and
  saturation (0..255, 0..511). Accumulators: conv **13-bit**, dense **17-bit** signed
  (``accumulator_widths(cfg, "chip")``). Wrap vs saturation of the sums is not exercised by the
  vectors (no overflow occurs there); the kit saturates at the activation. On the chip the
  48 CALQ values arrive in mux-output order, CALQ j driving the j-th used pixel of the 8x8 image
  in raster order (:data:`CHIP_CALQ_CELLS`, ``encode_calq(..., calq_order="chip")``), and the
  dense weights are read output-major from the registers (``econt.export.i2c``, ``dense_order``).

``rounding`` overrides the activation rounding of either arithmetic ("half_even", "floor",
"half_up").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from econt.errors import ConfigError, DataError
from econt.model.config import EncoderConfig

Rounding = Literal["half_even", "floor", "half_up"]


# ---------------------------------------------------------------------------------------
# Quantisers on integers / floats
# ---------------------------------------------------------------------------------------
def _round(x: np.ndarray, rounding: Rounding) -> np.ndarray:
    if rounding == "half_even":
        return np.round(x)                      # numpy rounds half to even, like tf.round
    if rounding == "floor":
        return np.floor(x)
    if rounding == "half_up":
        return np.floor(x + 0.5)
    raise ConfigError(f"rounding={rounding!r}; use 'half_even', 'floor' or 'half_up'.")


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """Inclusive integer range of a ``bits``-wide code (two's complement when signed)."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def quantise_to_codes(x: Any, bits: int, integer: int, signed: bool, rounding: Rounding = "half_even") -> np.ndarray:
    """Float → integer codes as QKeras ``quantized_bits(bits, integer, keep_negative=signed, alpha=1)``.

    Value = code / 2**frac with frac = bits − integer − signed; saturates at the code range
    (QKeras clips, so a trained model never holds out-of-range codes). The scaling is done in
    float32 as QKeras does (exact: multiplication by a power of two).
    """
    frac = bits - integer - int(signed)
    p = np.asarray(x, dtype=np.float32) * np.float32(2.0 ** frac)
    lo, hi = code_range(bits, signed)
    return np.clip(_round(p.astype(np.float64), rounding), lo, hi).astype(np.int64)


def shift_round(acc: np.ndarray, shift: int, rounding: Rounding) -> np.ndarray:
    """Integer ``acc / 2**shift`` rounded (exact integer arithmetic, any width)."""
    acc = np.asarray(acc, dtype=np.int64)
    if shift <= 0:
        return acc << (-shift)
    q = acc >> shift                            # floor division (arithmetic shift)
    if rounding == "floor":
        return q
    r = acc - (q << shift)                      # remainder in [0, 2**shift)
    half = 1 << (shift - 1)
    if rounding == "half_up":
        return q + (r >= half)
    if rounding == "half_even":
        return q + ((r > half) | ((r == half) & ((q & 1) == 1)))
    raise ConfigError(f"rounding={rounding!r}; use 'half_even', 'floor' or 'half_up'.")


def accumulator_widths(cfg: EncoderConfig, arithmetic: str = "qkeras") -> dict[str, int]:
    """Signed accumulator widths (bits incl. sign) that hold every possible conv/dense sum.

    ``arithmetic="qkeras"``: exact products (input_frac + weight_frac fractional bits).
    ``arithmetic="chip"``: every product truncated to the activation's precision first
    (conv: conv_act_frac, dense: latent_frac fractional bits), as the ECON-T computes.
    """
    xin_max = (1 << cfg.input_bits) - 1
    act_max = (1 << cfg.conv_act_bits) - 1
    wlo, whi = code_range(cfg.weight_bits, True)
    blo, bhi = code_range(cfg.bias_bits, True)
    taps = cfg.conv_kernel * cfg.conv_kernel * cfg.in_channels
    if arithmetic == "qkeras":
        conv_frac, dense_frac = cfg.input_frac + cfg.weight_frac, cfg.conv_act_frac + cfg.weight_frac
        conv_pshift = dense_pshift = 0
    elif arithmetic == "chip":
        conv_frac, dense_frac = cfg.conv_act_frac, cfg.latent_frac
        conv_pshift = cfg.input_frac + cfg.weight_frac - conv_frac
        dense_pshift = cfg.conv_act_frac + cfg.weight_frac - dense_frac
    else:
        raise ConfigError(f"arithmetic={arithmetic!r}; use 'qkeras' or 'chip'.")
    conv_bshift = conv_frac - cfg.bias_frac
    dense_bshift = dense_frac - cfg.bias_frac

    def width(lo: int, hi: int) -> int:
        n = 1
        while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
            n += 1
        return n

    conv_lo = taps * ((xin_max * wlo) >> conv_pshift) + (blo << conv_bshift)
    conv_hi = taps * ((xin_max * whi) >> conv_pshift) + (bhi << conv_bshift)
    dense_lo = cfg.flat_dim * ((act_max * wlo) >> dense_pshift) + (blo << dense_bshift)
    dense_hi = cfg.flat_dim * ((act_max * whi) >> dense_pshift) + (bhi << dense_bshift)
    return {
        "conv_acc_bits": width(conv_lo, conv_hi), "conv_acc_min": conv_lo, "conv_acc_max": conv_hi,
        "conv_acc_frac": conv_frac, "conv_product_shift": conv_pshift, "conv_shift": conv_frac - cfg.conv_act_frac,
        "dense_acc_bits": width(dense_lo, dense_hi), "dense_acc_min": dense_lo, "dense_acc_max": dense_hi,
        "dense_acc_frac": dense_frac, "dense_product_shift": dense_pshift, "dense_shift": dense_frac - cfg.latent_frac,
        "conv_bias_shift": conv_bshift, "dense_bias_shift": dense_bshift,
    }


# ---------------------------------------------------------------------------------------
# Integer weights
# ---------------------------------------------------------------------------------------
@dataclass
class IntegerWeights:
    """Integer weight codes of one encoder (value = code / 2**frac of its layer's format)."""

    cfg: EncoderConfig
    conv_w: np.ndarray                # (k, k, C, F) int
    conv_b: np.ndarray                # (F,) int
    dense_w: np.ndarray               # (flat_dim, L) int
    dense_b: np.ndarray               # (L,) int
    region: str = "global"
    config_hash: str = ""
    meta: dict = field(default_factory=dict)

    LAYERS = ("conv_w", "conv_b", "dense_w", "dense_b")

    def __post_init__(self) -> None:
        for name in self.LAYERS:
            setattr(self, name, np.asarray(getattr(self, name)).astype(np.int64))
        if not self.config_hash:
            self.config_hash = self.cfg.hash()
        self.validate()

    def shapes(self) -> dict[str, tuple[int, ...]]:
        c = self.cfg
        return {"conv_w": (c.conv_kernel, c.conv_kernel, c.in_channels, c.conv_filters),
                "conv_b": (c.conv_filters,), "dense_w": (c.flat_dim, c.latent_dim), "dense_b": (c.latent_dim,)}

    def layer_format(self, name: str) -> tuple[int, int]:
        """(bits, fractional bits) of a layer's codes (signed two's complement)."""
        if name.endswith("_w"):
            return self.cfg.weight_bits, self.cfg.weight_frac
        return self.cfg.bias_bits, self.cfg.bias_frac

    def validate(self, source: str = "IntegerWeights") -> None:
        """Shapes match the config and every code fits its width: else DataError naming layer and index."""
        if self.config_hash != self.cfg.hash():
            raise DataError(f"{source}: config_hash {self.config_hash} does not match the config "
                            f"({self.cfg.hash()}); the weights were made for another architecture.")
        for name, shape in self.shapes().items():
            arr = getattr(self, name)
            if arr.shape != shape:
                raise DataError(f"{source}: layer {name} has shape {arr.shape}, the config needs {shape}.")
            bits, _ = self.layer_format(name)
            lo, hi = code_range(bits, True)
            bad = np.argwhere((arr < lo) | (arr > hi))
            if bad.size:
                idx = tuple(int(i) for i in bad[0])
                raise DataError(f"{source}: layer {name} index {list(idx)} holds code {int(arr[idx])}, which does "
                                f"not fit {bits}-bit two's complement ({lo}..{hi}); {len(bad)} value(s) out of "
                                "range. Retrain with the config's quantisers (weights are never clipped on export).")

    def floats(self) -> dict[str, np.ndarray]:
        out = {}
        for name in self.LAYERS:
            _, frac = self.layer_format(name)
            out[name] = getattr(self, name).astype(np.float64) / 2.0 ** frac
        return out

    def replace(self, **kw: Any) -> "IntegerWeights":
        return dataclasses.replace(self, **kw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntegerWeights):
            return NotImplemented
        return (self.cfg == other.cfg and self.region == other.region
                and all(np.array_equal(getattr(self, n), getattr(other, n)) for n in self.LAYERS))


def _check_quantiser(q: Any, bits: int, integer: int, keep_negative: int, what: str) -> None:
    got = (int(getattr(q, "bits", -1)), int(getattr(q, "integer", -1)), int(getattr(q, "keep_negative", -1)))
    if got != (bits, integer, keep_negative):
        raise ConfigError(f"model layer {what}: quantiser is quantized_bits{got}, the EncoderConfig says "
                          f"quantized_bits({bits}, {integer}, keep_negative={keep_negative}). "
                          "Extract with the config the model was built from.")
    alpha = getattr(q, "alpha", None)
    if alpha not in (1, 1.0, None):
        raise ConfigError(f"model layer {what}: quantiser alpha={alpha!r}; the integer model needs alpha=1.")


def extract_integer_weights(encoder_model: Any, cfg: EncoderConfig, region: str = "global") -> IntegerWeights:
    """Integer codes from a QKeras encoder, quantised exactly as its quantisers do at inference."""
    conv = encoder_model.get_layer("conv2d")
    dense = encoder_model.get_layer("encoded_vector")
    codes = {}
    for lname, layer, key in (("conv2d", conv, "conv"), ("encoded_vector", dense, "dense")):
        kq, bq = getattr(layer, "kernel_quantizer_internal", None), getattr(layer, "bias_quantizer_internal", None)
        if kq is None or bq is None:
            raise ConfigError(f"model layer {lname} has no QKeras quantisers; build it with econt.model.build_encoder.")
        _check_quantiser(kq, cfg.weight_bits, cfg.weight_integer, 1, f"{lname} kernel")
        _check_quantiser(bq, cfg.bias_bits, cfg.bias_integer, 1, f"{lname} bias")
        k, b = layer.get_weights()
        codes[key + "_w"] = quantise_to_codes(k, cfg.weight_bits, cfg.weight_integer, True)
        codes[key + "_b"] = quantise_to_codes(b, cfg.bias_bits, cfg.bias_integer, True)
    return IntegerWeights(cfg=cfg, region=region, **codes)


# ---------------------------------------------------------------------------------------
# Integer encoder
# ---------------------------------------------------------------------------------------
def _same_padding(size: int, k: int, s: int) -> tuple[int, int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2          # TF: the odd row/col goes bottom/right


def _chip_calq_cells() -> np.ndarray:
    from econt.geometry import REMAP_8X8

    return np.argsort(np.asarray(REMAP_8X8))


#: ECON-T CALQ index j (after the mux) → kit cell index: CALQ j drives the j-th used pixel of the
#: 8x8 image in raster order (rows 0-3 all 8 columns, rows 4-7 columns 0-3). Pinned by reproducing
#: every latent of both shared test-vector sets (see module docstring).
CHIP_CALQ_CELLS = _chip_calq_cells()


def chip_calq_to_cells(calq: np.ndarray) -> np.ndarray:
    """(N, 48) in the chip's CALQ order → (N, 48) in the kit's cell order."""
    calq = np.asarray(calq)
    out = np.zeros_like(calq)
    out[..., CHIP_CALQ_CELLS] = calq
    return out


class IntegerEncoder:
    """The encoder in integer arithmetic. ``stats`` counts ties/saturations of the last call."""

    def __init__(self, weights: IntegerWeights, rounding: Rounding | None = None,
                 arithmetic: Literal["qkeras", "chip"] = "qkeras") -> None:
        weights.validate()
        self.w = weights
        self.cfg = weights.cfg
        self.arithmetic = arithmetic
        # qkeras: exact sums, round-half-even at the activation; chip: truncating products (floor)
        self.rounding: Rounding = rounding or ("half_even" if arithmetic == "qkeras" else "floor")
        self.acc = accumulator_widths(self.cfg, arithmetic)
        self.stats: dict[str, int] = {}

    # -- arrangement ------------------------------------------------------------------
    def image(self, codes: np.ndarray) -> np.ndarray:
        from econt.model.qkeras_model import cells_to_input

        return cells_to_input(codes, self.cfg)

    def _check_codes(self, codes: np.ndarray, name: str) -> np.ndarray:
        arr = np.asarray(codes)
        if arr.ndim != 2 or arr.shape[1] != 48:
            raise DataError(f"{name}: expected (N, 48) integer codes, got shape {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(arr, 1), 0)):
                raise DataError(f"{name}: input codes must be integers (got non-integer values).")
        arr = arr.astype(np.int64)
        lo, hi = code_range(self.cfg.input_bits, False)
        bad = np.argwhere((arr < lo) | (arr > hi))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            raise DataError(f"{name}: sample {i} cell {j} = {arr[i, j]} does not fit the {self.cfg.input_bits}-bit "
                            f"unsigned input ({lo}..{hi}); normalise with econt.data.normalise.normalise_hw.")
        return arr

    def _quant(self, acc: np.ndarray, shift: int, hi: int, key: str) -> np.ndarray:
        if shift > 0:
            rem = acc & ((1 << shift) - 1)
            self.stats[key + "_ties"] = self.stats.get(key + "_ties", 0) + int(np.count_nonzero(rem == (1 << (shift - 1))))
        q = shift_round(acc, shift, self.rounding)
        self.stats[key + "_saturated"] = self.stats.get(key + "_saturated", 0) + int(np.count_nonzero(q > hi))
        return np.clip(q, 0, hi)

    def conv_taps(self, codes: np.ndarray) -> np.ndarray:
        """(N, 48) input codes → (N, H', W', k·k·C) im2col patches in the kernel's (kh, kw, c) order."""
        cfg = self.cfg
        img = self.image(self._check_codes(codes, "IntegerEncoder.encode_codes"))
        n, h, w, c = img.shape
        k, s = cfg.conv_kernel, cfg.conv_stride
        oh, pt, pb = _same_padding(h, k, s)
        ow, pl, pr = _same_padding(w, k, s)
        padded = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=np.int64)
        padded[:, pt:pt + h, pl:pl + w, :] = img
        # im2col: patches (N, oh, ow, k, k, c), flattened in the kernel's (kh, kw, c) order
        patches = np.empty((n, oh, ow, k, k, c), dtype=np.int64)
        for i in range(k):
            for j in range(k):
                patches[:, :, :, i, j, :] = padded[:, i:i + s * oh:s, j:j + s * ow:s, :]
        return patches.reshape(n, oh, ow, k * k * c)

    def conv_activations(self, codes: np.ndarray) -> np.ndarray:
        """(N, 48) input codes → (N, H', W', F) conv activation codes."""
        cfg, acc = self.cfg, self.acc
        taps = self.conv_taps(codes)
        k, c = cfg.conv_kernel, cfg.in_channels
        kernel = self.w.conv_w.reshape(k * k * c, cfg.conv_filters)
        if acc["conv_product_shift"]:
            # chip: each product is truncated (floor, arithmetic shift) before the sum
            prods = taps[..., :, None] * kernel[None, None, None]
            total = (prods >> acc["conv_product_shift"]).sum(axis=-2)
        else:
            total = taps @ kernel
        total = total + (self.w.conv_b << acc["conv_bias_shift"])
        self.stats["conv_acc_min"] = min(self.stats.get("conv_acc_min", 0), int(total.min()) if total.size else 0)
        self.stats["conv_acc_max"] = max(self.stats.get("conv_acc_max", 0), int(total.max()) if total.size else 0)
        return self._quant(total, acc["conv_shift"], (1 << cfg.conv_act_bits) - 1, "conv")

    #: samples per internal chunk (bounds memory: the chip mode keeps every product)
    CHUNK = 8192

    def encode_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, 48) unsigned input codes → (N, latent_dim) latent codes (value·2**latent_frac)."""
        codes = self._check_codes(codes, "IntegerEncoder.encode_codes")
        self.stats = {}
        parts = [self._encode_chunk(codes[i:i + self.CHUNK]) for i in range(0, len(codes), self.CHUNK)]
        if not parts:
            return np.zeros((0, self.cfg.latent_dim), dtype=np.int64)
        return np.concatenate(parts)

    def _encode_chunk(self, codes: np.ndarray) -> np.ndarray:
        act = self.conv_activations(codes)
        flat = act.reshape(act.shape[0], -1)                 # (row, col, filter): Keras Flatten order
        if self.acc["dense_product_shift"]:
            total = np.zeros((flat.shape[0], self.cfg.latent_dim), dtype=np.int64)
            for i in range(flat.shape[1]):                   # truncate every product (chip)
                total += (flat[:, i:i + 1] * self.w.dense_w[i][None, :]) >> self.acc["dense_product_shift"]
        else:
            total = flat @ self.w.dense_w
        total = total + (self.w.dense_b << self.acc["dense_bias_shift"])
        self.stats["dense_acc_min"] = min(self.stats.get("dense_acc_min", 0), int(total.min()) if total.size else 0)
        self.stats["dense_acc_max"] = max(self.stats.get("dense_acc_max", 0), int(total.max()) if total.size else 0)
        return self._quant(total, self.acc["dense_shift"], (1 << self.cfg.latent_bits) - 1, "latent")

    def encode_calq(self, calq: np.ndarray, calq_order: Literal["cells", "chip"] = "cells"
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 48) CALQ integers → (latent codes (N, L), encoded module sum (N,)), as the chip does.

        ``calq_order="cells"``: columns in the kit's cell (training) order. ``"chip"``: in the
        ECON-T's CALQ order after the mux, where CALQ j feeds the j-th used pixel of the 8x8
        image in raster order (:data:`CHIP_CALQ_CELLS`).
        """
        if calq_order == "chip":
            calq = chip_calq_to_cells(calq)
        elif calq_order != "cells":
            raise ConfigError(f"calq_order={calq_order!r}; use 'cells' or 'chip'.")
        try:
            from econt.data.normalise import encode_module_sum, normalise_hw
        except ImportError as exc:  # the data stage provides the hardware normalisation
            raise DataError("encode_calq needs econt.data.normalise (normalise_hw, encode_module_sum) "
                            f"from the data stage: {exc}") from exc
        calq = np.asarray(calq)
        # the input codes carry the config's fractional bits + 1 (8 for the ECON-T's ap_ufixed<8,1>)
        codes, _shift, modsum = normalise_hw(calq, self.cfg.input_frac + 1)
        return self.encode_codes(codes), np.asarray(encode_module_sum(modsum))


# ---------------------------------------------------------------------------------------
# Bit-exactness against QKeras
# ---------------------------------------------------------------------------------------
def stress_codes(n: int, cfg: EncoderConfig, seed: int) -> np.ndarray:
    """Input codes that exercise the arithmetic: realistic sparse showers, dense noise,
    saturating inputs (all cells near full scale), single hot cells, and all-zero events."""
    rng = np.random.default_rng(seed)
    top = (1 << cfg.input_bits) - 1
    out = np.zeros((n, 48), dtype=np.int64)
    kind = rng.integers(0, 5, size=n)
    # 0: sparse (a few cells, exponential spectrum) – like normalised physics events
    m = kind == 0
    occ = rng.random((int(m.sum()), 48)) < rng.uniform(0.05, 0.5, size=(int(m.sum()), 1))
    out[m] = np.where(occ, np.minimum(rng.exponential(40, size=occ.shape).astype(np.int64), top), 0)
    # 1: dense uniform codes
    m = kind == 1
    out[m] = rng.integers(0, top + 1, size=(int(m.sum()), 48))
    # 2: near full scale everywhere → conv and latent saturation
    m = kind == 2
    out[m] = rng.integers(max(top - 16, 0), top + 1, size=(int(m.sum()), 48))
    # 3: one or two hot cells at any value
    m = kind == 3
    idx = np.flatnonzero(m)
    out[idx, rng.integers(0, 48, size=idx.size)] = rng.integers(0, top + 1, size=idx.size)
    out[idx, rng.integers(0, 48, size=idx.size)] = rng.integers(0, top + 1, size=idx.size)
    # 4: sparse small codes (low bits matter → many rounding ties)
    m = kind == 4
    occ = rng.random((int(m.sum()), 48)) < 0.3
    out[m] = np.where(occ, rng.integers(0, min(16, top + 1), size=occ.shape), 0)
    out[:: max(n // 50, 1)] = 0                      # empty events
    return out


def qkeras_latent_codes(model: Any, cfg: EncoderConfig, codes: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Run the QKeras encoder on input codes (as floats code/2**frac) → latent codes (ints)."""
    from econt.model.qkeras_model import cells_to_input

    x = cells_to_input(codes.astype(np.float32) / np.float32(2.0 ** cfg.input_frac), cfg)
    y = model.predict(x, batch_size=batch_size, verbose=0)
    scaled = np.asarray(y, dtype=np.float64) * 2.0 ** cfg.latent_frac
    as_int = np.rint(scaled).astype(np.int64)
    if not np.array_equal(as_int, scaled):
        raise DataError("QKeras latent outputs are not on the latent grid; the model's encod_qa quantiser "
                        "does not match the config.")
    return as_int


def check_bit_exact(model: Any, cfg: EncoderConfig, n: int = 100_000, seed: int = 0,
                    chunk: int = 20_000) -> dict[str, Any]:
    """Compare the integer model (``cfg.arithmetic``) with QKeras ``model.predict`` on ``n`` stress samples.

    Returns ``bit_exact_mismatches`` (latent values that differ), ``bit_exact_samples``,
    mismatching sample count and the number of rounding ties / saturations exercised.
    """
    from tqdm import tqdm

    enc = IntegerEncoder(extract_integer_weights(model, cfg), arithmetic=cfg.arithmetic)
    codes = stress_codes(n, cfg, seed)
    totals: dict[str, int] = {}
    mismatches = bad_samples = 0
    first: dict[str, Any] | None = None
    for start in tqdm(range(0, n, chunk), desc="bit-exact check", unit="chunk", leave=False):
        part = codes[start:start + chunk]
        ref = qkeras_latent_codes(model, cfg, part)
        got = enc.encode_codes(part)
        for k, v in enc.stats.items():
            if k.endswith(("_ties", "_saturated")):
                totals[k] = totals.get(k, 0) + v
        diff = ref != got
        mismatches += int(diff.sum())
        bad_samples += int(diff.any(axis=1).sum())
        if first is None and diff.any():
            i = int(np.flatnonzero(diff.any(axis=1))[0])
            first = {"sample": start + i, "qkeras": ref[i].tolist(), "integer": got[i].tolist()}
    return {"bit_exact_mismatches": mismatches, "bit_exact_samples": n, "bit_exact_values": n * cfg.latent_dim,
            "bit_exact_mismatching_samples": bad_samples, "first_mismatch": first,
            **{f"exercised_{k}": v for k, v in sorted(totals.items())}}


def random_integer_weights(cfg: EncoderConfig, seed: int, region: str = "random") -> IntegerWeights:
    """Random weight codes over the full range (both limits included) — for RTL/export tests."""
    rng = np.random.default_rng(seed)
    out = {}
    probe = {"conv_w": (cfg.conv_kernel, cfg.conv_kernel, cfg.in_channels, cfg.conv_filters),
             "conv_b": (cfg.conv_filters,), "dense_w": (cfg.flat_dim, cfg.latent_dim), "dense_b": (cfg.latent_dim,)}
    for name, shape in probe.items():
        bits = cfg.weight_bits if name.endswith("_w") else cfg.bias_bits
        lo, hi = code_range(bits, True)
        arr = rng.integers(lo, hi + 1, size=shape)
        flat = arr.reshape(-1)
        flat[0], flat[-1] = lo, hi
        out[name] = arr
    return IntegerWeights(cfg=cfg, region=region, **out)
