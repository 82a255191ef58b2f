"""Training-study CSV reader: format, metadata, regions and every bad-input case."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from econt.data._csvtools import SkipReport
from econt.data.csv_reader import CALQ_COLUMNS, read_calq_csv, write_calq_csv
from econt.data.synthetic import generate
from econt.errors import DataError

META = ["entry", "zside", "layer", "waferu", "waferv", "simenergy", "subdet", "tc_eta", "tc_phi"]
HEADER = ",".join(CALQ_COLUMNS + META)


def _row(q=1, eta=2.2, extra=None):
    cells = [str(q)] * 48 + ["7", "1", "9", "3", "-2", "12.5", "1", str(eta), "0.3"]
    if extra:
        for i, v in extra.items():
            cells[i] = v
    return ",".join(cells)


def _write(tmp_path, lines):
    p = tmp_path / "calq.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_reads_training_format(tmp_path):
    p = _write(tmp_path, [HEADER, _row(1, 1.7), _row(3, -2.8), _row(0, 2.2)])
    ds = read_calq_csv(p)
    assert len(ds) == 3 and ds.charges[1, 5] == 3.0
    assert ds.meta["layer"].tolist() == [9, 9, 9] and ds.meta["layer"].dtype == np.int64
    assert ds.meta["waferv"][0] == -2 and ds.meta["simenergy"][0] == 12.5
    assert ds.meta["region"].tolist() == ["eta1p5_2p0", "eta2p5_3p0", "eta2p0_2p5"]
    assert np.allclose(ds.meta["eta"], [1.7, -2.8, 2.2])


def test_round_trip_with_writer(tmp_path):
    ds = generate(200, seed=4)
    back = read_calq_csv(write_calq_csv(ds, tmp_path / "s.csv"))
    assert np.array_equal(back.charges, ds.charges)
    assert np.array_equal(back.meta["region"], ds.meta["region"])
    assert np.array_equal(back.meta["layer"], ds.meta["layer"])


def test_minimal_csv_without_metadata(tmp_path):
    p = _write(tmp_path, [",".join(CALQ_COLUMNS), ",".join(["2"] * 48)])
    ds = read_calq_csv(p)
    assert ds.meta["region"].tolist() == ["all"]
    with pytest.raises(DataError, match="tc_eta"):
        read_calq_csv(p, region_by="eta")


@pytest.mark.parametrize("lines, needle", [
    ([], "empty"),
    ([HEADER], "no data rows"),
    ([",".join(CALQ_COLUMNS[:47] + META), _row()], "lacks column(s) CALQ_47"),
    ([HEADER, _row(), ",".join(_row().split(",")[:50])], "line 3: 50 columns, the header has 57"),
    ([HEADER, _row(extra={4: "abc"})], "line 2, column 5 (CALQ_4): 'abc' is not a number"),
    ([HEADER, _row(extra={0: "nan"})], "line 2, column 1 (CALQ_0): nan is not a finite charge"),
    ([HEADER, _row(extra={47: "inf"})], "column 48 (CALQ_47): inf is not a finite charge"),
    ([HEADER, _row(extra={3: "-1"})], "line 2, column 4 (CALQ_3): negative charge"),
    ([HEADER, _row(extra={55: "inf"})], "column 56 (tc_eta)"),
    ([HEADER, _row(extra={50: "2.5"})], "column 51 (layer): must be an integer"),
    ([HEADER + ",CALQ_0", _row() + ",1"], "repeats column"),
])
def test_bad_inputs(tmp_path, lines, needle):
    p = _write(tmp_path, lines) if lines else (tmp_path / "calq.csv")
    if not lines:
        p.write_text("")
    with pytest.raises(DataError) as err:
        read_calq_csv(p)
    assert str(p) in str(err.value) and needle in str(err.value)


def test_skip_bad_rows_reports_reasons(tmp_path):
    p = _write(tmp_path, [HEADER, _row(), _row(extra={1: "x"}), _row(extra={2: "-4"}), "1,2,3", _row()])
    with pytest.raises(DataError, match="skip-bad-rows"):
        read_calq_csv(p)
    rep = SkipReport()
    ds = read_calq_csv(p, skip_bad_rows=True, report=rep)  # no Python warning: the CLI prints rep.text() once
    assert "skipped 3 of 5 rows" in rep.text()
    assert len(ds) == 2
    assert dict(rep.skipped) == {"non-numeric cells": 1, "negative charges": 1, "wrong column count": 1}
    p2 = _write(tmp_path, [HEADER, "1,2"])
    with pytest.raises(DataError, match="no valid rows"):
        read_calq_csv(p2, skip_bad_rows=True)


def test_repo_example_file():
    ds = read_calq_csv(Path(__file__).resolve().parent.parent / "data" / "examples" / "calq_example.csv")
    assert len(ds) == 6 and set(ds.regions) <= {"eta1p5_2p0", "eta2p0_2p5", "eta2p5_3p0"}
    assert np.all(ds.charges >= 0) and ds.charges.sum() > 0
