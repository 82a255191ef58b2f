"""Bit-exact integer encoder vs the QKeras model (the golden reference for the RTL)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import econt  # noqa: F401
from econt.errors import DataError
from econt.model.config import load_encoder_config
from econt.model.integer import (
    IntegerEncoder,
    IntegerWeights,
    accumulator_widths,
    check_bit_exact,
    extract_integer_weights,
    random_integer_weights,
)


@pytest.fixture(scope="module")
def cfg():
    return load_encoder_config()


@pytest.fixture(scope="module")
def random_model(cfg):
    from econt.model.qkeras_model import build_encoder, randomise_encoder_weights

    model = build_encoder(cfg)
    randomise_encoder_weights(model, cfg, seed=11)
    return model


@pytest.mark.slow
def test_bit_exact_vs_qkeras(random_model, cfg, full: bool) -> None:
    """0 mismatches; ≥100,000 samples in the full variant (ECONT_FULL=1), 4,000 by default."""
    n = 100_000 if full else 4_000
    res = check_bit_exact(random_model, cfg, n=n, seed=3)
    assert res["bit_exact_samples"] == n
    assert res["bit_exact_mismatches"] == 0, res["first_mismatch"]
    # the stress set really hits the corner cases the RTL must get right
    for key in ("exercised_conv_ties", "exercised_latent_ties", "exercised_conv_saturated",
                "exercised_latent_saturated"):
        assert res[key] > 0, key


def test_weight_quantiser_ties_and_saturation_extracted(random_model, cfg) -> None:
    w = extract_integer_weights(random_model, cfg)
    k = random_model.get_layer("conv2d").get_weights()[0] * 32
    ties = np.isclose(k - np.floor(k), 0.5) & (np.abs(k) < 31)
    assert ties.any()
    assert np.all(w.conv_w[ties] % 2 == 0)                       # half-to-even
    assert w.conv_w.min() == -32 and w.conv_w.max() == 31         # saturated, not wrapped


def test_conv_stage_and_same_padding(random_model, cfg) -> None:
    """Intermediate conv activations equal QKeras's accum1_qa output (checks the bottom/right padding)."""
    import tf_keras as keras

    from econt.model.integer import stress_codes
    from econt.model.qkeras_model import cells_to_input

    sub = keras.Model(random_model.input, random_model.get_layer("accum1_qa").output)
    enc = IntegerEncoder(extract_integer_weights(random_model, cfg))
    codes = stress_codes(2000, cfg, seed=5)
    # hot cells at the bottom row/right column of the image: only bottom/right padding reaches them
    from econt.geometry import REMAP_8X8

    edge_cells = [c for c in range(48) if REMAP_8X8[c] // 8 == 7 or REMAP_8X8[c] % 8 == 7]
    assert edge_cells
    codes[:100] = 0
    codes[np.arange(100), np.array(edge_cells)[np.arange(100) % len(edge_cells)]] = 255
    ref = sub.predict(cells_to_input(codes / 128.0, cfg).astype(np.float32), verbose=0) * 128
    assert np.array_equal(enc.conv_activations(codes), np.rint(ref).astype(np.int64))
    assert np.array_equal(ref, np.rint(ref))


def test_accumulator_bounds_are_reached_and_fit(cfg) -> None:
    """Worst-case weights/inputs: the conv accumulator reaches exactly its documented extremes,
    the dense one stays inside its (conservative) bound, the latent saturates at 9 bits."""
    acc = accumulator_widths(cfg)
    full_in = np.full((1, 48), 255)
    for sign, key in ((-1, "conv_acc_min"), (1, "conv_acc_max")):
        c = -32 if sign < 0 else 31
        w = IntegerWeights(cfg=cfg, conv_w=np.full((3, 3, 1, 8), c), conv_b=np.full(8, c),
                           dense_w=np.full((128, 16), c), dense_b=np.full(16, c))
        enc = IntegerEncoder(w)
        z = enc.encode_codes(full_in)
        assert enc.stats[key] == acc[key]                       # interior 3x3 windows are all real cells
        assert acc["dense_acc_min"] <= enc.stats["dense_acc_min"] <= enc.stats["dense_acc_max"] <= acc["dense_acc_max"]
        assert np.all(z == (511 if sign > 0 else 0))            # saturation at both ends
    for name in ("conv", "dense"):
        bits = acc[f"{name}_acc_bits"]
        assert -(1 << (bits - 1)) <= acc[f"{name}_acc_min"] and acc[f"{name}_acc_max"] < (1 << (bits - 1))
        assert not (-(1 << (bits - 2)) <= acc[f"{name}_acc_min"] and acc[f"{name}_acc_max"] < (1 << (bits - 2)))


def test_input_range_checked(cfg) -> None:
    enc = IntegerEncoder(random_integer_weights(cfg, 1))
    bad = np.zeros((2, 48), dtype=np.int64)
    bad[1, 7] = 256
    with pytest.raises(DataError, match="sample 1 cell 7"):
        enc.encode_codes(bad)


def test_out_of_range_weight_names_layer_and_index(cfg) -> None:
    w = random_integer_weights(cfg, 2)
    dense = w.dense_w.copy()
    dense[100, 3] = 32
    with pytest.raises(DataError, match=r"dense_w index \[100, 3\]"):
        IntegerWeights(cfg=cfg, conv_w=w.conv_w, conv_b=w.conv_b, dense_w=dense, dense_b=w.dense_b)


def test_encode_calq_normalises_like_the_chip(cfg) -> None:
    """encode_calq = shift by the MSB of the module sum (data stage) + integer encoder."""
    from econt.data.normalise import encode_module_sum

    enc = IntegerEncoder(random_integer_weights(cfg, 4))
    rng = np.random.default_rng(0)
    calq = (rng.exponential(50, size=(500, 48)) * (rng.random((500, 48)) < 0.4)).astype(np.int64)
    calq[0] = 0
    calq[1] = 0
    calq[1, 5] = 1
    latent, modsum = enc.encode_calq(calq)
    s = calq.sum(axis=1)
    msb = np.array([int(v).bit_length() - 1 if v > 0 else 0 for v in s])
    expect_codes = np.array([(row << 7) >> m for row, m in zip(calq, msb)])   # floor(calq·2^7 / 2^msb)
    assert expect_codes.max() <= 255
    assert np.array_equal(latent, enc.encode_codes(expect_codes))
    assert np.array_equal(modsum, encode_module_sum(s))


def test_deployed_encoders_bit_exact(shared: Path, cfg) -> None:
    from econt.model.qkeras_model import load_deployed_encoder

    for name in ("AE_8x8_c8_S2_ele_qkeras", "AE"):
        for weights in ("hdf5", "chip"):
            model, dcfg = load_deployed_encoder(shared / "econt-vectors" / name, weights=weights)
            res = check_bit_exact(model, dcfg, n=3000, seed=1)
            assert res["bit_exact_mismatches"] == 0, (name, weights, res["first_mismatch"])


def test_chip_weights_equal_init_yaml(shared: Path) -> None:
    """load_deployed_encoder(weights='chip') holds exactly the codes of the chip's I2C image."""
    from econt.export import from_i2c_image
    from econt.model.qkeras_model import load_deployed_encoder

    for name in ("AE_8x8_c8_S2_ele_qkeras", "AE"):
        folder = shared / "econt-vectors" / name
        model, dcfg = load_deployed_encoder(folder, weights="chip")
        assert extract_integer_weights(model, dcfg) == from_i2c_image(folder / "init.yaml", dcfg,
                                                                      dense_order="keras")


def _expected_frames(path: Path, n_words: int) -> list[str]:
    rows = path.read_text().split()[1:]
    return ["".join(format(int(w, 16), "032b") for w in r.split(",")[:n_words]) for r in rows]


@pytest.mark.parametrize("name", ["AE", "AE_8x8_c8_S2_ele_qkeras"])
def test_chip_mode_reproduces_emulator_latents(shared: Path, name: str) -> None:
    """arithmetic='chip' + the chip's register/CALQ order reproduce the ECON-T emulator's latent
    bits and module sums for all 3,564 crossings of both shared configurations.

    Output frame (MSB first): 5-bit BX counter | 9-bit module sum | AE data. AE/ sends all 16 latents
    (2 pad bits, then OUT_15 … OUT_0); AE_8x8 uses 2 e-links: the last 50 latent bits (low 5 bits of
    OUT_5, then OUT_4 … OUT_0). The two vector sets use opposite trigger-cell orders inside the
    ePortRX word (two emulator versions); input_config_from_init_yaml picks the order from the
    init.yaml schema."""
    from econt.data.eportrx import input_config_from_init_yaml, words_to_calq
    from econt.export import from_i2c_image

    folder = shared / "econt-vectors" / name
    words = np.array([[int(w, 16) for w in line.split(",")]
                      for line in (shared / "econt-vectors" / "testInput.csv").read_text().split()[1:]])
    calq = words_to_calq(words, input_config_from_init_yaml(folder / "init.yaml"))
    enc = IntegerEncoder(from_i2c_image(folder / "init.yaml", dense_order="chip"), arithmetic="chip")
    latent, modsum = enc.encode_calq(calq, calq_order="chip")
    if name == "AE":
        frames = _expected_frames(folder / "testOutput.csv", 5)
        expect = np.array([[int(f[16 + 9 * (15 - i):25 + 9 * (15 - i)], 2) for i in range(16)] for f in frames])
        got = latent
    else:
        frames = _expected_frames(folder / "testOutput.csv", 2)
        expect = np.array([[int(f[14:19], 2)] + [int(f[19 + 9 * (4 - i):28 + 9 * (4 - i)], 2) for i in range(5)]
                           for f in frames])
        got = np.c_[latent[:, 5] & 31, latent[:, :5]]
    expect_sum = np.array([int(f[5:14], 2) for f in frames])
    assert len(frames) == 3564
    assert np.array_equal(modsum, expect_sum)
    mism = np.argwhere(got != expect)
    assert mism.size == 0, f"first mismatch crossing {mism[0][0]} column {mism[0][1]}: {got[tuple(mism[0])]} vs {expect[tuple(mism[0])]}"
    # the same weights in QKeras arithmetic do NOT reproduce the chip: the difference is real
    assert not np.array_equal(IntegerEncoder(enc.w).encode_calq(calq, calq_order="chip")[0], latent)


def test_chip_arithmetic_truncates_each_product(cfg) -> None:
    """One hot input: chip result = sum of individually floored products (differs from the exact sum)."""
    zeros = lambda s: np.zeros(s, dtype=np.int64)  # noqa: E731
    conv_w = zeros((3, 3, 1, 8))
    conv_w[0, 0, 0, 0] = conv_w[0, 1, 0, 0] = -1                    # two taps of filter 0
    w = IntegerWeights(cfg=cfg, conv_w=conv_w, conv_b=zeros(8), dense_w=zeros((128, 16)), dense_b=zeros(16))
    codes = zeros((1, 48))
    from econt.geometry import REMAP_8X8

    codes[0, int(np.flatnonzero(REMAP_8X8 == 0)[0])] = 1          # pixel (0,0) = 1/128
    codes[0, int(np.flatnonzero(REMAP_8X8 == 1)[0])] = 200         # pixel (0,1)
    chip = IntegerEncoder(w, arithmetic="chip")
    chip.conv_activations(codes)
    # products −1 and −200 (12 frac bits) → floor(−1/32) + floor(−200/32) = −1 + −7 = −8 (7 frac bits)
    assert chip.stats["conv_acc_min"] == -8
    exact = IntegerEncoder(w)
    exact.conv_activations(codes)
    assert exact.stats["conv_acc_min"] == -201
    acc = accumulator_widths(cfg, "chip")
    assert (acc["conv_acc_bits"], acc["dense_acc_bits"]) == (13, 17)


@pytest.mark.parametrize("arrangement", ["8x8", "4x4x3"])
def test_chip_arithmetic_qkeras_encoder_is_bit_exact_with_the_chip_model(arrangement: str) -> None:
    """The training-time model of the chip arithmetic (per-product floor in the forward pass)
    computes exactly what ``IntegerEncoder(arithmetic="chip")`` computes, which is what the
    ECON-T computes (test_chip_mode_reproduces_emulator_latents); the exact-sum model does not."""
    from econt.model.qkeras_model import build_encoder, randomise_encoder_weights

    chip_cfg = load_encoder_config("econt_chip_arithmetic", {"arrangement": arrangement})
    assert chip_cfg.arithmetic == "chip"
    model = build_encoder(chip_cfg)
    randomise_encoder_weights(model, chip_cfg, seed=5)
    res = check_bit_exact(model, chip_cfg, n=4_000, seed=2)
    assert res["bit_exact_mismatches"] == 0, res["first_mismatch"]
    assert res["exercised_conv_saturated"] > 0 and res["exercised_latent_saturated"] > 0
    exact_sums = build_encoder(load_encoder_config("econt_default", {"arrangement": arrangement}))
    exact_sums.set_weights(model.get_weights())
    assert check_bit_exact(exact_sums, chip_cfg, n=1_000, seed=2)["bit_exact_mismatches"] > 0


def test_chip_arithmetic_gradient_is_the_exact_sums() -> None:
    """Straight-through: the truncation changes the layers' forward values, not their gradients."""
    import tensorflow as tf

    from econt.model.qkeras_model import build_encoder, randomise_encoder_weights

    chip_cfg = load_encoder_config("econt_chip_arithmetic")
    chip = build_encoder(chip_cfg)
    randomise_encoder_weights(chip, chip_cfg, seed=8)
    exact = build_encoder(load_encoder_config("econt_default"))
    exact.set_weights(chip.get_weights())
    rng = np.random.default_rng(1)
    inputs = {"conv2d": tf.constant(rng.integers(0, 40, (64, 8, 8, 1)) / 128.0, dtype=tf.float32),
              "encoded_vector": tf.constant(rng.integers(0, 60, (64, 128)) / 128.0, dtype=tf.float32)}
    for name, x in inputs.items():
        out, grads = [], []
        for model in (chip, exact):
            layer = model.get_layer(name)
            with tf.GradientTape() as tape:
                y = layer(x)
                total = tf.reduce_sum(y * tf.range(1.0, 1.0 + y.shape[-1]))
            out.append(y.numpy())
            grads.append([g.numpy() for g in tape.gradient(total, layer.trainable_weights)])
        assert np.all(out[0] <= out[1]) and np.any(out[0] < out[1]), name    # floor only lowers sums
        for g_chip, g_exact in zip(*grads):
            assert np.any(g_chip != 0) and np.array_equal(g_chip, g_exact), name
