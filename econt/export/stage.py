"""Export stage: trained model folders → ``build/export/<name>/<region>/{weights.json, init.yaml}``.

A model folder is what ``econt.model.qkeras_model.save_encoder`` writes
(``encoder.weights.h5`` + ``model_config.yaml``). The training stage lays them out as
``build/train/<loss>/`` (global weights) and ``build/train/<loss>/regions/<region>/``.
Each export also writes the resolved config and a round-trip check (JSON → codes, I2C image
→ codes) so a corrupt export can never pass silently.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from econt.summary import merge_json
from econt.config import write_resolved_config
from econt.errors import DataError
from econt.export.i2c import (
    compare_i2c,
    deployed_float_weights,
    from_i2c_image,
    quantise_deployed,
    to_i2c_image,
    write_init_yaml,
)
from econt.export.weights_json import load_weights_json, save_weights_json
from econt.model.integer import IntegerWeights
from econt.paths import CHIP_EXPORT_DIR, CHIP_TRAIN_DIR, reports_dir, shared_path, work_dir

DEPLOYED_CONFIGS = ("AE_8x8_c8_S2_ele_qkeras", "AE")


def export_weights(weights: IntegerWeights, folder: str | Path, meta: dict | None = None) -> dict[str, Any]:
    """Write ``weights.json`` + ``init.yaml`` into ``folder`` and verify both round trips."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if meta:
        weights = weights.replace(meta={**weights.meta, **meta})
    jpath = save_weights_json(weights, folder / "weights.json")
    ypath = write_init_yaml(weights, folder / "init.yaml")
    back_json = load_weights_json(jpath)
    back_i2c = from_i2c_image(ypath, weights.cfg, region=weights.region)
    if back_json != weights or back_i2c != weights.replace(meta={}):
        raise DataError(f"{folder}: export round trip failed (weights.json or init.yaml does not read back "
                        "to the same codes).")
    write_resolved_config(folder, weights.cfg, seed=None, name="model_config.resolved.yaml")
    return {"folder": str(folder), "region": weights.region, "config_hash": weights.config_hash,
            "weights_json": str(jpath), "init_yaml": str(ypath), "round_trip_ok": True}


def export_model(model_dir: str | Path, out_dir: str | Path, region: str = "global") -> dict[str, Any]:
    """Load a saved encoder (``save_encoder`` folder), extract its integer codes, export them."""
    from econt.model.integer import extract_integer_weights
    from econt.model.qkeras_model import load_encoder

    model, cfg = load_encoder(model_dir)
    weights = extract_integer_weights(model, cfg, region=region)
    return export_weights(weights, out_dir, meta={"source_model": str(model_dir)})


def find_model_folders(train_dir: str | Path) -> list[tuple[str, str, Path]]:
    """(name, region, folder) for every saved encoder under ``train_dir``."""
    train_dir = Path(train_dir)
    found = []
    for cfg_file in sorted(train_dir.rglob("model_config.yaml")):
        folder = cfg_file.parent
        if not (folder / "encoder.weights.h5").is_file():
            continue
        rel = folder.relative_to(train_dir).parts
        if len(rel) >= 3 and rel[-2] == "regions":
            name, region = "/".join(rel[:-2]), rel[-1]
        else:
            name, region = ("/".join(rel) or folder.name), "global"
        found.append((name, region, folder))
    return found


def export_all(train_dir: str | Path | None = None, out_root: str | Path | None = None) -> list[dict[str, Any]]:
    """Export every trained model under ``train_dir`` (default build/train) to ``out_root`` (build/export)."""
    from tqdm import tqdm

    train_dir = Path(train_dir) if train_dir else work_dir("train")
    out_root = Path(out_root) if out_root else work_dir("export")
    results = []
    for name, region, folder in tqdm(find_model_folders(train_dir), desc="export", unit="model"):
        res = export_model(folder, out_root / name / region, region=region)
        res["name"] = name
        results.append(res)
    return results


def deployed_i2c_check(config_name: str, rounding: str = "floor") -> dict[str, Any]:
    """Export a shared deployed ``encoder.hdf5`` and compare with its ``init.yaml`` field by field."""
    from econt.model.config import load_encoder_config

    folder = shared_path("econt-vectors", config_name)
    if folder is None:
        raise DataError(f"shared reference data econt-vectors/{config_name} not found (../shared or ECONT_SHARED).")
    cfg = load_encoder_config()
    weights = quantise_deployed(deployed_float_weights(folder / "encoder.hdf5"), cfg, rounding=rounding)
    # the shared images were generated input-major (Keras order) — see econt.export.i2c
    cmp = compare_i2c({"Encoder": to_i2c_image(weights, dense_order="keras")}, folder / "init.yaml")
    ref = from_i2c_image(folder / "init.yaml", cfg, dense_order="keras")
    params_match = sum(int((getattr(weights, n) == getattr(ref, n)).sum()) for n in IntegerWeights.LAYERS)
    return {"config": config_name, "rounding": rounding, "i2c_fields": cmp["fields"],
            "i2c_fields_matching": cmp["fields_matching"], "params": cfg.n_params, "params_matching": params_match,
            "i2c_match": cmp["fields"] == cmp["fields_matching"]}




def run_stage(quick: bool = False, train_dir: str | Path | None = None, out_root: str | Path | None = None) -> dict:
    """Export all trained models and check the deployed I2C images; writes reports/export/summary.json."""
    t0 = time.perf_counter()
    summary: dict[str, Any] = {}
    exports = export_all(train_dir, out_root)
    if train_dir is None and out_root is None:
        # the weights trained for the ECON-T silicon's arithmetic (train stage, full runs): the ones
        # to write to a real chip
        chip_dir = work_dir(CHIP_TRAIN_DIR)
        if find_model_folders(chip_dir):
            chip = export_all(chip_dir, work_dir(CHIP_EXPORT_DIR))
            exports += [{**r, "name": f"{r['name']} (chip arithmetic)"} for r in chip]
    summary["exported_weight_sets"] = len(exports)
    summary["exports"] = [{k: r[k] for k in ("name", "region", "folder", "round_trip_ok")} for r in exports]
    for name in DEPLOYED_CONFIGS:
        if shared_path("econt-vectors", name) is None:
            summary[f"i2c_{name}"] = "shared data absent"
            continue
        for rounding in ("floor", "half_even"):
            res = deployed_i2c_check(name, rounding)
            summary[f"i2c_{name}_{rounding}_fields_matching"] = res["i2c_fields_matching"]
            summary[f"i2c_{name}_{rounding}_params_matching"] = res["params_matching"]
        summary[f"i2c_{name}_fields"] = res["i2c_fields"]
        summary[f"i2c_{name}_params"] = res["params"]
    summary["export_seconds"] = round(time.perf_counter() - t0, 2)
    merge_json(reports_dir("export") / "summary.json", summary)
    return summary
