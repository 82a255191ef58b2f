"""Dataset container, .npz round trip, regions and stratified splits."""
from __future__ import annotations

import numpy as np
import pytest

from econt.data import Dataset, regions_from_eta, regions_from_thickness, split_dataset
from econt.data.splits import split_indices
from econt.errors import DataError


def _ds(n=50, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 100, (n, 48)).astype(float)
    eta = rng.uniform(1.5, 3.0, n)
    return Dataset(q, {"eta": eta, "layer": rng.integers(1, 29, n), "region": regions_from_eta(eta),
                       "entry": np.arange(n)}, "unit-test")


def test_defaults_filled_and_shapes():
    ds = Dataset(np.zeros((3, 48)), {}, "x")
    assert set(ds.meta) >= {"layer", "eta", "waferu", "waferv", "thickness_um", "region", "simenergy"}
    assert ds.meta["region"].tolist() == ["all"] * 3 and np.isnan(ds.meta["simenergy"]).all()
    with pytest.raises(DataError, match=r"\(N, 48\)"):
        Dataset(np.zeros((3, 47)))
    with pytest.raises(DataError, match="metadata 'layer'"):
        Dataset(np.zeros((3, 48)), {"layer": np.arange(4)})


def test_save_load_round_trip(tmp_path):
    ds = _ds()
    path = ds.save(tmp_path / "d.npz")
    back = Dataset.load(path)
    assert back.source == ds.source and len(back) == len(ds)
    assert np.array_equal(back.charges, ds.charges)
    assert set(back.meta) == set(ds.meta)
    for k in ds.meta:
        assert back.meta[k].dtype == ds.meta[k].dtype, k
        assert np.array_equal(back.meta[k], ds.meta[k], equal_nan=ds.meta[k].dtype.kind == "f"), k
    with np.load(path, allow_pickle=False) as z:  # the documented schema, readable without econt
        assert int(z["schema_version"]) == 1 and z["charges"].shape == (50, 48) and "meta__region" in z.files


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        Dataset.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="not an econt dataset"):
        Dataset.load(tmp_path / "other.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="broken.npz"):
        Dataset.load(tmp_path / "broken.npz")
    with pytest.raises(DataError, match=".npz"):
        _ds().save(tmp_path / "d.csv")


def test_subset_concat():
    ds = _ds()
    a = ds.subset(np.arange(10))
    b = ds.subset(ds.meta["entry"] >= 10)
    c = Dataset.concat([a, b])
    assert np.array_equal(c.charges, ds.charges) and np.array_equal(c.meta["entry"], ds.meta["entry"])
    extra = Dataset(np.ones((2, 48)), {"bx": np.array([5, 6])}, "other")
    d = Dataset.concat([a, extra])
    assert len(d) == 12 and d.meta["bx"].tolist()[-2:] == [5, 6] and d.meta["entry"][-1] == 0
    with pytest.raises(DataError):
        ds.subset([100])
    with pytest.raises(DataError):
        Dataset.concat([])


def test_regions():
    r = regions_from_eta(np.array([1.5, 1.99, 2.0, 2.7, 3.0, 3.2, 1.4, -2.2, np.nan]))
    assert r.tolist() == ["eta1p5_2p0", "eta1p5_2p0", "eta2p0_2p5", "eta2p5_3p0", "eta2p5_3p0", "eta2p5_3p0",
                          "eta1p5_2p0", "eta2p0_2p5", "unknown"]
    assert regions_from_thickness(np.array([120, 200, 300, 0])).tolist() == ["si120um", "si200um", "si300um", "unknown"]


def test_splits_stratified_and_deterministic():
    ds = _ds(n=3000)
    tr, va, te = split_dataset(ds, seed=7)
    assert len(tr) + len(va) + len(te) == len(ds)
    ids = np.concatenate([p.meta["entry"] for p in (tr, va, te)])
    assert np.array_equal(np.sort(ids), np.arange(len(ds)))          # disjoint and complete
    for r in ds.regions:
        n_r = int((ds.meta["region"] == r).sum())
        assert abs(int((tr.meta["region"] == r).sum()) - 0.7 * n_r) <= 1
        assert abs(int((va.meta["region"] == r).sum()) - 0.15 * n_r) <= 1
    tr2, va2, te2 = split_dataset(ds, seed=7)
    assert np.array_equal(tr.meta["entry"], tr2.meta["entry"]) and np.array_equal(te.meta["entry"], te2.meta["entry"])
    tr3, _, _ = split_dataset(ds, seed=8)
    assert not np.array_equal(tr.meta["entry"], tr3.meta["entry"])
    # a region's split does not depend on the other regions present
    only = ds.subset(ds.meta["region"] == "eta2p0_2p5")
    a = split_indices(only.meta["region"], 7)[0]
    assert np.array_equal(only.meta["entry"][a], tr.meta["entry"][tr.meta["region"] == "eta2p0_2p5"])
    with pytest.raises(DataError, match="fractions"):
        split_dataset(ds, 0, (0.5, 0.5, 0.5))
