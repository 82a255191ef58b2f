"""Conformance with the ECON-T emulator: formatter, init.yaml import, golden chain on the shared vectors."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from econt.errors import ConfigError, DataError
from econt.verify.conformance.config import load_chip_config, reverse_in_word
from econt.verify.conformance.formatter import (
    FULL_MASK,
    bx_counter,
    combine_mask,
    data_bits_for,
    decode_frames,
    format_frames,
)
from econt.verify.conformance.run import (
    ChainTrace,
    compare,
    golden_chain,
    read_hex_words,
    run_case,
    shared_cases,
)

CONFIGS = ("AE_8x8_c8_S2_ele_qkeras", "AE")


# --------------------------------------------------------------------------- formatter (no data needed)
def test_frame_layout_by_hand() -> None:
    # 1 eTx link: 5-bit BX | 9-bit sum | the last 18 kept latent bits = OUT_1, OUT_0
    lat = np.zeros((1, 16), np.int64)
    lat[0, 0], lat[0, 1], lat[0, 2] = 0x1A5, 0x0F3, 0x1FF
    w = format_frames(np.array([7]), np.array([0x123]), lat, FULL_MASK, n_etx=1)
    assert w.shape == (1, 13) and (w[0, 1:] == 0).all()
    assert int(w[0, 0]) == (7 << 27) | (0x123 << 18) | (0x0F3 << 9) | 0x1A5
    # a mask that keeps only OUT_15's 9 bits: 18-bit field is zero-padded on the left
    only15 = ((1 << 9) - 1) << 135
    lat[0, 15] = 0x155
    w = format_frames(np.array([1]), np.array([2]), lat, only15, n_etx=1)
    assert int(w[0, 0]) == (1 << 27) | (2 << 18) | 0x155
    # 5 links: 14-bit header + 2 pad bits + 144 latent bits, OUT_15 first
    w = format_frames(np.array([31]), np.array([0]), lat, FULL_MASK, n_etx=5)
    assert int(w[0, 0]) >> 27 == 31 and (int(w[0, 0]) >> 16) & 0x3 == 0
    assert (int(w[0, 0]) & 0xFFFF) >> 7 == 0x155            # OUT_15 right after the pad bits
    assert int(w[0, 4]) & 0x1FF == 0x1A5                     # OUT_0 in the last 9 bits of link 4


def test_format_decode_round_trip_random() -> None:
    rng = np.random.default_rng(3)
    n = 40
    lat = rng.integers(0, 512, size=(n, 16))
    ms = rng.integers(0, 512, size=n)
    bx = bx_counter(n)
    for n_etx in (1, 2, 5, 13):
        for mask in (FULL_MASK, combine_mask(int(rng.integers(0, 2**62)) << 60, 0xF0F0)):
            w = format_frames(bx, ms, lat, mask, n_etx)
            d = decode_frames(w, mask, n_etx)
            assert (d.bx_cnt == bx).all() and (d.modsum == ms).all() and d.pad_ok.all()
            assert (d.latent_partial == (lat & d.latent_known_bits)).all()
            assert (format_frames(bx, ms, d.latent_partial, mask, n_etx) == w).all()
    assert data_bits_for(5) == 146


def test_bx_counter_reset() -> None:
    bx = bx_counter(40, np.array([3]))
    assert bx[3] == 31 and list(bx[4:8]) == [1, 2, 3, 4] and bx[3 + 16] == 0
    assert bx_counter(3)[0] == 31


def test_formatter_input_errors() -> None:
    with pytest.raises(DataError, match="9-bit"):
        format_frames(np.array([0]), np.array([0]), np.full((1, 16), 512), FULL_MASK, 2)
    with pytest.raises(DataError, match="n_etx"):
        format_frames(np.array([0]), np.array([0]), np.zeros((1, 16), int), FULL_MASK, 14)


# --------------------------------------------------------------------------- init.yaml import
def test_import_both_schemas(shared: Path) -> None:
    a = load_chip_config(shared / "econt-vectors" / "AE" / "init.yaml")
    b = load_chip_config(shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml")
    assert (a.schema, a.n_etx, a.cell_order, a.algorithm_select) == ("configalgo", 5, "msb_first", 4)
    assert (b.schema, b.n_etx, b.cell_order, b.algorithm_select) == ("algorithm", 2, "lsb_first", 4)
    assert a.high_density and b.high_density
    assert a.formatter_mask == b.formatter_mask == FULL_MASK
    assert a.extra_registers["buff_t1"] == 338
    # the two generations' mux tables differ exactly by the in-word reversal
    assert reverse_in_word(b.mux) == a.mux
    assert a.weights.dense_w.shape == (128, 16)


def test_import_errors(tmp_path: Path) -> None:
    bad = tmp_path / "init.yaml"
    bad.write_text("Mux: {}\n")
    with pytest.raises(ConfigError, match="Algorithm"):
        load_chip_config(bad)
    bad.write_text("ConfigAlgo:\n  Global:\n    alg_type: 4\nFormatterBuffer:\n  Global:\n    active_etxs: 0x5\n")
    with pytest.raises(ConfigError, match="active_etxs"):
        load_chip_config(bad)
    bad.write_text("Algorithm:\n  Global:\n    select: 4\nFormatterBuffer:\n  Global:\n    mask_ae2: 0x1ffff\n")
    with pytest.raises(ConfigError, match="mask_ae2"):
        load_chip_config(bad)


# --------------------------------------------------------------------------- golden chain on the vectors
@pytest.mark.parametrize("name", CONFIGS)
def test_formatter_reproduces_expected_frames(shared: Path, name: str, full: bool) -> None:
    chip = load_chip_config(shared / "econt-vectors" / name / "init.yaml")
    exp = read_hex_words(shared / "econt-vectors" / name / "testOutput.csv", 13, None if full else 200)
    d = decode_frames(exp, chip.formatter_mask, chip.n_etx)
    assert d.pad_ok.all()
    assert (format_frames(d.bx_cnt, d.modsum, d.latent_partial, chip.formatter_mask, chip.n_etx) == exp).all()


@pytest.mark.parametrize("name", CONFIGS)
def test_golden_conformance_first_200(shared: Path, name: str, full: bool) -> None:
    (case,) = shared_cases((name,))
    r = run_case(case, n=None if full else 200, rtl=False, emd=False)
    g = r["golden"]
    assert g["words_compared"] == 13 * r["crossings"]
    assert g["words_matching"] == g["words_compared"], g["mismatches"][:5]
    assert r["i2c"]["match"] and r["i2c"]["fields"] == 108


def test_divergence_diagnosis(shared: Path) -> None:
    (case,) = shared_cases(("AE_8x8_c8_S2_ele_qkeras",))
    chip = load_chip_config(case.init_yaml)
    inp = case.inputs
    exp = read_hex_words(case.expected, 13, 30)
    # wrong in-word order: the sum agrees, the latents do not, the other order fixes them → decode
    wrong = replace(chip, cell_order="msb_first")
    r = compare(exp, golden_chain(inp, wrong, 30), wrong, inp)
    assert r["first_divergent_stage"] == {"decode": 30}
    assert "crossing 0 TX_DATA_" in r["mismatches"][0] and "expected" in r["mismatches"][0]
    t = golden_chain(inp, chip, 30)
    # a corrupted latent bit that is on the links → encoder
    lat = t.latents.copy()
    lat[4, 0] ^= 1
    t2 = ChainTrace(t.calq, t.bx_cnt, t.modsum, lat,
                    format_frames(t.bx_cnt, t.modsum, lat, chip.formatter_mask, chip.n_etx))
    assert compare(exp, t2, chip, inp)["first_divergent_stage"] == {"encoder": 1}
    # a wrong module sum → decode; a flipped pad bit with all fields right → formatter
    ms = t.modsum.copy()
    ms[7] += 1
    t3 = ChainTrace(t.calq, t.bx_cnt, ms, t.latents,
                    format_frames(t.bx_cnt, ms, t.latents, chip.formatter_mask, chip.n_etx))
    assert compare(exp, t3, chip, inp)["first_divergent_stage"] == {"decode": 1}
    w = t.words.copy()
    w[9, 5] = 1
    t4 = ChainTrace(t.calq, t.bx_cnt, t.modsum, t.latents, w)
    assert compare(exp, t4, chip, inp)["first_divergent_stage"] == {"formatter": 1}


def test_cli_import(shared: Path, capsys: pytest.CaptureFixture) -> None:
    from econt.cli.main import main

    assert main(["conformance", "import", str(shared / "econt-vectors" / "AE" / "init.yaml")]) == 0
    out = capsys.readouterr().out
    assert "autoencoder" in out and "eTx links          : 5" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_rtl_conformance_first_200(shared: Path, name: str, full: bool, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The rtl stage's chip-arithmetic design (build/rtl/index.json, init.yaml weights loaded
    through its registers) in Icarus + the Python formatter reproduce the emulator's words; the
    full orbit with ECONT_FULL=1."""
    from econt.rtl.stage import generate_all

    monkeypatch.setenv("ECONT_BUILD", str(tmp_path / "build"))
    generate_all()
    (case,) = shared_cases((name,))
    r = run_case(case, n=None if full else 200, rtl=True, emd=False, work=tmp_path)
    rtl = r["rtl"]
    assert rtl["arithmetic"] == "chip" and rtl["rtl_vs_golden_value_mismatches"] == 0
    assert rtl["latents_equal_golden"] == r["crossings"]
    assert rtl["words_matching"] == rtl["words_compared"] == 13 * r["crossings"], rtl["mismatches"][:5]


