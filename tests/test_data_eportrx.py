"""ePortRX decoding: hand-derived bits of the first crossings of testInput.csv, the emulator's
own module sums, init.yaml parsing and every bad-input case."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from econt.data._csvtools import SkipReport
from econt.data.eportrx import (DEFAULT_MUX, EcontInputConfig, apply_calibration, apply_mux, decode_words,
                                float_to_fixed, input_config_from_init_yaml, read_eportrx_csv, words_to_calq)
from econt.data.normalise import encode_module_sum
from econt.errors import ConfigError, DataError


# ---------------------------------------------------------------------------------------
# Independent reference written out in the test: bit strings, as the emulator's
# splitEportRXData / encode.decode describe them (no call into econt.data).
def _ref_codes(word: int, order: str = "msb_first") -> list[int]:
    bits = format(word, "032b")          # bits[0] is bit 31
    assert len(bits) == 32
    data = bits[4:]                      # drop the 4-bit header (bits 31..28)
    codes = [int(data[7 * j:7 * j + 7], 2) for j in range(4)]
    return codes if order == "msb_first" else codes[::-1]


def _ref_decode(code: int, dropped: int) -> int:
    exp, mant = code >> 3, code & 7
    if exp == 0:
        value = mant << dropped
    else:
        value = ((1 << 3) | mant) << (exp - 1) << dropped   # implicit leading one
    shift = max(exp - 1, 0) + dropped
    if shift > 0:
        value += 1 << (shift - 1)        # centre of the bin of truncated charges
    return value


def _rows(shared, name="testInput.csv", n=3):
    lines = (shared / "econt-vectors" / name).read_text().splitlines()[1:1 + n]
    return [[int(c, 16) for c in line.split(",")] for line in lines]


def test_first_word_by_hand(shared):
    row0 = _rows(shared, n=1)[0]
    # crossing 0, word 0 = 0x9145cb96 = 1001 | 0001010 | 0010111 | 0010111 | 0010110
    assert row0[0] == 0x9145CB96
    # word 1 = 0x92034302 = 1001 | 0010000 | 0001101 | 0000110 | 0000010
    assert row0[1] == 0x92034302
    codes = decode_words(np.array([row0]))
    assert codes[0, :8].tolist() == [10, 23, 23, 22, 16, 13, 6, 2]
    # HDM (3 dropped bits):
    #   10 = e1 m2: (8+2)<<0<<3 = 80, + 1<<(0+3-1) = 4  -> 84
    #   23 = e2 m7: (8+7)<<1<<3 = 240, + 1<<(1+3-1) = 8 -> 248
    #   22 = e2 m6: 14<<1<<3 = 224 + 8 -> 232
    #   16 = e2 m0: 8<<1<<3 = 128 + 8 -> 136
    #   13 = e1 m5: 13<<3 = 104 + 4 -> 108
    #    6 = e0 m6: 6<<3 = 48 + 4 -> 52
    #    2 = e0 m2: 2<<3 = 16 + 4 -> 20
    assert float_to_fixed(codes[:, :8], high_density=True)[0].tolist() == [84, 248, 248, 232, 136, 108, 52, 20]
    # LDM (1 dropped bit): 10 -> 10<<1 + 1 = 21; 23 -> 15<<1<<1 + 1<<1 = 62; 6 -> 6<<1 + 1 = 13
    ldm = float_to_fixed(codes[:, :8], high_density=False)[0]
    assert ldm[0] == 21 and ldm[1] == 62 and ldm[6] == 13


def test_first_three_crossings_all_cells(shared):
    rows = _rows(shared, n=3)
    words = np.array(rows, dtype=np.int64)
    cfg_path = shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml"
    cfg = input_config_from_init_yaml(cfg_path)
    assert cfg.high_density and cfg.calibration == (2048,) * 48
    # this init.yaml (Algorithm schema) comes from the emulator generation that splits LSB first
    assert cfg.cell_order_in_word == "lsb_first"
    mux = [int(line.split(":")[1]) for line in cfg_path.read_text().split("Mux:")[1].strip().splitlines()[:48]]
    assert list(cfg.mux) == mux
    calq = words_to_calq(words, cfg)
    for r, row in enumerate(rows):
        mux_in = [c for w in row for c in _ref_codes(w, "lsb_first")]
        mux_out = [mux_in[mux[i]] for i in range(48)]
        expected = [(_ref_decode(c, 3) * 2048) >> 11 for c in mux_out]
        assert calq[r].tolist() == expected, f"crossing {r}"
    # crossing 0, output 0 = Mux_in[5] (word 1, bits 13..7 LSB first) = code 6 -> 52;
    # output 3 = Mux_in[1] (word 0, bits 13..7) = code 23 -> 248
    assert calq[0, 0] == 52 and calq[0, 3] == 248
    # and through the file reader
    ds = read_eportrx_csv(shared / "econt-vectors" / "testInput.csv", cfg)
    assert len(ds) == 3564
    assert np.array_equal(ds.charges[:3], calq.astype(float))
    assert ds.meta["header"][:2].tolist() == [0x9, 0xA]


def test_in_word_order_per_schema(shared):
    """The two shared configurations (two emulator generations, opposite in-word orders, mux tables
    that differ by the in-word reversal) decode testInput.csv to the same CALQ."""
    a = input_config_from_init_yaml(shared / "econt-vectors" / "AE" / "init.yaml")
    b = input_config_from_init_yaml(shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml")
    assert (a.cell_order_in_word, b.cell_order_in_word) == ("msb_first", "lsb_first")
    assert tuple(4 * (m // 4) + 3 - m % 4 for m in b.mux) == a.mux
    words = np.array(_rows(shared, n=50), dtype=np.int64)
    assert np.array_equal(words_to_calq(words, a), words_to_calq(words, b))
    forced = input_config_from_init_yaml(shared / "econt-vectors" / "AE" / "init.yaml", cell_order_in_word="lsb_first")
    assert not np.array_equal(words_to_calq(words, forced), words_to_calq(words, a))
    # word 0 of crossing 0 = 0x9145CB96: LSB first the cells are bits 6..0, 13..7, 20..14, 27..21
    assert decode_words(words[:1], "lsb_first")[0, :4].tolist() == [22, 23, 23, 10]
    with pytest.raises(ConfigError, match="cell_order_in_word"):
        EcontInputConfig(cell_order_in_word="middle")  # type: ignore[arg-type]


def test_module_sums_match_emulator_output(shared):
    """The 9-bit module sum in the emulator's output words (TX_DATA_0 bits 26..18) equals our
    encode(sum of decoded CALQ) for every crossing, for both shared AE configurations."""
    for tag in ("AE_8x8_c8_S2_ele_qkeras", "AE"):
        cfg = input_config_from_init_yaml(shared / "econt-vectors" / tag / "init.yaml")
        ds = read_eportrx_csv(shared / "econt-vectors" / "testInput.csv", cfg)
        out = (shared / "econt-vectors" / tag / "testOutput.csv").read_text().splitlines()[1:]
        w0 = np.array([int(line.split(",")[0], 16) for line in out])
        assert len(w0) == len(ds)
        emulator_sum = (w0 >> 18) & 0x1FF
        ours = encode_module_sum(ds.charges.sum(axis=1).astype(np.int64))
        assert np.array_equal(ours, emulator_sum), tag


def test_decimal_file_and_default_mux(shared):
    ds = read_eportrx_csv(shared / "econt-vectors" / "ePortRX_example_10kBX.csv")
    assert len(ds) == 10000 and "decimal" in ds.source
    first = [int(c) for c in (shared / "econt-vectors" / "ePortRX_example_10kBX.csv").read_text().splitlines()[1].split(",")]
    mux_in = [c for w in first for c in _ref_codes(w)]
    expected = [_ref_decode(mux_in[DEFAULT_MUX[i]], 1) for i in range(48)]
    assert ds.charges[0].tolist() == expected
    # default mux = emulator getMuxRegisters(): pre-mux index sorted by post-mux index
    table = np.loadtxt(shared / "econt-vectors" / "LDM_TC_Mapping.csv", delimiter=",", skiprows=1, dtype=int)
    ref = np.zeros(48, dtype=int)
    ref[table[:, 3]] = table[:, 12]
    assert tuple(ref.tolist()) == DEFAULT_MUX


def test_mux_and_calibration_semantics():
    x = np.arange(48)[None, :] * 10
    mux = tuple(range(47, -1, -1))
    assert apply_mux(x, mux)[0, 0] == 470
    cal = np.full(48, 2048)
    cal[0] = 3072  # 1.5
    cal[1] = 1     # tiny: floor
    out = apply_calibration(np.array([[100, 100] + [0] * 46]), cal)
    assert out[0, 0] == 150 and out[0, 1] == 0


# ---------------------------------------------------------------------------------------
HEADER = ",".join(f"RX_DATA_{i}" for i in range(12))
GOOD = ",".join(["a145cb96"] * 12)


def _write(tmp_path, text, name="in.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("body, needle", [
    ("", "empty"),
    (HEADER + "\n", "no data rows"),
    (HEADER + "\n" + ",".join(["a145cb96"] * 11) + "\n", "11 words"),
    (HEADER + "\n" + GOOD + "\n" + ",".join(["a145cb96"] * 5) + "\n", "line 3: 5 words"),
    (HEADER + "\n" + GOOD.replace("a145cb96", "a145zb96", 1) + "\n", "column 1"),
    (HEADER + "\n" + GOOD.replace("a145cb96", "1a145cb96", 1) + "\n", "column 1"),
    (HEADER + "\n" + GOOD.replace("a145cb96", "f145cb96", 1) + "\n", "header bits"),
    (HEADER + "\n" + GOOD.replace("a145cb96", "9145cb96", 1) + "\n", "different headers"),
])
def test_bad_hex_inputs(tmp_path, body, needle):
    p = _write(tmp_path, body)
    with pytest.raises(DataError) as err:
        read_eportrx_csv(p)
    msg = str(err.value)
    assert str(p) in msg and needle in msg
    if "line" in needle or "column" in needle:
        assert "line" in msg


def test_bad_decimal_inputs(tmp_path):
    hdr = ", ".join(f"ePortRxDataGroup_{i}" for i in range(12))
    p = _write(tmp_path, hdr + "\n" + ", ".join(["12"] * 11 + ["4294967296"]) + "\n")
    with pytest.raises(DataError, match=r"line 2, column 12 .*32-bit"):
        read_eportrx_csv(p)
    p = _write(tmp_path, hdr + "\n" + ", ".join(["12"] * 11 + ["-5"]) + "\n")
    with pytest.raises(DataError, match=r"line 2, column 12"):
        read_eportrx_csv(p, fmt="decimal")
    p = _write(tmp_path, hdr + "\n" + ", ".join(["12"] * 11 + ["1.5"]) + "\n")
    with pytest.raises(DataError, match="not a decimal integer"):
        read_eportrx_csv(p)


def test_skip_bad_rows_counts(tmp_path):
    body = "\n".join([HEADER, GOOD, ",".join(["a145cb96"] * 7), GOOD.replace("a145cb96", "xx", 1), GOOD]) + "\n"
    p = _write(tmp_path, body)
    rep = SkipReport()
    ds = read_eportrx_csv(p, skip_bad_rows=True, report=rep)
    assert "skipped 2 of 4" in rep.text()
    assert len(ds) == 2 and rep.n_skipped == 2
    assert rep.skipped["truncated/long crossings"] == 1 and rep.skipped["non-numeric words"] == 1
    assert ds.meta["bx"].tolist() == [0, 3]


def test_init_yaml_errors(tmp_path):
    p = _write(tmp_path, "Mux:\n  0: 1\n", "init.yaml")
    with pytest.raises(ConfigError, match="Mux.*0..47"):
        input_config_from_init_yaml(p)
    body = "Mux:\n" + "".join(f"  {i}: {i if i else 60}\n" for i in range(48))
    p = _write(tmp_path, body, "init2.yaml")
    with pytest.raises(ConfigError, match="mux must be 48 integers"):
        input_config_from_init_yaml(p)
    with pytest.raises(ConfigError, match="not found"):
        input_config_from_init_yaml(tmp_path / "nope.yaml")
    p = _write(tmp_path, "Algorithm:\n  Global:\n    density: 1\n", "init3.yaml")
    cfg = input_config_from_init_yaml(p)
    assert cfg.high_density and cfg.mux == DEFAULT_MUX
    with pytest.raises(ConfigError):
        EcontInputConfig(calibration=(5000,) * 48)


def test_repo_example_file_reads_without_shared():
    """data/examples/eportrx_example_hex.csv: 3 hand-built crossings (header 0xA), readable on a fresh clone."""
    path = Path(__file__).resolve().parent.parent / "data" / "examples" / "eportrx_example_hex.csv"
    ds = read_eportrx_csv(path, EcontInputConfig(mux=tuple(range(48))))
    assert len(ds) == 3 and ds.meta["header"].tolist() == [0xA] * 3 and "hex" in ds.source
    first = [int(c, 16) for c in path.read_text().splitlines()[1].split(",")]
    mux_in = [c for w in first for c in _ref_codes(w)]
    assert ds.charges[0].tolist() == [_ref_decode(c, 1) for c in mux_in]
