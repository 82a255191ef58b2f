"""Upsets in clock-gated configuration storage (reduced encoder, 32-byte I2C blocks: 3 block groups).

The clock-gate latches, two groups hit in one cycle and upsets during an I2C reload: TMR loses no
output; without TMR a latch upset that closes the gate during a write drops the write, and the
outputs after the reload show it.
"""
from __future__ import annotations

import pytest

from econt.rtl.config import RtlConfig
from econt.verify.seu import CfgGroups, complement_weights, default_targets, make_events, reduced_design, run_seu_campaign
from econt.verify.sim import StreamChunk, simulate
from econt.verify.stimulus import synthetic_calq
from econt.verify.weights import trained_like_weights


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    root = tmp_path_factory.mktemp("seu_gated")
    out = {}
    for tmr in ("none", "config"):
        d, ecfg = reduced_design(RtlConfig(name=f"sg_{tmr}", tmr=tmr, cfg_storage="gated", cfg_gate_group="block"),
                                 root / tmr)
        out[tmr] = d
    w = trained_like_weights(ecfg, 3)
    return out, w, complement_weights(w)


def _latch(group: int, copy: str, cycle: int) -> dict:
    return {"cycle": cycle, "path": f"u_enc.u_cfg.g_group[{group}].u_cg{copy}.en_latch", "bit": 0, "target": "write"}


def _reload_with(d, w, w2, events, tmp_path):
    """Weights ``w``, stream, reload ``w2`` with ``events`` during the writes, stream."""
    chunks = [StreamChunk(0, synthetic_calq(40, seed=1), "A"),
              StreamChunk(1, synthetic_calq(80, seed=2), "B after reload", load_events=events)]
    return simulate(d, [w, w2], chunks, tmp_path)


def test_events_cover_the_gated_state_elements(designs):
    (ds, _, _) = designs
    d = ds["config"]
    g = CfgGroups.of(d)
    assert len(g.first_byte) == 3 and g.group_of(31) == 0 and g.group_of(32) == 1
    assert default_targets(d) == ("config", "pipeline", "gate_latch", "double_group", "write")
    ev = make_events(d, "gate_latch", 6, 400, seed=1)
    assert len(ev) == 6 and all(e["path"].rsplit(".", 2)[-2] in ("u_cg_a", "u_cg_b", "u_cg_c") for e in ev)
    ev = make_events(d, "double_group", 8, 400, seed=1)
    assert len(ev) == 8
    for a, b in zip(ev[::2], ev[1::2]):   # pairs: same cycle, two different groups
        ga, gb = (g.group_of(int(e["path"].split("[")[1].split("]")[0])) for e in (a, b))
        assert a["cycle"] == b["cycle"] and ga != gb
    assert make_events(ds["none"], "gate_latch", 2, 400, seed=1)[0]["path"].endswith(".u_cg.en_latch")


def test_unprotected_latch_upset_drops_a_write(designs, tmp_path):
    """tmr=none: the gate of the group being written closes in the write's cycle: the byte keeps
    its old value and the outputs after the reload are wrong (the injection can fail a design).
    The first chunk is bit-exact: writes into 32-byte blocks reach the registers."""
    (ds, w, w2) = designs
    res = _reload_with(ds["none"], w, w2, [_latch(0, "", 5), _latch(0, "", 10)], tmp_path / "none")
    assert res.per_chunk[0]["mismatches"] == 0
    assert len(res.events) == 2 and res.per_chunk[1]["mismatches"] > 0


def test_tmr_repairs_upsets_during_a_write(designs, tmp_path):
    """tmr=config: a latch upset in the write cycle (copy a drops the write), in the cycle before,
    copy upsets of the written byte and of another byte of the group: no output is wrong. Both
    gates of one group closed in one write cycle (two copies drop it: not covered) is caught."""
    (ds, w, w2) = designs
    d = ds["config"]
    ok = [_latch(0, "_a", 5), _latch(0, "_c", 20), _latch(1, "_b", 40), _latch(0, "_b", 9),
          {"cycle": 50, "path": "u_enc.u_cfg.g_byte[50].q_b", "bit": 3, "target": "write"},
          {"cycle": 50, "path": "u_enc.u_cfg.g_byte[60].q_a", "bit": 6, "target": "write"},
          {"cycle": 63, "path": "u_enc.u_cfg.g_byte[64].q_c", "bit": 1, "target": "write"}]
    res = _reload_with(d, w, w2, ok, tmp_path / "ok")
    assert len(res.events) == len(ok) and res.mismatches == 0, res.per_chunk
    res = _reload_with(d, w, w2, [_latch(0, "_a", 5), _latch(0, "_b", 5)], tmp_path / "two")
    assert res.per_chunk[1]["mismatches"] > 0


@pytest.mark.slow
def test_gated_tmr_config_campaign(designs, tmp_path, full):
    """Random campaign on every target of the gated tmr=config design: 0 corrupted outputs except
    from the (unprotected) datapath pipeline registers, which do corrupt (the injection is live)."""
    (ds, w, w2) = designs
    k = 100 if full else 8
    res = run_seu_campaign(ds["config"], w, synthetic_calq(k * 20 + 160, seed=5), k, seed=9,
                           work=tmp_path / "c")
    assert set(res) == {"config", "pipeline", "gate_latch", "double_group", "write"}
    for t, r in res.items():
        assert r["upsets_injected"] == k, (t, r)
        if t != "pipeline":
            assert r["outputs_corrupted"] == 0, (t, r)
    assert res["pipeline"]["outputs_corrupted"] > 0


def test_seu_table_rows_per_tmr_and_storage():
    """The rtl stage's SEU table has a row per TMR option and storage, every target of the row."""
    from econt.rtl.stage import seu_key, seu_table

    assert seu_key({"tmr": "config", "cfg_gating": {"cfg_storage": "gated"}}) == "config_gated"
    assert seu_key({"tmr": "none", "cfg_gating": {"cfg_storage": "refresh"}}) == "none"
    r = {"upsets_injected": 5, "outputs_corrupted": 0}
    table = seu_table({"config_gated": {"design": "d", "config": r, "gate_latch": r, "write": r,
                                        "pipeline": {"upsets_injected": 5, "outputs_corrupted": 3}}})
    row = table["config_gated"]
    assert row["gate_latch_upsets_injected"] == 5 and row["write_outputs_corrupted"] == 0
    assert row["upsets_injected"] == 20 and row["outputs_corrupted"] == 3
    assert row["config_targets_outputs_corrupted"] == 0 and row["expected_config_corrupted"] == 0
