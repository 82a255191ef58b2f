"""A wheel install (not editable) runs from anywhere: the kit's configs and PDK configs ship inside
the package, and what only a source checkout has (tests/) is reported as absent, not assumed.

The wheel is built from a copy of the working tree's sources (``pyproject.toml``, ``README.md``,
``econt/``; building in the checkout would leave setuptools' ``build/`` there) and installed with
``pip install --no-deps --target``; the commands are the installed console scripts, run from a
folder outside the repository with ``PYTHONPATH`` = that target (this .venv has the dependencies;
it also has the repository installed editable, which the target must shadow).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "econt", src / "econt", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(tmp / "dist")],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("econt-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    return tmp / "site"


def _env(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ECONT_WORKDIR", "ECONT_BUILD", "ECONT_REPORTS", "ECONT_SHARED", "PYTHONPATH")}
    return {**env, "PYTHONPATH": str(site), "PATH": f"{site / 'bin'}{os.pathsep}{env.get('PATH', '')}", **extra}


def _econt(site: Path, cwd: Path, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    """The installed ``econt`` console script, run in ``cwd`` (outside the repository)."""
    out = subprocess.run([str(site / "bin" / "econt"), *args], cwd=cwd, env=_env(site, **extra),
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_the_wheel_ships_the_kit_data_and_is_the_package_imported(site, tmp_path):
    assert sorted(p.name for p in (site / "econt" / "asic" / "pdk_configs").glob("*.yaml")) == sorted(
        p.name for p in (REPO / "econt" / "asic" / "pdk_configs").glob("*.yaml"))
    for kind in ("data", "emd", "model", "rtl", "sweep", "train"):
        assert sorted(p.name for p in (site / "econt" / "configs" / kind).glob("*.yaml")) == sorted(
            p.name for p in (REPO / "econt" / "configs" / kind).glob("*.yaml")), kind
    assert (site / "bin" / "econt-yosys").is_file()
    code = "import econt.paths as p; print(p.__file__); print(p.kit_data()); print(p.source_checkout())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(site), capture_output=True, text=True,
                         timeout=120, check=True)
    module, kit, checkout = out.stdout.split()
    assert Path(module).is_relative_to(site.resolve()) and Path(kit) == site.resolve() / "econt"
    assert checkout == "None"


def test_config_names_resolve_inside_the_installed_package(site, tmp_path):
    w = tmp_path / "w"
    by_name = json.loads(_econt(site, tmp_path, "--workdir", str(w), "rtl", "generate", "--config", "econt_chip").stdout)
    assert by_name["design"] == "econt_chip" and by_name["arithmetic"] == "chip"
    assert Path(by_name["path"]).resolve() == (w / "build" / "rtl" / "econt_chip").resolve()
    # the kit's spelling of a config path works from any folder
    kit_path = _econt(site, tmp_path, "--workdir", str(w), "rtl", "generate", "--config", "configs/rtl/econt_default.yaml")
    assert json.loads(kit_path.stdout)["design"] == "econt_default"
    # a file of the user's own, relative to the current directory, wins over the kit's
    (tmp_path / "configs" / "rtl").mkdir(parents=True)
    own = (site / "econt" / "configs" / "rtl" / "econt_default.yaml").read_text().replace(
        "name: econt_default", "name: mine")
    assert "name: mine" in own
    (tmp_path / "configs" / "rtl" / "econt_default.yaml").write_text(own)
    assert json.loads(_econt(site, tmp_path, "--workdir", str(w), "rtl", "generate", "--config",
                             "configs/rtl/econt_default.yaml").stdout)["design"] == "mine"
    assert not (site / "build").exists() and not (site / "econt" / "build").exists()


def test_the_bad_input_count_is_recorded_as_not_run_without_a_checkout(site, tmp_path):
    out = _econt(site, tmp_path, "--workdir", "w", "run", "bad-inputs")
    assert "NOT RUN" in out.stdout and "source checkout" in out.stdout
    summary = json.loads((tmp_path / "w" / "reports" / "data" / "summary.json").read_text())
    assert summary["bad_input_cases_tested"] is None
    assert "only in a source checkout" in summary["bad_input_tests_not_run"]


@pytest.mark.slow
def test_asic_run_quick_from_the_wheel(site, tmp_path, shared, full):
    """``econt asic run --quick``; the reduced variant (CI) synthesises one design on one PDK
    (nangate45, tmr=none: ~2 min 45 s on the development machine), ECONT_FULL=1 runs the command's
    defaults (tmr config and none on every default PDK)."""
    options = [] if full else ["--pdk", "nangate45", "--tmr", "none"]
    _econt(site, tmp_path, "--workdir", "w", "asic", "run", "--quick", *options, timeout=3600,
           ECONT_SHARED=str(shared))
    summary = json.loads((tmp_path / "w" / "reports" / "asic" / "summary.json").read_text())
    entries = list(summary["entries"].values())
    assert {e["pdk"] for e in entries} >= {"nangate45"}
    for e in entries:
        assert e["cell_area_um2"] > 0 and e["power_mw"]["total_mw"] > 0, e
    assert (tmp_path / "w" / "build" / "asic").is_dir()
