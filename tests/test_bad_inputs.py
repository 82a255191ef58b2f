"""Every bad input of issue 13 §3 through the real CLI (``econt.cli.main.main``): a one-line error
naming file, line/field and fix (exit 2, no traceback), or explicit, documented handling.

``BAD_INPUT_CASES`` is the catalogue of error cases; the other tests of this module check the cases
with explicit handling. ``reports/data/summary.json`` ``bad_input_cases_tested`` counts the tests
collected from this module (see ``count_bad_input_tests``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from econt.cli.main import main

CALQ_HEADER = ",".join(f"CALQ_{i}" for i in range(48))
SHARED_VECTORS = "econt-vectors"


def _calq_csv(tmp: Path, cell0: str = "5", header: str = CALQ_HEADER, name: str = "in.csv",
              sep: str = ",", prefix: str = "") -> Path:
    p = tmp / name
    row = sep.join([cell0] + ["1"] * 47)
    p.write_text(prefix + header.replace(",", sep) + "\n" + row + "\n" + sep.join(["2"] * 48) + "\n",
                 encoding="utf-8")
    return p


def _npz(tmp: Path, value: float) -> Path:
    charges = np.ones((3, 48))
    charges[1, 7] = value
    p = tmp / "bad.npz"
    np.savez_compressed(p, schema_version=np.int64(1), source=np.str_("test"), charges=charges)
    return p


def _eportrx_head(tmp: Path, shared: Path, n: int = 3, header: bool = True) -> Path:
    lines = (shared / SHARED_VECTORS / "testInput.csv").read_text().splitlines()
    p = tmp / "rx.csv"
    p.write_text("\n".join(lines[: n + 1] if header else lines[1: n + 1]) + "\n")
    return p


def _yaml(tmp: Path, doc, name: str = "x.yaml") -> Path:
    p = tmp / name
    p.write_text("" if doc is None else yaml.safe_dump(doc))
    return p


def _deployed_image(shared: Path) -> dict:
    return yaml.safe_load((shared / SHARED_VECTORS / "AE" / "init.yaml").read_text())


def _weights_json(tmp: Path, shared: Path) -> Path:
    from econt.export import from_i2c_image, save_weights_json

    w = from_i2c_image(shared / SHARED_VECTORS / "AE" / "init.yaml", dense_order="keras")
    return save_weights_json(w, tmp / "weights.json")


def _a_file(tmp: Path) -> Path:
    f = tmp / "afile"
    f.write_text("not a folder")
    return f


# (id, argv builder (tmp, shared) → argv list, text the error must contain)
BAD_INPUT_CASES = [
    # charges beyond the chip's 22-bit CALQ range, or negative
    ("csv-charge-1e30", lambda t, s: ["data", "inspect", str(_calq_csv(t, "1e30"))], "22-bit CALQ range"),
    ("csv-charge-2^63", lambda t, s: ["data", "inspect", str(_calq_csv(t, str(2 ** 63)))], "22-bit CALQ range"),
    ("csv-charge-4194304", lambda t, s: ["data", "inspect", str(_calq_csv(t, str(1 << 22)))], "line 2, column 1"),
    ("csv-charge-negative", lambda t, s: ["data", "inspect", str(_calq_csv(t, "-3"))], "negative charge"),
    ("convert-charge-1e300", lambda t, s: ["data", "convert", str(_calq_csv(t, "1e300")), "--out", str(t / "o.npz")],
     "22-bit CALQ range"),
    ("npz-charge-huge", lambda t, s: ["data", "inspect", str(_npz(t, 1e30))], "outside the ECON-T's CALQ range"),
    ("npz-charge-negative", lambda t, s: ["data", "inspect", str(_npz(t, -1.0))], "field 'charges' row 1"),
    ("npz-is-a-csv", lambda t, s: ["data", "inspect", str(_calq_csv(t, name="data.npz"))], "econt data convert"),
    # init.yaml given as --init-yaml that has no input-block registers
    ("init-yaml-empty", lambda t, s: ["data", "inspect", str(_eportrx_head(t, s)), "--init-yaml", str(_yaml(t, None))],
     "no ECON-T input-block registers"),
    ("init-yaml-unrelated", lambda t, s: ["data", "inspect", str(_eportrx_head(t, s)), "--init-yaml",
                                          str(_yaml(t, {"model": {"layers": 3}}))], "found model"),
    ("init-yaml-encoder-only", lambda t, s: ["data", "convert", str(_eportrx_head(t, s)), "--out", str(t / "o.npz"),
                                             "--init-yaml", str(_yaml(t, {"Encoder": _deployed_image(s)["Encoder"]}))],
     "Encoder-only export"),
    # export import
    ("export-import-no-encoder", lambda t, s: ["export", "import", str(_yaml(t, {"Mux": {0: 1}, "foo": 2}))],
     "no 'Encoder' section"),
    ("export-import-weights-byte-text", lambda t, s: ["export", "import", str(_yaml(t, {"Encoder": {
        **_deployed_image(s)["Encoder"], 0: {**_deployed_image(s)["Encoder"][0], "weights_byte0": "abc"}}}))],
     "weights_byte0 = 'abc' is not a number"),
    ("weights-json-scale", lambda t, s: ["export", "import", str(_edit_scale(_weights_json(t, s)))],
     "layers.conv_w.scale"),
    # output paths inside an existing file
    ("generate-out-inside-file", lambda t, s: ["data", "generate", "--n", "5", "--out", str(_a_file(t) / "x.npz")],
     "existing file, not a folder"),
    ("convert-out-inside-file", lambda t, s: ["data", "convert", str(_calq_csv(t)), "--out", str(_a_file(t) / "x.npz")],
     "existing file, not a folder"),
    ("inspect-png-inside-file", lambda t, s: ["data", "inspect", str(_calq_csv(t)), "--png", str(_a_file(t) / "x.png")],
     "existing file, not a folder"),
    ("rtl-out-inside-file", lambda t, s: ["rtl", "generate", "--out", str(_a_file(t) / "d")],
     "existing file, not a folder"),
    ("workdir-is-a-file", lambda t, s: ["--workdir", str(_a_file(t)), "data", "inspect", str(_calq_csv(t))],
     "is an existing file"),
    # paths and counts
    ("generate-n-0", lambda t, s: ["data", "generate", "--n", "0", "--out", str(t / "z.npz")], "at least 1 sample"),
    ("export-all-missing-train-dir", lambda t, s: ["export", "all", "--train-dir", str(t / "nope")],
     "folder not found"),
    # silently ignored fields
    ("rtl-negative-clock", lambda t, s: ["rtl", "generate", "--config", str(_yaml(t, {"name": "neg", "clock_mhz": -40},
                                                                                   "neg.yaml")), "--out", str(t / "d")],
     "field 'clock_mhz' is -40"),
    # CSV dialects
    ("csv-semicolon", lambda t, s: ["data", "inspect", str(_calq_csv(t, sep=";"))], "separated by ';'"),
    ("csv-lower-case-header", lambda t, s: ["data", "inspect", str(_calq_csv(t, header=CALQ_HEADER.lower()))],
     "case-sensitive"),
    # a command that needs an earlier stage's output names the command that makes it (before TensorFlow)
    ("train-before-data-stage", lambda t, s: ["train", "--quick"], "`econt run data`"),
    ("train-before-emd-stage", lambda t, s: ["train", "--quick", "--data", str(_write_npz_ok(t))], "`econt run emd`"),
    ("train-set-data-path-csv", lambda t, s: ["train", "--quick", "--set", "data.source=file", "--set",
                                              f"data.path={_calq_csv(t, name='d.npz')}"], "econt data convert"),
    ("train-data-csv-named-npz", lambda t, s: ["train", "--quick", "--data", str(_calq_csv(t, name="d.npz"))],
     "econt data convert"),
]


def _write_npz_ok(tmp: Path) -> Path:
    from econt.data.dataset import Dataset

    return Dataset(np.ones((4, 48))).save(tmp / "ok.npz")


def _edit_scale(path: Path) -> Path:
    doc = json.loads(path.read_text())
    doc["layers"]["conv_w"]["scale"] = 1.0
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input_is_a_one_line_error(case, tmp_path, shared, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("ECONT_BUILD", "ECONT_REPORTS", "ECONT_WORKDIR"):
        monkeypatch.delenv(var, raising=False)
    _, argv, needle = case
    rc = main(argv(tmp_path, shared))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert needle in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_eportrx_without_header_keeps_its_first_crossing(tmp_path, shared):
    from econt.data.eportrx import read_eportrx_csv

    with_header = read_eportrx_csv(_eportrx_head(tmp_path, shared, 5, header=True))
    without = read_eportrx_csv(_eportrx_head(tmp_path, shared, 5, header=False))
    assert len(with_header) == len(without) == 5
    np.testing.assert_array_equal(with_header.charges, without.charges)
    assert without.meta["bx"].tolist() == [0, 1, 2, 3, 4]


def test_decoding_without_init_yaml_says_defaults(tmp_path, shared, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "convert", str(_eportrx_head(tmp_path, shared)), "--out", str(tmp_path / "o.npz")]) == 0
    assert "low-density module" in capsys.readouterr().out


@pytest.mark.parametrize("variant", ["bom", "quoted"])
def test_csv_bom_and_quoted_header_are_accepted(variant, tmp_path):
    from econt.data.csv_reader import read_calq_csv

    if variant == "bom":
        p = _calq_csv(tmp_path, prefix="\ufeff")
    else:
        p = _calq_csv(tmp_path, header=",".join(f'"CALQ_{i}"' for i in range(48)))
    ds = read_calq_csv(p)
    assert ds.charges.shape == (2, 48) and ds.charges[0, 0] == 5


def test_train_data_csv_is_converted(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("ECONT_BUILD", "ECONT_WORKDIR"):
        monkeypatch.delenv(var, raising=False)
    # converted before the prerequisite check (which then names the missing EMD-CNN)
    assert main(["train", "--quick", "--data", str(_calq_csv(tmp_path))]) == 2
    assert "converted" in capsys.readouterr().out
    assert (tmp_path / "build" / "data" / "in.npz").is_file()


def test_skip_bad_rows_summary_printed_once(tmp_path, capsys, recwarn, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "mixed.csv"
    rows = [CALQ_HEADER, ",".join(["1"] * 48), ",".join(["x"] + ["1"] * 47), ",".join(["1e30"] + ["1"] * 47),
            ",".join(["-1"] + ["1"] * 47), "1,2,3", "nan," + ",".join(["1"] * 47), ",".join(["2"] * 48)]
    p.write_text("\n".join(rows) + "\n")
    assert main(["data", "convert", str(p), "--out", str(tmp_path / "o.npz"), "--skip-bad-rows"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert text.count("skipped 5 of 7 rows") == 1, text
    assert not [w for w in recwarn if "skipped" in str(w.message)]
    from econt.data.dataset import Dataset

    assert len(Dataset.load(tmp_path / "o.npz")) == 2


def test_exported_init_yaml_is_accepted_by_every_reader_with_one_hash(tmp_path, shared, capsys, monkeypatch):
    """The exported init.yaml is a complete register image: export import, conformance import and the
    ePortRX decoding (--init-yaml) all accept it and show one config hash."""
    from econt.export import from_i2c_image, write_init_yaml

    monkeypatch.chdir(tmp_path)
    w = from_i2c_image(shared / SHARED_VECTORS / "AE" / "init.yaml")
    image = write_init_yaml(w, tmp_path / "export" / "init.yaml")
    assert main(["export", "import", str(image)]) == 0
    out_export = capsys.readouterr().out
    assert main(["conformance", "import", str(image)]) == 0
    out_conf = capsys.readouterr().out
    assert f"config hash {w.config_hash}" in out_export and f"config hash        : {w.config_hash}" in out_conf
    assert main(["data", "convert", str(_eportrx_head(tmp_path, shared)), "--init-yaml", str(image),
                 "--out", str(tmp_path / "o.npz")]) == 0
    back = from_i2c_image(image)
    for name in w.LAYERS:
        np.testing.assert_array_equal(getattr(back, name), getattr(w, name))


def test_skip_bad_rows_also_skips_non_integer_metadata(tmp_path, capsys, monkeypatch):
    """README: --skip-bad-rows skips bad rows; a non-integer 'layer' used to abort after the row loop."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "meta.csv"
    p.write_text(CALQ_HEADER + ",layer\n" + ",".join(["1"] * 48) + ",3\n" + ",".join(["1"] * 48) + ",2.5\n")
    assert main(["data", "inspect", str(p)]) == 2
    assert "line 3, column 49 (layer): must be an integer" in capsys.readouterr().err
    assert main(["data", "convert", str(p), "--out", str(tmp_path / "o.npz"), "--skip-bad-rows"]) == 0
    assert "skipped 1 of 2 rows (1 non-integer metadata)" in capsys.readouterr().out
