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
from econt.paths import repo_root
from econt.sweep.config import load_study_config, output_capacity_bits
from econt.sweep.study import open_study, sample_design


def _write(tmp_path: Path, doc: dict, name: str = "study.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return p


def test_shipped_study_configs_load():
    for p in sorted((repo_root() / "configs" / "sweep").glob("*.yaml")):
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
    ({"space": {"cfg_storage": ["sram"]}}, "space.cfg_storage", "set it to null"),
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
                         capture_output=True, text=True, cwd=repo_root())
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
