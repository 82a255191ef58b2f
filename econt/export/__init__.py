"""Per-region weight export: JSON weight files and the ECON-T I2C register image.

Public API (docs/contracts.md): ``save_weights_json``, ``load_weights_json``,
``to_i2c_image``, ``from_i2c_image``, ``i2c_bytes``; plus ``write_init_yaml``,
``compare_i2c``, ``quantise_deployed``, ``export_model`` and ``run_stage``.
"""
from __future__ import annotations

from econt.export.i2c import (
    compare_i2c,
    deployed_float_weights,
    from_i2c_image,
    i2c_bytes,
    pack_weights,
    quantise_deployed,
    to_i2c_image,
    unpack_weights,
    write_init_yaml,
)
from econt.export.weights_json import load_weights_json, save_weights_json

__all__ = [
    "compare_i2c", "deployed_float_weights", "from_i2c_image", "i2c_bytes", "pack_weights",
    "quantise_deployed", "to_i2c_image", "unpack_weights", "write_init_yaml",
    "load_weights_json", "save_weights_json",
]
