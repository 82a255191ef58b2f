"""SEU campaign on tmr=selective (econt.faults.seu_check) on the reduced encoder in Icarus.

The protected phase must count only the protected upsets: the first unprotected window's upset
acts on the samples still in the pipeline, so without a guard between the phases the last
protected-phase sample was reported as a corrupted output of a protected bit.
"""
from __future__ import annotations

import numpy as np

from econt.faults.mask import write_mask
from econt.faults.seu_check import run_selective_seu
from econt.model.config import load_encoder_config
from econt.rtl.arch import arch_from_encoder_config
from econt.rtl.config import RtlConfig
from econt.verify.seu import REDUCED_BLOCK_BITS, reduced_design
from econt.verify.stimulus import synthetic_calq
from econt.verify.weights import trained_like_weights


def test_protected_upsets_corrupt_nothing_and_windows_do(tmp_path):
    ecfg = load_encoder_config(RtlConfig().model_config, {"conv_filters": 2, "latent_dim": 2})
    n_cfg = arch_from_encoder_config(ecfg).config_bits
    n_image = -(-n_cfg // REDUCED_BLOCK_BITS) * REDUCED_BLOCK_BITS
    rng = np.random.default_rng(1)
    # protected: conv bits (the first 108, where the test layout's image order is the ranking's)
    prot = np.sort(rng.choice(108, 40, replace=False))
    mask = write_mask(tmp_path / "mask.json", prot, n_image)
    d, ecfg = reduced_design(RtlConfig(name="sel_seu", tmr="selective", protection_mask=mask), tmp_path / "d")
    # a ranking that puts the dense weights' sign bits first: their upsets change the latents
    loss = np.zeros(n_image)
    loss[:n_cfg] = rng.random(n_cfg)
    dense = slice(n_cfg - 6 * 2 - 6 * 2 * 32 + 5, n_cfg - 6 * 2, 6)
    loss[dense] += 10.0
    # a fixed linear decoder with an offset (the EMD of a pure linear map of 2 latents ignores their scale)
    W = np.abs(np.random.default_rng(2).normal(size=(2, 48)))
    res = run_selective_seu(d, trained_like_weights(ecfg, 3), lambda z: np.maximum(np.asarray(z) @ W, 0.0) + 1.0,
                            synthetic_calq(300, seed=2).astype(float), {"loss_pct": loss.tolist(), "mean_emd": 1.0},
                            prot, tmp_path / "sim", n_protected=60, n_unprotected=3, window=30)
    assert res.protected_upsets == 60 and res.protected_outputs_corrupted == 0
    assert not set(res.unprotected_bits) & set(prot.tolist())
    assert all(b in range(n_cfg)[dense] for b in res.unprotected_bits)
    assert any(abs(m) > 0 for m in res.measured_loss_pct)   # the unprotected upsets do reach the outputs
    # the RTL under each upset computes what the ranking's integer model computes on the same events
    assert res.max_abs_diff_vs_model_pct < 1e-9, (res.measured_loss_pct, res.model_window_loss_pct)