def test_emd_baseline_small(shared: Path) -> None:
    """decoder.hdf5 EMD baseline runs on real crossings: finite per-pair EMDs for both latent sources."""
    from econt.verify.conformance.run import emd_baseline

    case8, case_ae = shared_cases(CONFIGS)
    chip = load_chip_config(case8.init_yaml)
    t = golden_chain(case8.inputs, chip, 60)
    e = emd_baseline(case8, chip, t.calq, t.latents)
    per_pair = e.pop("_per_pair")
    assert set(per_pair) == {"chip", "model", "flat_map"} and all(len(v) == 60 for v in per_pair.values())
    assert e["available"] and e["crossings"] == 60
    for key in ("chip", "model", "flat_map"):
        assert 0.0 < e[key]["emd_mean"] < 20.0
    assert e["chip"]["pairs"] == e["model"]["pairs"] == 60
    assert not emd_baseline(case_ae, chip, t.calq, t.latents)["available"]


def test_first_expected_words_by_hand(shared: Path) -> None:
    """AE_8x8 crossing 0: TX_DATA_0 = 0xfaaaa007, TX_DATA_1 = 0x81902831 (2 links, 64 frame bits):
    11111 | 010101010 | 50 data bits = low 5 bits of OUT_5, then OUT_4 … OUT_0."""
    exp = read_hex_words(shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "testOutput.csv", 13, 2)
    assert exp[0, 0] == 0xFAAAA007 and exp[0, 1] == 0x81902831 and exp[1, 0] == 0x0AE46006
    frame = (0xFAAAA007 << 32) | 0x81902831
    d = decode_frames(exp, FULL_MASK, 2)
    assert d.bx_cnt[0] == frame >> 59 == 31 and d.bx_cnt[1] == 1
    assert d.modsum[0] == (frame >> 50) & 0x1FF == 0b010101010
    assert d.latent_partial[0, 0] == frame & 0x1FF                       # OUT_0 = last 9 bits
    assert d.latent_partial[0, 5] == (frame >> 45) & 0x1F                 # OUT_5: only its low 5 bits are sent
    assert d.latent_known_bits[0, 5] == 0x1F and d.latent_known_bits[0, 6] == 0
