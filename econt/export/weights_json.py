"""JSON weight file: integer codes of one encoder, with formats, region and config hash.

Schema (``format: econt-weights``, ``version: 1``)::

    {
      "format": "econt-weights", "version": 1,
      "region": "global",                    # detector region the weights are for
      "config_hash": "<16 hex>",             # econt.config.config_hash of "config"
      "config": {...},                       # the resolved EncoderConfig (architecture + widths)
      "layers": {                            # order = I2C packing order
        "conv_w":  {"shape": [3,3,1,8], "bits": 6, "frac_bits": 5, "signed": true,
                    "scale": 0.03125, "codes": [...]},   # row-major (C order) flattening of shape
        "conv_b":  {...}, "dense_w": {...}, "dense_b": {...}
      },
      "meta": {...}                          # free-form provenance (source model, seed, ...)
    }

A weight's real value is ``code * scale`` with ``scale = 2**-frac_bits``. Loading checks
the schema, the hash against the config, every shape and every code's range (an
out-of-range code is an error naming the layer and index — never clipped).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from econt.config import build_dataclass, config_hash, to_plain
from econt.errors import DataError
from econt.model.config import EncoderConfig
from econt.model.integer import IntegerWeights

FORMAT = "econt-weights"
VERSION = 1


def weights_to_dict(weights: IntegerWeights) -> dict[str, Any]:
    weights.validate()
    layers = {}
    for name in IntegerWeights.LAYERS:
        bits, frac = weights.layer_format(name)
        arr = getattr(weights, name)
        layers[name] = {"shape": list(arr.shape), "bits": bits, "frac_bits": frac, "signed": True,
                        "scale": 2.0 ** -frac, "codes": [int(v) for v in arr.reshape(-1)]}
    return {"format": FORMAT, "version": VERSION, "region": weights.region,
            "config_hash": weights.config_hash, "config": to_plain(weights.cfg), "layers": layers,
            "meta": to_plain(weights.meta)}


def save_weights_json(weights: IntegerWeights, path: str | Path) -> Path:
    """Write ``weights`` as an ``econt-weights`` JSON file (schema in the module docstring)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(weights_to_dict(weights), indent=1))
    return path


def weights_from_dict(doc: dict[str, Any], source: str = "<weights>") -> IntegerWeights:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataError(f"{source}: not an econt weight file (field 'format' must be '{FORMAT}').")
    if doc.get("version") != VERSION:
        raise DataError(f"{source}: field 'version' is {doc.get('version')!r}; this kit reads version {VERSION}.")
    for key in ("config", "layers", "config_hash", "region"):
        if key not in doc:
            raise DataError(f"{source}: required field '{key}' is missing.")
    cfg = build_dataclass(EncoderConfig, doc["config"], source=f"{source} (field 'config')")
    if config_hash(to_plain(cfg)) != doc["config_hash"]:
        raise DataError(f"{source}: field 'config_hash' {doc['config_hash']} does not match its 'config' "
                        f"({cfg.hash()}); the file was edited or corrupted.")
    arrays = {}
    for name in IntegerWeights.LAYERS:
        layer = doc["layers"].get(name)
        if layer is None:
            raise DataError(f"{source}: field 'layers.{name}' is missing.")
        bits, frac = (cfg.weight_bits, cfg.weight_frac) if name.endswith("_w") else (cfg.bias_bits, cfg.bias_frac)
        if layer.get("bits") != bits or layer.get("frac_bits") != frac:
            raise DataError(f"{source}: layers.{name} declares bits={layer.get('bits')}, frac_bits="
                            f"{layer.get('frac_bits')}; the config needs {bits}, {frac}.")
        if "scale" in layer and layer["scale"] != 2.0 ** -frac:
            # scale is redundant (2**-frac_bits); a different value would be silently ignored, so refuse it
            raise DataError(f"{source}: field 'layers.{name}.scale' is {layer['scale']!r} but frac_bits={frac} "
                            f"means scale {2.0 ** -frac}. Fix the scale (or remove it); the codes and frac_bits "
                            "define the weights.")
        codes = np.asarray(layer.get("codes", []))
        if codes.size and not np.issubdtype(codes.dtype, np.integer):
            raise DataError(f"{source}: layers.{name}.codes must be integers.")
        shape = tuple(layer.get("shape", []))
        if codes.size != int(np.prod(shape)):
            raise DataError(f"{source}: layers.{name} has {codes.size} codes for shape {list(shape)}.")
        arrays[name] = codes.astype(np.int64).reshape(shape)
    w = IntegerWeights.__new__(IntegerWeights)   # validate with the file name in the message
    w.cfg, w.region, w.config_hash, w.meta = cfg, str(doc["region"]), doc["config_hash"], dict(doc.get("meta") or {})
    for name, arr in arrays.items():
        setattr(w, name, arr)
    w.validate(source=source)
    return w


def load_weights_json(path: str | Path) -> IntegerWeights:
    """Read and validate an ``econt-weights`` JSON file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weight file not found.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}).") from exc
    return weights_from_dict(doc, source=str(path))
