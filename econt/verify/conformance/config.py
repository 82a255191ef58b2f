"""Import an ECON-T configuration (``init.yaml``) into the kit's types.

Two register-image schemas occur in the shared test vectors (two ECON-T emulator generations):

* ``algorithm`` — ``Algorithm.Global.{select,density}``, ``FormatterBuffer.Global.{mask_ae,mask_ae2}``
  (``AE_8x8_c8_S2_ele_qkeras/``; written by ``yamlModifierAE_8x8.py`` from the full ECON-T register map).
* ``configalgo`` — ``ConfigAlgo.Global.{alg_type,alg_high_density}``, ``FormatterBuffer.Global.
  {active_etxs,buff_t1..3,keep_auto_encoder_bits,link_reset_pattern}`` (``AE/``).

Both carry ``Mux`` (48), ``Cal`` (48) and ``Encoder`` (12 I2C weight blocks). What each schema
implies beyond its registers, pinned by reproducing every output word of the shared vectors:

* **ePortRX in-word cell order.** The ``configalgo`` generation splits a word MSB first
  (cell 4k = bits 27..21); the ``algorithm`` generation LSB first (cell 4k = bits 6..0, the later
  ``LoadData_ePortRX.splitEportRXData``). The two shared mux tables differ exactly by that
  within-word reversal, so both configurations feed the encoder the same 48 CALQ values.
* **Number of eTx links.** ``configalgo``: ``active_etxs`` is a link bitmap (0x1f → 5).
  ``algorithm``: the image has no link register; the emulator then uses its register-map default
  for ``FMTBUF_ALL.eporttx_numen``, which the expected words show is 2 (every crossing uses exactly
  TX_DATA_0/1). Override with ``n_etx`` when importing other images.
* **Formatter mask.** ``(mask_ae << 16) | mask_ae2`` (``algorithm``) or ``keep_auto_encoder_bits``
  (``configalgo``), 144 bits aligned MSB → OUT_15 (see :mod:`.formatter`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import yaml

from econt.errors import ConfigError
from econt.verify.conformance.formatter import FULL_MASK, MAX_ETX, combine_mask

ALGORITHMS = {0: "threshold sum", 1: "super trigger cell", 2: "best choice", 3: "repeater", 4: "autoencoder"}
AUTOENCODER = 4
#: Links used by the emulator when an ``algorithm``-schema image does not set them (see module doc).
DEFAULT_N_ETX_ALGORITHM_SCHEMA = 2
CellOrder = Literal["msb_first", "lsb_first"]


def reverse_in_word(mux: tuple[int, ...]) -> tuple[int, ...]:
    """The mux that, applied after an MSB-first split, equals ``mux`` after an LSB-first split."""
    return tuple(4 * (m // 4) + 3 - m % 4 for m in mux)


@dataclass(frozen=True)
class EcontChipConfig:
    """One ECON-T configuration as the kit uses it (all registers the autoencoder path reads)."""

    source: str
    schema: Literal["algorithm", "configalgo"]
    algorithm_select: int
    high_density: bool
    mux: tuple[int, ...]
    calibration: tuple[int, ...]
    formatter_mask: int                 # 144-bit keep mask, MSB ↔ OUT_15 bit 8
    n_etx: int
    cell_order: CellOrder
    weights: Any = field(repr=False)    # econt.model.integer.IntegerWeights (chip dense order)
    extra_registers: dict = field(default_factory=dict)   # e.g. buff_t1..3, link_reset_pattern

    @property
    def algorithm_name(self) -> str:
        return ALGORITHMS.get(self.algorithm_select, f"unknown ({self.algorithm_select})")

    def input_config(self) -> Any:
        """``econt.data.eportrx.EcontInputConfig`` of this chip's input block (incl. in-word order)."""
        from econt.data.eportrx import EcontInputConfig

        return EcontInputConfig(mux=self.mux, calibration=self.calibration, high_density=self.high_density,
                                cell_order_in_word=self.cell_order)

    def summary(self) -> dict[str, Any]:
        w = self.weights
        kept = bin(self.formatter_mask).count("1")
        return {
            "source": self.source, "schema": self.schema,
            "algorithm": f"{self.algorithm_select} ({self.algorithm_name})",
            "module_density": "high (3 dropped bits)" if self.high_density else "low (1 dropped bit)",
            "mux": list(self.mux), "calibration_unique": sorted(set(self.calibration)),
            "ePortRX_cell_order": self.cell_order, "eTx_links": self.n_etx,
            "formatter_mask": f"{self.formatter_mask:#038x}", "latent_bits_kept_by_mask": kept,
            "latent_bits_on_links": min(kept, 18 + 32 * (self.n_etx - 1)),
            "weights": {"conv_w": list(w.conv_w.shape), "conv_b": list(w.conv_b.shape),
                        "dense_w": list(w.dense_w.shape), "dense_b": list(w.dense_b.shape),
                        "code_range": [int(min(np.min(getattr(w, n)) for n in ("conv_w", "conv_b", "dense_w", "dense_b"))),
                                       int(max(np.max(getattr(w, n)) for n in ("conv_w", "conv_b", "dense_w", "dense_b")))]},
            "extra_registers": self.extra_registers,
        }


