"""The make-all data stage and the `econt data` CLI, on small inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from econt.cli.main import main
from econt.data import Dataset
from econt.data.stage import run_stage
from econt.paths import shared_path


def test_run_stage_small(tmp_path, monkeypatch):
    have_real = shared_path("econt-vectors", "testInput.csv") is not None
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path / "reports"))
    summary = run_stage(tmp_path / "data", seed=2, n_samples=3000, progress=False)
    assert summary["n_train"] + summary["n_val"] + summary["n_test"] == 3000
    assert summary["real_samples_loaded"] == (3564 if have_real else 0)
    for name in ("synthetic", "train", "val", "test") + (("real_testinput",) if have_real else ()):
        assert (tmp_path / "data" / f"{name}.npz").is_file()
    assert (tmp_path / "data" / "resolved_config.yaml").is_file()
    if have_real:   # written in the kit's cell order, and says so
        from econt.data.vectors import dataset_order, shared_econt_vectors

        real = Dataset.load(tmp_path / "data" / "real_testinput.npz")
        assert dataset_order(real) == "cells" and "cell order: cells" in real.source
        np.testing.assert_array_equal(real.charges, shared_econt_vectors().charges)
    saved = json.loads((tmp_path / "reports" / "data" / "summary.json").read_text())
    assert saved["n_train"] == summary["n_train"] and saved["real_samples_loaded"] == summary["real_samples_loaded"]
    # the bad-input count is the bad-inputs stage's, merged into the same summary
    from econt.data.bad_inputs import count_bad_input_tests, run_stage as count_stage

    assert "bad_input_cases_tested" not in saved
    assert count_stage()["bad_input_cases_tested"] == count_bad_input_tests() > 20  # collected from tests/test_bad_inputs.py
    counted = json.loads((tmp_path / "reports" / "data" / "summary.json").read_text())
    assert counted["bad_input_cases_tested"] == count_bad_input_tests() and counted["n_train"] == summary["n_train"]
    assert (tmp_path / "reports" / "data" / "inspect.png").stat().st_size > 10_000
    train = Dataset.load(tmp_path / "data" / "train.npz")
    assert len(train) == summary["n_train"] and set(train.regions) == {"eta1p5_2p0", "eta2p0_2p5", "eta2p5_3p0"}
    # merge, not clobber
    (tmp_path / "reports" / "data" / "summary.json").write_text(json.dumps({"generator_samples_per_s": 1.0}))
    run_stage(tmp_path / "data", seed=2, n_samples=500, progress=False)
    saved = json.loads((tmp_path / "reports" / "data" / "summary.json").read_text())
    assert saved["generator_samples_per_s"] == 1.0 and saved["n_train"] == 350


def test_cli_generate_inspect(tmp_path, capsys):
    out = tmp_path / "g.npz"
    assert main(["data", "generate", "--n", "800", "--seed", "5", "--out", str(out)]) == 0
    assert (tmp_path / "g.resolved_config.yaml").is_file()
    ds = Dataset.load(out)
    assert len(ds) == 800
    png = tmp_path / "g.png"
    assert main(["data", "inspect", str(out), "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "800 rows" in text and "eta2p5_3p0" in text and png.is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(f"CALQ_{i}" for i in range(48)) + "\n" + ",".join(["1"] * 47 + ["x"]) + "\n")
    assert main(["data", "inspect", str(bad)]) == 2
    assert "column 48" in capsys.readouterr().err
    assert main(["data", "inspect", str(bad), "--skip-bad-rows"]) == 2   # nothing valid left: still an error
    assert "skipped 1 of 1" in capsys.readouterr().err


def test_cli_convert_real_vectors(tmp_path, shared):
    conv = tmp_path / "real.npz"
    assert main(["data", "convert", str(shared / "econt-vectors" / "testInput.csv"), "--init-yaml",
                 str(shared / "econt-vectors" / "AE" / "init.yaml"), "--out", str(conv)]) == 0
    real = Dataset.load(conv)
    assert len(real) == 3564 and np.all(real.charges > 0)
    from econt.data.vectors import dataset_order, shared_econt_vectors
    assert dataset_order(real) == "cells"                          # converted in the kit's cell order
    np.testing.assert_array_equal(real.charges, shared_econt_vectors().charges)
