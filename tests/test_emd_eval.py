"""EMD evaluation helpers, the benchmark's JSON and the `econt emd exact` command."""
from __future__ import annotations

import json

import numpy as np

from econt.cli.main import main
from econt.emd.evaluate import EMD_EDGES, binned_stats, merge_json, rel_error_stats
from econt.emd.exact import emd_batch


def test_rel_error_excludes_undefined_pairs():
    true = np.array([1.0, 2.0, np.nan, 0.0, 4.0])
    pred = np.array([1.1, 1.8, 3.0, 0.5, 4.0])
    s = rel_error_stats(true, pred)
    assert s["n"] == 3 and s["n_excluded"] == 2
    np.testing.assert_allclose(s["mean"], 0.0, atol=1e-12)
    np.testing.assert_allclose(s["std"], np.std([0.1, -0.1, 0.0]))
    rows = binned_stats(true, pred, true, EMD_EDGES)
    assert sum(r["n"] for r in rows) == 3


def test_merge_json_keeps_other_keys(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"exact_pairs_per_s": 1.0, "other": 2}))
    merge_json(path, {"cnn_rel_err_std": 0.04})
    assert json.loads(path.read_text()) == {"exact_pairs_per_s": 1.0, "other": 2, "cnn_rel_err_std": 0.04}


def test_bench_writes_both_rates_measured_in_one_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path))
    from econt.emd.bench import run_bench

    out = run_bench(quick=True)
    saved = json.loads((tmp_path / "emd" / "summary.json").read_text())
    for key in ("exact_pairs_per_s", "pot_loop_pairs_per_s"):
        assert saved[key] == out[key] > 0
    assert out["exact_vs_pot_max_abs_diff"] < 1e-9


def test_cli_exact(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a = rng.random((5, 48)) * (rng.random((5, 48)) < 0.5)
    b = rng.random((5, 48))
    a[2] = 0.0
    np.savetxt(tmp_path / "a.csv", a, delimiter=",")
    np.save(tmp_path / "b.npy", b)
    assert main(["emd", "exact", str(tmp_path / "a.csv"), str(tmp_path / "b.npy"), "--workers", "1",
                 "--out", str(tmp_path / "d.npy")]) == 0
    d = np.load(tmp_path / "d.npy")
    np.testing.assert_allclose(d, emd_batch(a, b, workers=1), equal_nan=True)
    assert np.isnan(d[2])
    assert main(["emd", "exact", str(tmp_path / "missing.csv"), str(tmp_path / "b.npy")]) == 2
    assert "not found" in capsys.readouterr().err


def test_deployed_baseline_diagnosis_on_the_real_vectors(shared):
    """The deployed autoencoder on the real vectors (kit cell order) beside the no-information
    references; the finding is built from the measured figures."""
    from econt.emd.evaluate import deployed_baseline_diagnosis

    d = deployed_baseline_diagnosis()
    assert d["crossings"] == 3564
    for key in ("emd_deployed", "emd_flat_map", "emd_input_mean_map", "emd_decoder_mean_map"):
        assert 0.0 < d[key] < 10.0
    assert 0.0 <= d["decoded_energy_fraction_unused_pixels"] <= 1.0
    assert f"flat map {d['emd_flat_map']:.2f}" in d["finding"] and f"deployed {d['emd_deployed']:.2f}" in d["finding"]
    # the cell order is right: each cell's decoded fraction follows its own input, not the others
    assert d["cell_correlation_diagonal_mean"] > 5 * abs(d["cell_correlation_offdiagonal_mean"])
    # the layout check that does not assume the arrangement: most cells' best decoded pixel is their own
    assert d["cells_best_matched_at_their_pixel"] >= 24 and "arrangement confirmed" in d["finding"]
    # the real vectors are dense and the decoder switches most cells off: the finding names the data distribution
    assert d["input_cells_nonzero_median"] >= 32 and d["decoded_cell_fraction_off"] > 0.3
    assert "data distribution" in d["finding"]
    assert d["concentrated"]["crossings"] > 0 and d["concentrated"]["emd_deployed"] > 0.0