def _global(doc: dict, block: str, path: Path) -> dict:
    g = (doc.get(block) or {})
    if not isinstance(g, dict):
        raise ConfigError(f"{path}: '{block}' must be a mapping with a 'Global' block.")
    g = g.get("Global") or {}
    if not isinstance(g, dict):
        raise ConfigError(f"{path}: '{block}.Global' must be a mapping of register: value.")
    return g


def _int(value: Any, where: str, path: Path, bits: int) -> int:
    if isinstance(value, str):
        try:
            value = int(value.replace("_", ""), 0)
        except ValueError as exc:
            raise ConfigError(f"{path}: '{where}' = {value!r} is not an integer (decimal or 0x hex).") from exc
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ConfigError(f"{path}: '{where}' = {value!r} must be an unsigned {bits}-bit integer.")
    return value


def load_chip_config(path: str | Path, n_etx: Optional[int] = None,
                     cell_order: Optional[CellOrder] = None) -> EcontChipConfig:
    """Read an ECON-T ``init.yaml`` (either schema) into :class:`EcontChipConfig`.

    Weights come from the ``Encoder`` I2C blocks through ``econt.export.from_i2c_image`` (chip
    dense order), mux/calibration/density through ``econt.data.eportrx.input_config_from_init_yaml``.
    ``n_etx`` / ``cell_order`` override what the schema implies (module docstring).
    """
    from econt.data.eportrx import input_config_from_init_yaml
    from econt.export import from_i2c_image

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: init.yaml not found. Give the path of an ECON-T init.yaml "
                          "(e.g. ../shared/econt-vectors/AE/init.yaml).")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping of register blocks (Mux, Cal, Encoder, ...).")
    extra: dict[str, Any] = {}
    if "Algorithm" in doc:
        schema = "algorithm"
        alg = _global(doc, "Algorithm", path)
        if "select" not in alg:
            raise ConfigError(f"{path}: 'Algorithm.Global.select' missing (4 = autoencoder).")
        select = _int(alg["select"], "Algorithm.Global.select", path, 3)
        fb = _global(doc, "FormatterBuffer", path)
        mask_ae = _int(fb.get("mask_ae", (1 << 128) - 1), "FormatterBuffer.Global.mask_ae", path, 128)
        mask_ae2 = _int(fb.get("mask_ae2", (1 << 16) - 1), "FormatterBuffer.Global.mask_ae2", path, 16)
        mask = combine_mask(mask_ae, mask_ae2)
        links = _int(fb["eporttx_numen"], "FormatterBuffer.Global.eporttx_numen", path, 4) if "eporttx_numen" in fb \
            else DEFAULT_N_ETX_ALGORITHM_SCHEMA
        order: CellOrder = "lsb_first"
    elif "ConfigAlgo" in doc:
        schema = "configalgo"
        alg = _global(doc, "ConfigAlgo", path)
        if "alg_type" not in alg:
            raise ConfigError(f"{path}: 'ConfigAlgo.Global.alg_type' missing (4 = autoencoder).")
        select = _int(alg["alg_type"], "ConfigAlgo.Global.alg_type", path, 3)
        fb = _global(doc, "FormatterBuffer", path)
        mask = _int(fb.get("keep_auto_encoder_bits", FULL_MASK), "FormatterBuffer.Global.keep_auto_encoder_bits",
                    path, 144)
        if "active_etxs" not in fb:
            raise ConfigError(f"{path}: 'FormatterBuffer.Global.active_etxs' missing (bitmap of enabled eTx links).")
        bitmap = _int(fb["active_etxs"], "FormatterBuffer.Global.active_etxs", path, MAX_ETX)
        if bitmap & (bitmap + 1):
            raise ConfigError(f"{path}: 'FormatterBuffer.Global.active_etxs' = {bitmap:#x} must enable links "
                              "0..n-1 contiguously (e.g. 0x1f for 5 links).")
        links = bin(bitmap).count("1")
        for k in ("buff_t1", "buff_t2", "buff_t3", "link_reset_pattern"):
            if k in fb:
                extra[k] = _int(fb[k], f"FormatterBuffer.Global.{k}", path, 16)
        order = "msb_first"
    else:
        raise ConfigError(f"{path}: neither 'Algorithm' nor 'ConfigAlgo' block found; an ECON-T init.yaml "
                          "selects its algorithm in one of them.")
    if n_etx is not None:
        links = n_etx
    if not 1 <= links <= MAX_ETX:
        raise ConfigError(f"{path}: number of eTx links must be 1..{MAX_ETX}, got {links}.")
    if "Encoder" not in doc:
        raise ConfigError(f"{path}: no 'Encoder' section (the 12 I2C weight blocks of the autoencoder).")
    inp = input_config_from_init_yaml(path, cell_order_in_word=cell_order or order)
    weights = from_i2c_image(path)
    return EcontChipConfig(source=str(path), schema=schema, algorithm_select=select,
                           high_density=bool(inp.high_density), mux=tuple(inp.mux),
                           calibration=tuple(inp.calibration), formatter_mask=mask, n_etx=int(links),
                           cell_order=inp.cell_order_in_word, weights=weights, extra_registers=extra)
