"""tmr=selective: protected configuration bits as TMR groups, the rest single registers.

Bit-exact with the golden model in Icarus (refresh and gated storage, two weight sets loaded one
after the other without reset); an upset of a protected copy is outvoted, an upset of an
unprotected bit corrupts the output; the mask file is validated.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from econt.errors import ConfigError
from econt.faults.ranking import write_mask
from econt.model.config import load_encoder_config
from econt.model.integer import random_integer_weights
from econt.rtl.arch import arch_from_encoder_config
from econt.rtl.config import RtlConfig, load_rtl_config
from econt.rtl.generator import generate_design
from econt.verify.sim import StreamChunk, simulate
from econt.verify.stimulus import extreme_calq, synthetic_calq
from econt.verify.weights import trained_like_weights

N_BITS = 12_864


@pytest.fixture(scope="module")
def ecfg():
    return load_encoder_config()


def _mask(tmp_path, n_bits=N_BITS, frac=0.1, seed=3):
    rng = np.random.default_rng(seed)
    prot = np.sort(rng.choice(n_bits, size=int(frac * n_bits), replace=False))
    return write_mask(tmp_path / "mask.json", prot, n_bits), prot


def _design(tmp_path, ecfg, mask, **kw):
    spec = arch_from_encoder_config(ecfg)
    cfg = RtlConfig(name="sel_" + "_".join(str(v) for v in kw.values()), tmr="selective", protection_mask=mask, **kw)
    cfg.validate()
    return generate_design(cfg, tmp_path / cfg.name, spec=spec)


@pytest.mark.parametrize("storage,group", [("refresh", "block"), ("gated", "word")])
def test_selective_matches_golden_and_counts_flops(tmp_path, ecfg, storage, group):
    mask, prot = _mask(tmp_path)
    d = _design(tmp_path, ecfg, mask, cfg_storage=storage, cfg_gate_group=group)
    m = d.manifest
    assert m["protected_bits"] == len(prot) and m["config_flops"] == N_BITS + 2 * len(prot)
    wa, wb = trained_like_weights(ecfg, 9), random_integer_weights(ecfg, 10)
    chunks = [StreamChunk(0, extreme_calq(24, seed=5), "A"), StreamChunk(1, synthetic_calq(24, seed=6), "B"),
              StreamChunk(0, synthetic_calq(16, seed=7), "A again")]
    res = simulate(d, [wa, wb], chunks, tmp_path / "sim")
    assert res.samples == 64 and res.mismatches == 0, res.per_chunk


def test_upsets_protected_outvoted_unprotected_corrupt(tmp_path, ecfg):
    """Copy b of protected bits: 0 corrupted outputs; copy a of unprotected sign bits: corrupted."""
    mask, prot = _mask(tmp_path, frac=0.5, seed=4)
    d = _design(tmp_path, ecfg, mask)
    w = trained_like_weights(ecfg, 9)
    calq = synthetic_calq(400, seed=8)
    # dense bias codes: sign bits (bit 5 of each 6-bit parameter) of the last parameters
    unprot = [b for b in range(N_BITS - 6 * 16, N_BITS) if b % 6 == 5 and b not in set(prot.tolist())][:3]
    prot_ev = [{"cycle": 20 + 30 * i, "path": f"u_enc.u_cfg.g_byte[{b // 8}].g_bit[{b % 8}].tmr.r_b", "bit": 0,
                "target": "config"} for i, b in enumerate(prot[::len(prot) // 10][:10].tolist())]
    res = simulate(d, [w], [StreamChunk(0, calq, "prot", prot_ev)], tmp_path / "p")
    assert len(res.events) == 10 and res.mismatches == 0
    un_ev = [{"cycle": 20 + 100 * i, "path": f"u_enc.u_cfg.g_byte[{b // 8}].q_a", "bit": b % 8, "target": "config"}
             for i, b in enumerate(unprot)]
    res = simulate(d, [w], [StreamChunk(0, calq, "unprot", un_ev)], tmp_path / "u")
    assert res.mismatching_samples > 0


def test_mask_errors(tmp_path, ecfg):
    spec = arch_from_encoder_config(ecfg)
    with pytest.raises(ConfigError, match="protection_mask"):
        RtlConfig(tmr="selective").validate()
    with pytest.raises(ConfigError, match="not found"):
        generate_design(RtlConfig(name="s", tmr="selective", protection_mask=tmp_path / "no.json"), tmp_path / "a", spec=spec)
    bad, _ = _mask(tmp_path, n_bits=100)
    with pytest.raises(ConfigError, match="n_bits"):
        generate_design(RtlConfig(name="s", tmr="selective", protection_mask=bad), tmp_path / "b", spec=spec)
    # a relative mask path resolves against the config file
    (tmp_path / "cfgs").mkdir()
    write_mask(tmp_path / "cfgs" / "m.json", np.array([0, 7]), N_BITS)
    (tmp_path / "cfgs" / "sel.yaml").write_text("name: sel\ntmr: selective\nprotection_mask: m.json\n")
    cfg = load_rtl_config(tmp_path / "cfgs" / "sel.yaml")
    assert cfg.protection_mask == tmp_path / "cfgs" / "m.json"
    assert json.loads(cfg.protection_mask.read_text())["protected"] == [0, 7]


def test_shipped_selective_config_points_at_the_rankings_mask():
    from econt.paths import reports_root

    cfg = load_rtl_config("econt_tmr_selective")
    cfg.validate()
    assert cfg.tmr == "selective"
    assert cfg.protection_mask.resolve() == reports_root() / "faults" / "protection_mask.json"
