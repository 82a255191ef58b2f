"""ECON-T I2C register image of the encoder weights (``init.yaml`` ``Encoder`` section).

Layout, as the ECON-T emulator unpacks it (cmantill/ECONT_Emulator
``ASICBlocks/Autoencoder.py: convertI2CtoWeights``) and verified field by field against
both shared ``init.yaml`` files:

* All parameters form one bit string ``X``: parameter ``p`` occupies bits ``[6p, 6p+6)``
  (LSB first) as 6-bit two's complement. Parameter order: conv kernel (3,3,1,8) row-major
  (72 = ``w2``, in the LSBs), conv bias (8 = ``b2``), dense kernel (2,048 = ``w4``), dense
  bias (16 = ``b4``): 2,144 × 6 = 12,864 bits.
* Dense kernel order — two conventions, both pinned on the shared data:
  ``dense_order="chip"`` (default, what the kit exports): **output-major**, parameter
  ``80 + o·128 + i`` is the weight from flattened input ``i`` to latent ``o``. This is how the
  ECON-T emulator's encoder reads the registers: with it, the kit's integer model
  (``IntegerEncoder(..., arithmetic="chip")``) reproduces every latent of both shared
  ``testOutput.csv`` files. ``dense_order="keras"``: input-major, the Keras (128,16) row-major
  order in which the shared ``init.yaml`` files were generated from their ``encoder.hdf5``
  (all 108 fields match that way). So the shared images program the chip with the hdf5's
  dense matrix re-read output-major; a kit export in "chip" order makes the chip compute the
  trained model itself.
* ``X`` is cut into 12 blocks of 1,072 bits: block ``b`` = bits ``[1072b, 1072b+1072)``.
* Each block is 134 bytes, byte ``j`` = block bits ``[8j, 8j+8)`` (little endian). The
  ``init.yaml`` fields ``weights_byte{16k}`` (k = 0..8) hold bytes ``16k … 16k+15`` as one
  decimal integer, little endian (byte ``16k`` is its least significant byte); the last
  field ``weights_byte128`` holds the 6 bytes 128..133.

Register address map used by the RTL register-write port (:func:`i2c_bytes`):
``(block b ∈ 0..11, byte j ∈ 0..133)`` ↔ bits ``[1072b + 8j, 1072b + 8j + 8)`` of ``X``;
so parameter ``p`` lives in bits ``6p − 1072b − 8j`` … of register byte (b, j), and a
parameter may straddle two bytes (and blocks: parameter 178 spans blocks 0 and 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from econt.errors import DataError
from econt.model.config import EncoderConfig, load_encoder_config
from econt.model.integer import IntegerWeights, code_range, quantise_to_codes

N_BLOCKS = 12
BLOCK_BITS = 1072
BLOCK_BYTES = BLOCK_BITS // 8           # 134
FIELD_BYTES = 16
FIELD_OFFSETS = tuple(range(0, BLOCK_BYTES, FIELD_BYTES))   # 0, 16, ..., 128


def field_name(offset: int) -> str:
    return f"weights_byte{offset}"


DenseOrder = Literal["chip", "keras"]


def _stream(weights: IntegerWeights, name: str, dense_order: DenseOrder) -> np.ndarray:
    """A layer's codes in register order."""
    arr = getattr(weights, name)
    if name == "dense_w":
        _check_order(dense_order)
        if dense_order == "chip":
            return arr.T.reshape(-1)          # output-major: parameter 80 + o*flat_dim + i
    return arr.reshape(-1)


def _from_stream(vals: np.ndarray, name: str, shape: tuple[int, ...], dense_order: DenseOrder) -> np.ndarray:
    if name == "dense_w" and dense_order == "chip":
        return vals.reshape(shape[::-1]).T
    return vals.reshape(shape)


def _check_order(dense_order: str) -> None:
    if dense_order not in ("chip", "keras"):
        raise DataError(f"dense_order={dense_order!r}; use 'chip' (as the ECON-T reads its registers) or "
                        "'keras' (input-major, as the shared init.yaml files were generated).")


def _layout(cfg: EncoderConfig) -> list[tuple[str, tuple[int, ...], int]]:
    """(layer, shape, bits per code) in packing order."""
    k, c = cfg.conv_kernel, cfg
    return [("conv_w", (k, k, c.in_channels, c.conv_filters), cfg.weight_bits),
            ("conv_b", (c.conv_filters,), cfg.bias_bits),
            ("dense_w", (c.flat_dim, c.latent_dim), cfg.weight_bits),
            ("dense_b", (c.latent_dim,), cfg.bias_bits)]


def total_bits(cfg: EncoderConfig) -> int:
    return sum(int(np.prod(shape)) * bits for _, shape, bits in _layout(cfg))


def _check_fits(cfg: EncoderConfig) -> None:
    need = total_bits(cfg)
    if need > N_BLOCKS * BLOCK_BITS:
        raise DataError(f"config '{cfg.name}': {need} weight bits do not fit the ECON-T I2C image "
                        f"({N_BLOCKS} × {BLOCK_BITS} = {N_BLOCKS * BLOCK_BITS} bits). Reduce filters/latent size/widths.")


