"""Stage fingerprints from what each stage imports: an edit reruns the stages that import the
file and no other (real pipeline code on a temporary copy of the sources)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from econt import pipeline
from econt.errors import StageError
from econt.paths import kit_data, source_checkout


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the hashed sources (econt/ with its configs) and a build folder holding an rtl
    design index."""
    root = tmp_path / "src"
    shutil.copytree(kit_data(), root / "econt", ignore=shutil.ignore_patterns("__pycache__"))
    build = tmp_path / "build"
    (build / "rtl").mkdir(parents=True)
    (build / "rtl" / "index.json").write_text('{"schema_version": 1, "designs": []}\n')
    monkeypatch.setenv("ECONT_BUILD", str(build))
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path / "reports"))
    return root


def _all_fingerprints(root: Path) -> dict[str, str]:
    """Fingerprints in pipeline order, each stage seeing its upstream stages' new fingerprints."""
    fps: dict[str, str] = {}
    for name, stage in pipeline.STAGES.items():
        fps[name] = pipeline.fingerprint(stage, fps, "shared", root=root)
    return fps


def _changed_after(root: Path, rel: str) -> set[str]:
    before = _all_fingerprints(root)
    f = root / rel
    f.write_text(f.read_text() + "\n# edited\n")
    after = _all_fingerprints(root)
    return {n for n in before if before[n] != after[n]}


def test_training_edit_reruns_training_and_its_consumers_not_asic(src: Path) -> None:
    # rtl verifies with the trained exports (uses export); asic and conformance consume build/rtl
    assert _changed_after(src, "econt/train/fit.py") == {"train", "export", "rtl", "report"}


def test_model_edit_reruns_the_emd_stage_that_imports_it(src: Path) -> None:
    changed = _changed_after(src, "econt/model/qkeras_model.py")
    assert "emd" in changed and "train" in changed


def test_asic_edits_rerun_only_asic(src: Path) -> None:
    assert _changed_after(src, "econt/asic/flow.py") == {"asic", "report"}
    assert _changed_after(src, "econt/asic/tools/opensta/econt_sta.tcl") == {"asic", "report"}


def test_report_edit_reruns_only_report(src: Path) -> None:
    assert _changed_after(src, "econt/report/dashboard.py") == {"report"}


def test_bad_input_test_edit_reruns_only_their_count(src: Path) -> None:
    (src / "tests").mkdir()
    shutil.copy(source_checkout() / "tests" / "test_bad_inputs.py", src / "tests" / "test_bad_inputs.py")
    assert _changed_after(src, "tests/test_bad_inputs.py") == {"bad-inputs", "report"}
    # a data-stage edit reruns the count too: that stage rewrites the summary the count lives in
    assert "bad-inputs" in _changed_after(src, "econt/data/stage.py")


def test_new_rtl_designs_rerun_their_consumers(src: Path) -> None:
    before = _all_fingerprints(src)
    index = Path(pipeline._output_path("build/rtl/index.json"))
    index.write_text('{"schema_version": 1, "designs": [{"name": "x"}]}\n')
    after = _all_fingerprints(src)
    assert {n for n in before if before[n] != after[n]} == {"conformance", "asic", "report"}


def test_module_sources_follow_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "econt"
    for rel, text in {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/b.py": "from . import c\nfrom .d import thing\n\ndef f():\n    from econt.e import g\n    return g\n",
        "a/c.py": "",
        "a/d.py": "thing = 1\n",
        "e/__init__.py": "",
        "e/g.py": "RUN = 'econt.h.cocotb_module'\n",
        "h/__init__.py": "",
        "h/cocotb_module.py": "",
        "unrelated.py": "",
    }.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    got = {str(p.relative_to(tmp_path)) for p in pipeline.module_sources("econt.a.b", tmp_path)}
    assert got == {"econt/__init__.py", "econt/a/__init__.py", "econt/a/b.py", "econt/a/c.py", "econt/a/d.py",
                   "econt/e/__init__.py", "econt/e/g.py", "econt/h/__init__.py", "econt/h/cocotb_module.py"}
    with pytest.raises(StageError, match="not found"):
        pipeline.module_sources("econt.nope", tmp_path)


def test_real_stage_source_sets() -> None:
    names = {n: {str(p.relative_to(pipeline.source_root())) for p in pipeline.module_sources(s.module)}
             for n, s in pipeline.STAGES.items()}
    assert "econt/model/qkeras_model.py" in names["emd"]            # was missing from the hand-written list
    assert not any(f.startswith("econt/train/") for f in names["asic"])
    assert "econt/verify/cocotb_econt.py" in names["rtl"]           # named as a string for the simulator
    assert "econt/data/vectors.py" in names["conformance"]


def test_pipeline_skips_on_an_unrelated_edit_and_reruns_on_an_imported_one(src: Path, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "source_root", lambda: src)
    assert pipeline.run_pipeline(["report"])["stages"]["report"]["skipped"] is False
    (src / "econt/train/fit.py").write_text((src / "econt/train/fit.py").read_text() + "\n# edited\n")
    assert pipeline.run_pipeline(["report"])["stages"]["report"]["skipped"] is True
    (src / "econt/report/dashboard.py").write_text((src / "econt/report/dashboard.py").read_text() + "\n# edited\n")
    assert pipeline.run_pipeline(["report"])["stages"]["report"]["skipped"] is False
