"""Sweep study configs and their Optuna storage (real Optuna, real journal file).

Covered here: validation on load, seeded sampling of the space, resumable journal storage.
Not covered yet: the per-trial chain (econt.sweep.chain: training → exact EMD → bit-exact → RTL
simulation → synthesis → gate-level power) run by workers against PostgreSQL or the journal file,
and resume after a killed worker: one tiny-study trial (1 filter, 2 latents, 4-bit formats,
TMR config) took 804 s here through the full flow, 569 s of it synthesis — too slow for CI as is.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from econt.errors import ConfigError
from econt.paths import kit_data
from econt.sweep.config import load_study_config, output_capacity_bits
from econt.sweep.study import open_study, sample_design


def _write(tmp_path: Path, doc: dict, name: str = "study.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


def test_shipped_study_configs_load():
    for p in sorted(kit_data("configs", "sweep").glob("*.yaml")):
        cfg = load_study_config(p)
        assert cfg.objectives and cfg.n_trials >= 1


@pytest.mark.parametrize("doc, field, fix", [
    ({"n_trails": 3}, "n_trails", "Fix the spelling"),
    ({"pdk": "cmos65lp-style"}, "pdk", "derived estimate"),
    ({"pdk": "tsmc7"}, "pdk", "Use one of"),
    ({"space": {"latent_dim": [16, 32]}}, "space.latent_dim", "Lower latent_dim or raise n_etx"),
    ({"space": {"weight_bits": [6, 6]}}, "space.weight_bits", "remove the duplicate"),
    ({"space": {"tmr": []}}, "space.tmr", "at least one choice"),
    ({"space": {"latent_bits": [17]}}, "space.latent_bits", "Remove that choice"),
    ({"space": {"cfg_storage": ["sram"]}}, "space.cfg_storage", "allowed values are 'refresh', 'gated'"),
    ({"space": {"tmr": ["none", "selective"]}}, "space.tmr", "allowed values are 'none', 'config', 'full'"),
    ({"objectives": ["emd_real", "emd_real"]}, "objectives", "at most once"),
    ({"training": {"epochs": 0}}, "training.epochs", "≥ 1"),
])
def test_bad_study_config_names_file_field_and_fix(tmp_path, doc, field, fix):
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError) as err:
        load_study_config(path)
    msg = str(err.value)
    assert str(path) in msg and field in msg and fix in msg, msg


def test_bad_config_is_one_clear_cli_error(tmp_path):
    path = _write(tmp_path, {"space": {"latent_dim": [40]}})
    res = subprocess.run([sys.executable, "-m", "econt.cli.main", "sweep", "check", str(path)],
                         capture_output=True, text=True, cwd=kit_data().parent)
    assert res.returncode == 2
    assert "econt sweep: error:" in res.stderr and "space.latent_dim" in res.stderr and "Traceback" not in res.stderr


def test_sampling_is_seeded_and_flags_what_the_frame_cannot_carry(tmp_path):
    cfg = load_study_config("tiny")

    def draws(folder: Path) -> list:
        study = open_study(cfg, storage=str(folder / "study.journal"))
        out = []
        for _ in range(8):
            t = study.ask()
            d = sample_design(t, cfg)
            out.append((d.encoder, d.rtl))
            assert d.capacity_bits == output_capacity_bits(cfg.n_etx) == 18
            assert d.output_fits == (d.encoder["latent_dim"] * d.encoder["latent_bits"] <= 18)
        return out

    a, b = draws(tmp_path / "a"), draws(tmp_path / "b")
    assert a == b                       # same seed, same designs
    assert len({str(x) for x in a}) > 1  # the space is searched


def test_journal_storage_resumes(tmp_path):
    import optuna

    cfg = load_study_config("tiny")
    url = str(tmp_path / "study.journal")
    study = open_study(cfg, storage=url)
    t = study.ask()
    sample_design(t, cfg)
    study.tell(t, state=optuna.trial.TrialState.FAIL)
    again = open_study(cfg, storage=url)
    assert again.study_name == "tiny" and len(again.trials) == 1
    assert again.trials[0].state == optuna.trial.TrialState.FAIL
    assert len(again.directions) == len(cfg.objectives)


def test_reference_designs_are_read_from_the_shipped_configs():
    from econt.sweep.run import reference_design

    default, deployed = reference_design("econt_default"), reference_design("econt_chip")
    assert default["latent_dim"] == 16 and default["latent_bits"] == 9 and default["arithmetic"] == "qkeras"
    assert deployed["arithmetic"] == "chip" and {k: v for k, v in deployed.items() if k != "arithmetic"} == \
        {k: v for k, v in default.items() if k != "arithmetic"}
    assert default["cfg_storage"] == "refresh"


def test_reports_mark_references_and_front(tmp_path):
    """Real Optuna study (journal file) told hand-made objective values: the report's front,
    reference rows and the 'beats the default' list follow the Pareto rule."""
    import json

    import optuna

    from econt.sweep.run import reference_design, write_reports

    cfg = load_study_config("default", {"objectives": ["emd_real", "energy_nj"]})
    study = open_study(cfg, storage=str(tmp_path / "s.journal"))
    ref = reference_design("econt_default")
    # (values, timing met, reference): the default; one better on both; one dominated; one fast but failing timing
    for values, met, mark in (([1.0, 2.0], True, "default_design"), ([0.9, 1.5], True, None),
                              ([1.2, 2.5], True, None), ([0.1, 0.1], False, None)):
        t = study.ask({k: optuna.distributions.CategoricalDistribution(list(getattr(cfg.space, k)))
                       for k in ref if len(getattr(cfg.space, k)) > 1})
        sample_design(t, cfg)
        t.set_user_attr("timing_met", met)
        if mark:
            t.set_user_attr("reference", mark)
        study.tell(t, values)
    s = write_reports(cfg, study, tmp_path / "rep")
    assert s["n_trials"] == s["n_complete"] == 4
    assert [r["trial"] for r in s["front"]] == [1]
    assert s["default_design"]["trial"] == 0 and s["default_design"]["emd_real"] == 1.0
    assert s["deployed_econt"]["in_space"] is True and "not evaluated" in s["deployed_econt"]["note"]
    assert s["front_beats_default_on_emd_real_and_energy"] == [1]
    assert json.loads((tmp_path / "rep" / "summary.json").read_text()) == json.loads(json.dumps(s))
    assert (tmp_path / "rep" / "emd_vs_energy.png").stat().st_size > 0