def pack_weights(weights: IntegerWeights, dense_order: DenseOrder = "chip") -> int:
    """All parameters as one integer ``X`` (parameter p at bits [6p, 6p+6) for 6-bit codes)."""
    weights.validate()          # raises naming layer/index for out-of-range codes: never clipped
    _check_fits(weights.cfg)
    _check_order(dense_order)
    x = 0
    pos = 0
    for name, shape, bits in _layout(weights.cfg):
        mask = (1 << bits) - 1
        for v in _stream(weights, name, dense_order):
            x |= (int(v) & mask) << pos
            pos += bits
    return x


def unpack_weights(x: int, cfg: EncoderConfig, region: str = "global",
                   dense_order: DenseOrder = "chip") -> IntegerWeights:
    """Inverse of :func:`pack_weights` (two's complement decode)."""
    _check_fits(cfg)
    _check_order(dense_order)
    pos = 0
    arrays = {}
    for name, shape, bits in _layout(cfg):
        n = int(np.prod(shape))
        vals = np.empty(n, dtype=np.int64)
        mask = (1 << bits) - 1
        for i in range(n):
            v = (x >> pos) & mask
            vals[i] = v - (1 << bits) if v >> (bits - 1) else v
            pos += bits
        arrays[name] = _from_stream(vals, name, shape, dense_order)
    if x >> pos:
        raise DataError(f"I2C image has non-zero bits above bit {pos} (the {pos} weight bits of config "
                        f"'{cfg.name}'); it was made for another architecture.")
    return IntegerWeights(cfg=cfg, region=region, **arrays)


def i2c_bytes(weights: IntegerWeights, dense_order: DenseOrder = "chip") -> list[bytes]:
    """The register image as 12 blocks × 134 bytes (address map in the module docstring)."""
    x = pack_weights(weights, dense_order)
    return [((x >> (BLOCK_BITS * b)) & ((1 << BLOCK_BITS) - 1)).to_bytes(BLOCK_BYTES, "little")
            for b in range(N_BLOCKS)]


def to_i2c_image(weights: IntegerWeights, dense_order: DenseOrder = "chip") -> dict[int, dict[str, int]]:
    """``{block: {"weights_byte0": int, …, "weights_byte128": int}}`` — the ``init.yaml`` ``Encoder`` section."""
    image: dict[int, dict[str, int]] = {}
    for b, blk in enumerate(i2c_bytes(weights, dense_order)):
        image[b] = {field_name(off): int.from_bytes(blk[off:off + FIELD_BYTES], "little") for off in FIELD_OFFSETS}
    return image


def _encoder_section(image: Any, source: str) -> dict:
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise DataError(f"{path}: init.yaml not found.")
        try:
            image = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise DataError(f"{path}: not valid YAML ({exc}).") from exc
    if isinstance(image, dict) and "Encoder" in image:
        image = image["Encoder"]
    elif isinstance(image, dict) and not all(isinstance(k, int) or str(k).isdigit() for k in image):
        found = ", ".join(map(str, list(image)[:6])) or "nothing"
        raise DataError(f"{source}: no 'Encoder' section (found {found}). Give an init.yaml with an Encoder block "
                        "of 12 register blocks 0..11 (as `econt export` writes).")
    if not isinstance(image, dict):
        raise DataError(f"{source}: no 'Encoder' section (a mapping of blocks 0..11). Give an ECON-T init.yaml.")
    return image


def from_i2c_image(image: dict | str | Path, cfg: EncoderConfig | None = None,
                   region: str = "global", dense_order: DenseOrder = "chip") -> IntegerWeights:
    """Weights from an ``init.yaml`` (path), its parsed dict, or its ``Encoder`` section."""
    source = str(image) if isinstance(image, (str, Path)) else "I2C image"
    cfg = cfg or load_encoder_config()
    enc = _encoder_section(image, source)
    try:
        keys = {int(k): v for k, v in enc.items()}
    except (TypeError, ValueError):
        raise DataError(f"{source}: Encoder block names must be the integers 0..{N_BLOCKS - 1}, "
                        f"found {sorted(map(str, enc))}.") from None
    if sorted(keys) != list(range(N_BLOCKS)):
        raise DataError(f"{source}: Encoder must have blocks 0..{N_BLOCKS - 1}, found {sorted(keys)}.")
    x = 0
    for b in range(N_BLOCKS):
        blk = keys[b]
        want = {field_name(o) for o in FIELD_OFFSETS}
        if not isinstance(blk, dict) or set(blk) != want:
            got = sorted(blk) if isinstance(blk, dict) else blk
            raise DataError(f"{source}: Encoder block {b} must have fields {sorted(want)}, got {got}.")
        for off in FIELD_OFFSETS:
            v = blk[field_name(off)]
            width = min(FIELD_BYTES, BLOCK_BYTES - off)
            if isinstance(v, str):
                try:
                    v = int(v, 0)
                except ValueError:
                    raise DataError(f"{source}: Encoder block {b} field {field_name(off)} = {v!r} is not a number. "
                                    "Give an unsigned integer (decimal or 0x hex).") from None
            if not isinstance(v, int) or v < 0 or v >= 1 << (8 * width):
                raise DataError(f"{source}: Encoder block {b} field {field_name(off)} = {v!r} is not an "
                                f"unsigned {8 * width}-bit integer.")
            x |= v << (BLOCK_BITS * b + 8 * off)
    return unpack_weights(x, cfg, region=region, dense_order=dense_order)


