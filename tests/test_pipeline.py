"""The main-job orchestrator: content-hash skipping, forced reruns, timings, failing stages."""
from __future__ import annotations

import json

import pytest

from econt.errors import StageError
from econt.pipeline import run_pipeline


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("ECONT_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path / "reports"))
    return tmp_path


def test_second_run_skips_unchanged_stage_and_force_reruns(isolated):
    first = run_pipeline(["report"])
    assert first["stages"]["report"]["skipped"] is False
    assert (isolated / "reports" / "index.html").is_file()
    assert (isolated / "build" / "logs" / "report.log").is_file()
    second = run_pipeline(["report"])
    assert second["stages"]["report"]["skipped"] is True
    forced = run_pipeline(["report"], force=True)
    assert forced["stages"]["report"]["skipped"] is False
    timings = json.loads((isolated / "reports" / "timings.json").read_text())
    assert set(timings["stages"]) == {"report"} and timings["total_seconds"] >= 0


def test_missing_output_triggers_rerun(isolated):
    run_pipeline(["report"])
    (isolated / "reports" / "index.html").unlink()
    assert run_pipeline(["report"])["stages"]["report"]["skipped"] is False


def test_failing_stage_names_stage_log_and_fix(isolated):
    # a corrupt captions file makes the dashboard stage fail in its own process
    train = isolated / "reports" / "train"
    train.mkdir(parents=True)
    (train / "curve.png").write_bytes(b"png")
    (train / "captions.json").write_text("{not json")
    with pytest.raises(StageError) as err:
        run_pipeline(["report"])
    msg = str(err.value)
    assert "stage 'report' failed" in msg and "report.log" in msg and "likely fix" in msg
    assert json.loads((isolated / "reports" / "timings.json").read_text())["failed_stage"] == "report"


def test_unknown_target_is_a_clear_error(isolated):
    with pytest.raises(StageError, match="unknown stage or target 'bogus'"):
        run_pipeline(["bogus"])


def test_setup_time_from_make_all_counts_in_total(isolated, monkeypatch):
    monkeypatch.setenv("ECONT_SETUP_SECONDS", "12")
    doc = run_pipeline(["report"])
    assert doc["setup_s"] == 12.0
    assert doc["total_s"] == pytest.approx(12.0 + doc["total_seconds"], abs=0.11)
    monkeypatch.setenv("ECONT_SETUP_SECONDS", "soon")
    with pytest.raises(StageError, match="ECONT_SETUP_SECONDS"):
        run_pipeline(["report"])
