"""cocotb + Icarus verification of generated designs against the golden integer model.

Reduced by default (a few hundred samples per weight set); ECONT_FULL=1 runs the
10,000-samples-per-weight-set variant (``make all`` runs it through econt.verify.stage).
"""
from __future__ import annotations

import numpy as np
import pytest

from econt.model.config import load_encoder_config
from econt.model.integer import random_integer_weights
from econt.rtl.arch import arch_from_encoder_config
from econt.rtl.config import RtlConfig
from econt.rtl.generator import generate_design
from econt.verify.sim import StreamChunk, simulate
from econt.verify.stimulus import extreme_calq, real_calq, synthetic_calq
from econt.verify.weights import trained_like_weights


@pytest.fixture(scope="module")
def ecfg():
    return load_encoder_config()


def _design(tmp_path, ecfg, **kw):
    arith = kw.get("arithmetic", "qkeras")
    spec = arch_from_encoder_config(ecfg, arithmetic=arith)
    cfg = RtlConfig(name="v_" + "_".join(f"{v}" for v in kw.values()) or "v", **kw)
    return generate_design(cfg, tmp_path / cfg.name, spec=spec)


@pytest.mark.slow
def test_stream_two_weight_sets_without_reset(tmp_path, ecfg, full):
    """Synthetic + extremes, weight set A then B (reloaded through the port, no reset), then A again."""
    n = 10_000 if full else 150
    d = _design(tmp_path, ecfg)
    wa, wb = trained_like_weights(ecfg, 5), random_integer_weights(ecfg, 6)
    syn = synthetic_calq(n, seed=1)
    ext = extreme_calq(max(n // 5, 40), seed=2)
    chunks = [StreamChunk(0, syn, "A:synthetic"), StreamChunk(0, ext, "A:extremes"),
              StreamChunk(1, synthetic_calq(n, seed=3), "B:synthetic"), StreamChunk(1, ext, "B:extremes"),
              StreamChunk(0, ext[:20], "A again")]
    res = simulate(d, [wa, wb], chunks, tmp_path / "sim")
    assert res.samples == sum(len(c.calq) for c in chunks)
    assert res.mismatches == 0, res.per_chunk
    # the two weight sets really produce different outputs (the reload is observable)
    a = res.outputs_latent[res.chunk_of_sample == 1]
    b = res.outputs_latent[res.chunk_of_sample == 3]
    assert not np.array_equal(a, b)
    # extremes exercise both ends of the latent range
    assert res.outputs_latent.max() == 511 and res.outputs_latent.min() == 0


def test_mismatch_is_detected(tmp_path, ecfg):
    """A golden model that differs in one weight is caught (the comparison can fail)."""
    d = _design(tmp_path, ecfg)
    w = trained_like_weights(ecfg, 7)
    wrong = w.replace(dense_b=w.dense_b + np.where(np.arange(16) == 3, 1 if w.dense_b[3] < 31 else -1, 0))
    calq = synthetic_calq(40, seed=4)
    res = simulate(d, [w], [StreamChunk(0, calq)], tmp_path / "sim",
                   golden=lambda _w, c, a: __import__("econt.verify.sim", fromlist=["x"]).golden_encode(wrong, c, a))
    assert res.mismatches > 0


def test_chip_arithmetic_and_real_vectors(tmp_path, ecfg, shared):
    """Chip arithmetic design with the deployed AE weights on the real ECON-T vectors."""
    from econt.export import from_i2c_image

    d = _design(tmp_path, ecfg, arithmetic="chip", pipeline_stages=3)
    w = from_i2c_image(shared / "econt-vectors" / "AE" / "init.yaml", ecfg, dense_order="chip")
    calq = real_calq(120)
    res = simulate(d, [w], [StreamChunk(0, calq, "real")], tmp_path / "sim")
    assert res.samples == 120 and res.mismatches == 0
    assert res.outputs_latent.any()


@pytest.mark.parametrize("tmr", ["config", "full"])
def test_tmr_designs_match_golden(tmp_path, ecfg, tmr):
    d = _design(tmp_path, ecfg, tmr=tmr, pipeline_stages=4 if tmr == "full" else 1)
    w = trained_like_weights(ecfg, 9)
    res = simulate(d, [w], [StreamChunk(0, extreme_calq(48, seed=5))], tmp_path / "sim")
    assert res.mismatches == 0


@pytest.mark.parametrize("tmr,group", [("none", "byte"), ("config", "block"), ("full", "word")])
def test_gated_storage_designs_match_golden(tmp_path, ecfg, tmr, group):
    """Clock-gated storage: two weight sets loaded one after the other (no reset) through the same
    register port, bit-exact with the golden model."""
    d = _design(tmp_path, ecfg, tmr=tmr, cfg_storage="gated", cfg_gate_group=group)
    wa, wb = trained_like_weights(ecfg, 9), random_integer_weights(ecfg, 10)
    chunks = [StreamChunk(0, extreme_calq(24, seed=5), "A"), StreamChunk(1, synthetic_calq(24, seed=6), "B"),
              StreamChunk(0, synthetic_calq(16, seed=7), "A again")]
    res = simulate(d, [wa, wb], chunks, tmp_path / "sim")
    assert res.samples == 64 and res.mismatches == 0, res.per_chunk


def test_verification_uses_the_trained_exports_of_the_designs_arithmetic(tmp_path, monkeypatch):
    """Trained weights are verified on the RTL although their config differs from the design's in
    fields that do not reach the hardware (decoder, name); a chip design takes the weights trained
    for the chip's arithmetic first."""
    from econt.export import save_weights_json
    from econt.model.config import load_encoder_config
    from econt.model.integer import random_integer_weights
    from econt.verify.weights import verification_weight_sets

    monkeypatch.setenv("ECONT_BUILD", str(tmp_path))
    design_cfg = load_encoder_config("econt_default")
    exact = load_encoder_config("econt_default", {"decoder_output_activation": "relu"})
    chip = load_encoder_config("econt_chip_arithmetic", {"decoder_output_activation": "relu"})
    other = load_encoder_config("econt_default", {"conv_filters": 4})
    save_weights_json(random_integer_weights(exact, 1, region="global"), tmp_path / "export/mse/global/weights.json")
    save_weights_json(random_integer_weights(other, 2, region="global"), tmp_path / "export/aaa/global/weights.json")
    save_weights_json(random_integer_weights(chip, 3, region="global"),
                      tmp_path / "export_chip_arithmetic/emd_cnn/global/weights.json")
    names = [n for n, _ in verification_weight_sets(design_cfg, max_trained=1, include_deployed=False)]
    assert names == ["trained:mse/global", "random_full_range", "random_trained_like"]
    names = [n for n, _ in verification_weight_sets(design_cfg, max_trained=2, include_deployed=False,
                                                    arithmetic="chip")]
    assert names[:2] == ["trained_chip_arithmetic:emd_cnn/global", "trained:mse/global"]
