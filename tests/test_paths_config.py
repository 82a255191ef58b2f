"""Outputs go where the user works; relative config paths resolve against their file."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from econt.config import ConfigError, load_config
from econt.errors import EcontError
from econt.paths import build_root, ensure_dir, ensure_parent, reports_dir, work_dir, workdir


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ("ECONT_BUILD", "ECONT_REPORTS", "ECONT_WORKDIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_and_reports_default_to_the_current_directory(clean_env):
    assert workdir() == clean_env.resolve()
    assert work_dir("data") == clean_env.resolve() / "build" / "data"
    assert reports_dir("data") == clean_env.resolve() / "reports" / "data"


def test_workdir_and_overrides(clean_env, monkeypatch):
    monkeypatch.setenv("ECONT_WORKDIR", str(clean_env / "w"))
    assert build_root() == (clean_env / "w" / "build").resolve()
    monkeypatch.setenv("ECONT_BUILD", str(clean_env / "elsewhere"))
    assert work_dir("x") == (clean_env / "elsewhere" / "x").resolve()
    assert reports_dir().parent == (clean_env / "w").resolve()


def test_output_inside_an_existing_file_is_a_clear_error(clean_env):
    (clean_env / "afile").write_text("x")
    with pytest.raises(EcontError, match="existing file, not a folder"):
        ensure_dir(clean_env / "afile" / "sub")
    with pytest.raises(EcontError, match="existing file, not a folder"):
        ensure_parent(clean_env / "afile" / "out.npz")
    with pytest.raises(EcontError, match="existing folder"):
        ensure_parent(clean_env)


@dataclasses.dataclass(frozen=True)
class _Sub:
    path: Optional[Path] = None


@dataclasses.dataclass(frozen=True)
class _Cfg:
    model: Path = Path("configs/model/econt_default.yaml")
    sub: _Sub = dataclasses.field(default_factory=_Sub)
    paths: tuple[Path, ...] = ()


def test_relative_paths_resolve_against_the_file_that_sets_them(clean_env):
    base = clean_env / "a" / "base.yaml"
    top = clean_env / "b" / "c" / "top.yaml"
    base.parent.mkdir(parents=True)
    top.parent.mkdir(parents=True)
    base.write_text("model: m.yaml\nsub: {path: data.npz}\n")
    top.write_text("extends: ../../a/base.yaml\npaths: [x.csv, /abs/y.csv]\n")
    cfg = load_config(_Cfg, top)
    assert cfg.model == base.parent.resolve() / "m.yaml"
    assert cfg.sub.path == base.parent.resolve() / "data.npz"
    assert cfg.paths == (top.parent.resolve() / "x.csv", Path("/abs/y.csv"))
    # an override (--set) is relative to the current directory; defaults are left to the stage
    cfg = load_config(_Cfg, clean_env / "b" / "c" / "top.yaml", {"sub.path": "here.npz"})
    assert cfg.sub.path == clean_env / "here.npz"
    (clean_env / "only.yaml").write_text("paths: []\n")
    assert load_config(_Cfg, clean_env / "only.yaml").model == Path("configs/model/econt_default.yaml")
    with pytest.raises(ConfigError, match="must be a path string"):
        load_config(_Cfg, clean_env / "only.yaml", {"model": 3})


def test_output_tokens_name_the_working_folders_outputs(clean_env, monkeypatch):
    from econt.rtl.config import load_rtl_config

    (clean_env / "c").mkdir()
    (clean_env / "c" / "x.yaml").write_text('model: "{build}/m.yaml"\nsub: {path: "{reports}/faults/mask.json"}\n')
    cfg = load_config(_Cfg, clean_env / "c" / "x.yaml")
    assert cfg.model == clean_env.resolve() / "build" / "m.yaml"
    assert cfg.sub.path == clean_env.resolve() / "reports" / "faults" / "mask.json"
    # the shipped selective design reads the mask that `econt faults rank` wrote in the user's reports/
    monkeypatch.setenv("ECONT_WORKDIR", str(clean_env / "w"))
    sel = load_rtl_config("econt_tmr_selective")
    assert sel.protection_mask == (clean_env / "w").resolve() / "reports" / "faults" / "protection_mask.json"


def test_the_kit_configs_name_existing_files():
    from econt.paths import kit_data
    from econt.train.stage import load_train_config

    for name in ("default", "quick", "chip_arithmetic"):
        cfg = load_train_config(kit_data("configs", "train", f"{name}.yaml"))
        assert cfg.model_config.is_file(), (name, cfg.model_config)


def test_config_names_resolve_in_the_kit_and_user_paths_against_the_cwd(clean_env):
    from econt.config import kit_config_path
    from econt.paths import kit_data
    from econt.rtl.config import load_rtl_config

    kit = kit_data("configs", "rtl", "econt_chip.yaml")
    assert kit.is_file() and kit.is_relative_to(Path(__import__("econt").__file__).parent)
    assert kit_config_path("rtl", "econt_chip") == kit_config_path("rtl", "econt_chip.yaml") == kit
    assert kit_config_path("rtl", "configs/rtl/econt_chip.yaml") == kit   # the kit's spelling, from any folder
    # a file of the user's, relative to the current directory, is taken as given
    (clean_env / "configs" / "rtl").mkdir(parents=True)
    (clean_env / "configs" / "rtl" / "econt_chip.yaml").write_text("name: mine\n")
    assert kit_config_path("rtl", "configs/rtl/econt_chip.yaml") == Path("configs/rtl/econt_chip.yaml")
    assert load_rtl_config("configs/rtl/econt_chip.yaml").name == "mine"
    assert kit_config_path("rtl", "nope") == Path("nope.yaml")
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_rtl_config("nope")


def test_cli_writes_into_the_working_directory(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    out = subprocess.run([sys.executable, "-m", "econt.cli.main", "data", "generate", "--n", "20", "--out", "d.npz"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "d.npz").is_file()
    out = subprocess.run([sys.executable, "-m", "econt.cli.main", "--workdir", "w", "data", "inspect", "d.npz"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    png = tmp_path / "w" / "reports" / "inspect" / "d.png"
    assert png.is_file() and str(png) in out.stdout
    assert not (repo / "reports" / "inspect" / "d.png").exists()


def test_tensorflow_start_up_noise_hidden_unless_verbose(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    code = ("import econt; from econt.cli.console import quiet_ml_noise; quiet_ml_noise(); "
            "import tensorflow as tf; print('imported', tf.__version__)")
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    quiet = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=300)
    loud = subprocess.run([sys.executable, "-c", code], env={**base, "ECONT_VERBOSE": "1"},
                          capture_output=True, text=True, timeout=300)
    assert quiet.returncode == loud.returncode == 0, quiet.stderr + loud.stderr
    assert "imported" in quiet.stdout
    assert quiet.stderr.strip() == "", quiet.stderr
    assert "absl::InitializeLog" in loud.stderr or "cuda" in loud.stderr.lower(), loud.stderr
