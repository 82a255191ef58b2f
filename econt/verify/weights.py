"""Weight sets for RTL verification.

Trained exports (``build/export/<loss>/<region>/weights.json``; for a chip-arithmetic design
the weights trained for that arithmetic, ``build/export_chip_arithmetic/…``, when present)
when the export stage has run, the deployed ECON-T weights (``../shared/econt-vectors/AE/init.yaml``) when present,
and seeded random sets: ``random_integer_weights`` over the full code range (hits both code
limits and saturates) and a "trained-like" set (small Gaussian codes, few saturations).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from econt.paths import CHIP_EXPORT_DIR, shared_path, work_dir


def trained_like_weights(cfg: Any, seed: int, region: str = "trained_like") -> Any:
    from econt.model.integer import IntegerWeights

    rng = np.random.default_rng(seed)
    k, f, n, l_ = cfg.conv_kernel, cfg.conv_filters, cfg.flat_dim, cfg.latent_dim
    lo, hi = -(1 << (cfg.weight_bits - 1)), (1 << (cfg.weight_bits - 1)) - 1

    def g(shape: tuple[int, ...], sigma: float) -> np.ndarray:
        return np.clip(np.rint(rng.normal(0.0, sigma, size=shape)), lo, hi).astype(np.int64)

    return IntegerWeights(cfg=cfg, conv_w=g((k, k, cfg.in_channels, f), 12), conv_b=g((f,), 4),
                          dense_w=g((n, l_), 5), dense_b=g((l_,), 6), region=region)


def trained_weight_files(arithmetic: str = "qkeras") -> list[Path]:
    """Exported ``weights.json`` files, those trained for ``arithmetic`` first."""
    roots = [work_dir(CHIP_EXPORT_DIR), work_dir("export")] if arithmetic == "chip" else [work_dir("export")]
    return [p for root in roots for p in sorted(Path(root).glob("*/*/weights.json"))]


def verification_weight_sets(cfg: Any, seed: int = 0, max_trained: int = 2,
                             include_deployed: bool = True, arithmetic: str = "qkeras") -> list[tuple[str, Any]]:
    """``[(name, IntegerWeights), ...]``: trained exports (whose encoder fields match ``cfg``;
    for ``arithmetic="chip"`` those trained for it first), deployed, then two random sets."""
    from econt.export import load_weights_json
    from econt.model.integer import random_integer_weights

    sets: list[tuple[str, Any]] = []
    for p in trained_weight_files(arithmetic):
        if len(sets) >= max_trained:
            break
        w = load_weights_json(p)
        if w.cfg.encoder_fields() == cfg.encoder_fields():
            tag = "trained_chip_arithmetic" if w.cfg.arithmetic == "chip" else "trained"
            sets.append((f"{tag}:{p.parent.parent.name}/{p.parent.name}", w))
    init = shared_path("econt-vectors", "AE", "init.yaml")
    if include_deployed and init is not None:
        from econt.export import from_i2c_image

        sets.append(("deployed:AE", from_i2c_image(init, cfg, region="deployed_AE", dense_order="chip")))
    sets.append(("random_full_range", random_integer_weights(cfg, seed + 1)))
    sets.append(("random_trained_like", trained_like_weights(cfg, seed + 2)))
    return sets
