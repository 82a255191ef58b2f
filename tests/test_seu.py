"""Single-event-upset injection: TMR designs lose no output to single upsets, the plain design does."""
from __future__ import annotations

import pytest

from econt.model.config import load_encoder_config
from econt.rtl.arch import arch_from_encoder_config
from econt.rtl.config import RtlConfig
from econt.rtl.generator import generate_design
from econt.verify.seu import make_events, run_seu_campaign
from econt.verify.stimulus import synthetic_calq
from econt.verify.weights import trained_like_weights


@pytest.fixture(scope="module")
def setup():
    ecfg = load_encoder_config()
    return ecfg, arch_from_encoder_config(ecfg), trained_like_weights(ecfg, 11)


def _campaign(tmp_path, setup, tmr, n_samples, n_upsets):
    ecfg, spec, w = setup
    d = generate_design(RtlConfig(name=f"seu_{tmr}", tmr=tmr, pipeline_stages=3), tmp_path / tmr, spec=spec)
    calq = synthetic_calq(n_samples, seed=21)
    return run_seu_campaign(d, w, calq, n_upsets=n_upsets, seed=5, work=tmp_path / f"sim_{tmr}")


@pytest.mark.slow
@pytest.mark.parametrize("tmr", ["none", "config", "full"])
def test_seu_campaign(tmp_path, setup, tmr, full):
    n, k = (3000, 100) if full else (400, 12)
    res = _campaign(tmp_path, setup, tmr, n, k)
    for target in ("config", "pipeline"):
        assert res[target]["upsets_injected"] == k, res
        assert res[target]["samples"] == n
    if tmr == "none":
        # unprotected: upsets do corrupt outputs (proves the injection reaches the datapath)
        assert res["config"]["outputs_corrupted"] > 0 and res["pipeline"]["outputs_corrupted"] > 0
    if tmr in ("config", "full"):
        assert res["config"]["outputs_corrupted"] == 0
    if tmr == "full":
        assert res["pipeline"]["outputs_corrupted"] == 0
    if tmr == "config":
        # datapath registers are not triplicated in tmr=config
        assert res["pipeline"]["outputs_corrupted"] > 0


def test_events_target_the_right_copies(tmp_path, setup):
    ecfg, spec, w = setup
    d = generate_design(RtlConfig(name="ev", tmr="full"), tmp_path / "d", spec=spec)
    ev = make_events(d, "config", 5, 500, seed=1)
    assert len(ev) == 5 and all(".u_cfg.g_byte[" in e["path"] and e["path"][-3:-1] == "q_" for e in ev)
    ev = make_events(d, "pipeline", 5, 500, seed=1)
    assert all(e["path"].split(".")[-1] in ("r_a", "r_b", "r_c") for e in ev)
    assert all(0 <= e["bit"] < d.manifest["pipeline_register_widths"][e["path"].split(".")[1][7:]] for e in ev)