#: Registers of a complete ECON-T image besides the Encoder block (``ConfigAlgo`` schema, as the shared
#: ``AE/init.yaml``): the autoencoder selected (alg_type 4), a low-density module, the emulator's default
#: mux, unit calibration (2048 = 1.0), all 144 latent bits kept, 5 eTx links (0x1f, as the deployed image).
#: Pass ``registers`` to :func:`write_init_yaml` for a module's own values.
DEFAULT_REGISTERS: dict[str, Any] = {
    "ConfigAlgo": {"Global": {"alg_type": 4, "alg_high_density": 0}},
    "FormatterBuffer": {"Global": {"active_etxs": 0x1F, "keep_auto_encoder_bits": (1 << 144) - 1}},
}


def write_init_yaml(weights: IntegerWeights, path: str | Path, dense_order: DenseOrder = "chip",
                    registers: dict[str, Any] | None = None) -> Path:
    """Write a complete ECON-T register image: ``Encoder`` (``to_i2c_image``) plus algorithm, formatter,
    mux and calibration blocks (``registers``, default :data:`DEFAULT_REGISTERS` with the default mux
    and unit calibration), so every kit command that reads an init.yaml accepts it
    (``econt export import``, ``econt conformance import``, ``econt data … --init-yaml``)."""
    from econt.data.eportrx import DEFAULT_MUX, UNIT_CALIBRATION

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"Mux": {i: int(m) for i, m in enumerate(DEFAULT_MUX)},
                           "Cal": {i: UNIT_CALIBRATION for i in range(48)}}
    doc.update(registers if registers is not None else DEFAULT_REGISTERS)
    doc["Encoder"] = to_i2c_image(weights, dense_order)
    path.write_text(yaml.safe_dump(doc, sort_keys=True))
    return path


def compare_i2c(a: dict | str | Path, b: dict | str | Path) -> dict[str, Any]:
    """Field-by-field comparison of two Encoder images → counts and the differing fields."""
    ea, eb = _encoder_section(a, str(a)), _encoder_section(b, str(b))
    diffs = []
    fields = 0
    for blk in range(N_BLOCKS):
        for off in FIELD_OFFSETS:
            fields += 1
            va = int(ea[blk][field_name(off)]) if blk in ea else None
            vb = int(eb[blk][field_name(off)]) if blk in eb else None
            if va != vb:
                diffs.append({"block": blk, "field": field_name(off)})
    return {"fields": fields, "fields_matching": fields - len(diffs), "differences": diffs}


def quantise_deployed(float_weights: dict[str, np.ndarray], cfg: EncoderConfig, rounding: str = "floor") -> IntegerWeights:
    """Float weights of a deployed encoder (``{"conv_w","conv_b","dense_w","dense_b"}``) → codes.

    The shared ``init.yaml`` images were made by FLOOR (truncation toward −∞, HLS AP_TRN) with
    saturation to −32..31 — verified 2,144/2,144 on both shared configs; QKeras's own
    round-half-even quantiser agrees on only ~50 % of them. ``rounding="half_even"`` gives what
    the QKeras model computes with.
    """
    codes = {}
    for name in IntegerWeights.LAYERS:
        bits, integer = ((cfg.weight_bits, cfg.weight_integer) if name.endswith("_w")
                         else (cfg.bias_bits, cfg.bias_integer))
        codes[name] = quantise_to_codes(float_weights[name], bits, integer, True, rounding=rounding)  # type: ignore[arg-type]
    return IntegerWeights(cfg=cfg, **codes)


def deployed_float_weights(encoder_hdf5: str | Path) -> dict[str, np.ndarray]:
    """Float kernels/biases of a shared ``encoder.hdf5`` (by layer name)."""
    from econt.model.qkeras_model import read_hdf5_layer_weights

    stored = read_hdf5_layer_weights(encoder_hdf5)
    conv = next((stored[n] for n in ("conv2d", "conv2d_0_m") if n in stored), None)
    dense = stored.get("encoded_vector")
    if conv is None or dense is None:
        raise DataError(f"{encoder_hdf5}: expected layers conv2d|conv2d_0_m and encoded_vector, found {list(stored)}.")
    return {"conv_w": conv[0], "conv_b": conv[1], "dense_w": dense[0], "dense_b": dense[1]}


__all__ = ["i2c_bytes", "to_i2c_image", "from_i2c_image", "write_init_yaml", "compare_i2c", "pack_weights",
           "unpack_weights", "quantise_deployed", "deployed_float_weights", "code_range"]
