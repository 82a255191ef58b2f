"""Export: JSON weight files and the ECON-T I2C image — round trips, errors, and the byte-exact
comparison with the shared deployed models' init.yaml."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import econt  # noqa: F401
from econt.errors import DataError
from econt.export import (
    compare_i2c,
    deployed_float_weights,
    from_i2c_image,
    i2c_bytes,
    load_weights_json,
    quantise_deployed,
    save_weights_json,
    to_i2c_image,
    write_init_yaml,
)
from econt.model.config import load_encoder_config
from econt.model.integer import IntegerWeights, random_integer_weights

DEPLOYED = ("AE_8x8_c8_S2_ele_qkeras", "AE")


@pytest.fixture(scope="module")
def cfg():
    return load_encoder_config()


def test_json_round_trip(tmp_path: Path, cfg) -> None:
    w = random_integer_weights(cfg, 7, region="eta_high")
    path = save_weights_json(w, tmp_path / "w.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == "econt-weights" and doc["region"] == "eta_high"
    assert doc["layers"]["conv_w"]["bits"] == 6 and doc["layers"]["conv_w"]["scale"] == 1 / 32
    back = load_weights_json(path)
    assert back == w and back.config_hash == cfg.hash()


def test_json_rejects_edits(tmp_path: Path, cfg) -> None:
    w = random_integer_weights(cfg, 8)
    path = save_weights_json(w, tmp_path / "w.json")
    doc = json.loads(path.read_text())
    doc["layers"]["dense_w"]["codes"][37] = 40                      # 40 does not fit 6 bits
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as exc:
        load_weights_json(path)
    assert str(path) in str(exc.value) and "dense_w index [2, 5]" in str(exc.value)
    doc["layers"]["dense_w"]["codes"][37] = 0
    doc["config"]["latent_dim"] = 12                                 # config edited → hash mismatch
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="config_hash"):
        load_weights_json(path)


def test_i2c_round_trip_and_layout(tmp_path: Path, cfg) -> None:
    w = random_integer_weights(cfg, 9)
    image = to_i2c_image(w)
    assert sorted(image) == list(range(12))
    assert sorted(image[0]) == sorted(f"weights_byte{16 * k}" for k in range(9))
    assert all(v < (1 << 48) for v in (blk["weights_byte128"] for blk in image.values()))
    assert from_i2c_image(image) == w.replace(region="global")
    path = write_init_yaml(w, tmp_path / "init.yaml")
    assert from_i2c_image(path) == w.replace(region="global")
    keras_image = to_i2c_image(w, dense_order="keras")
    assert keras_image != image                                      # the two dense orders differ ...
    assert from_i2c_image(keras_image, dense_order="keras") == w.replace(region="global")   # ... and both invert
    blocks = i2c_bytes(w)
    assert len(blocks) == 12 and all(len(b) == 134 for b in blocks)
    # the fields are the little-endian integers of the bytes
    for b, blk in enumerate(blocks):
        for k in range(9):
            assert image[b][f"weights_byte{16 * k}"] == int.from_bytes(blk[16 * k:16 * k + 16], "little")


@pytest.mark.parametrize("layer,index,param,order", [
    ("conv_w", (0, 0, 0, 0), 0, "chip"), ("conv_w", (2, 2, 0, 7), 71, "chip"), ("conv_w", (1, 2, 0, 3), 43, "keras"),
    ("conv_b", (3,), 75, "chip"),
    ("dense_w", (16, 2), 80 + 2 * 128 + 16, "chip"), ("dense_w", (16, 2), 80 + 16 * 16 + 2, "keras"),
    ("dense_w", (127, 0), 80 + 127, "chip"), ("dense_w", (127, 15), 2127, "chip"), ("dense_w", (0, 1), 81, "keras"),
    ("dense_b", (15,), 2143, "chip")])
def test_register_address_map(cfg, layer: str, index: tuple, param: int, order: str) -> None:
    """Parameter p occupies bits [6p, 6p+6) of the 12×1,072-bit image; (block, byte) = divmod by 1072, 8.
    Dense weights are output-major in the chip's order (p = 80 + o·128 + i), input-major in Keras order."""
    arrays = {n: np.zeros(s, dtype=np.int64) for n, s in
              {"conv_w": (3, 3, 1, 8), "conv_b": (8,), "dense_w": (128, 16), "dense_b": (16,)}.items()}
    arrays[layer][index] = -27                                       # 0b100101
    blocks = i2c_bytes(IntegerWeights(cfg=cfg, **arrays), dense_order=order)
    x = sum(int.from_bytes(b, "little") << (1072 * i) for i, b in enumerate(blocks))
    assert x == 0b100101 << (6 * param)
    block, bit = divmod(6 * param, 1072)
    assert blocks[block][bit // 8] >> (bit % 8) & 1 == 1             # LSB of the code at (block, byte, bit)


def test_out_of_range_weight_is_an_error(cfg) -> None:
    w = random_integer_weights(cfg, 10)
    w.conv_b[5] = -33                                                # mutated after validation
    with pytest.raises(DataError, match=r"conv_b index \[5\]"):
        to_i2c_image(w)
    with pytest.raises(DataError, match=r"conv_b index \[5\]"):
        save_weights_json(w, "/nonexistent/never-written.json")


def test_bad_i2c_images(tmp_path: Path, cfg) -> None:
    image = to_i2c_image(random_integer_weights(cfg, 11))
    broken = {k: dict(v) for k, v in image.items() if k != 11}
    with pytest.raises(DataError, match="blocks 0..11"):
        from_i2c_image({"Encoder": broken})
    image[3]["weights_byte128"] = 1 << 48
    with pytest.raises(DataError, match="block 3 field weights_byte128"):
        from_i2c_image(image)


def test_443_does_not_fit_the_chip_image() -> None:
    cfg = load_encoder_config("econt_443")
    with pytest.raises(DataError, match="do not fit the ECON-T I2C image"):
        to_i2c_image(random_integer_weights(cfg, 1))


@pytest.mark.parametrize("name", DEPLOYED)
def test_deployed_hdf5_export_equals_init_yaml(shared: Path, cfg, name: str) -> None:
    """THE KEY VALIDATION: quantising the deployed encoder.hdf5 and packing it gives the chip's
    I2C bytes of its init.yaml, field by field (108 fields, 2,144 parameters)."""
    folder = shared / "econt-vectors" / name
    weights = quantise_deployed(deployed_float_weights(folder / "encoder.hdf5"), cfg, rounding="floor")
    ref = yaml.safe_load((folder / "init.yaml").read_text())["Encoder"]
    ours = to_i2c_image(weights, dense_order="keras")       # the order these files were generated in
    for block in range(12):
        for k in range(9):
            field = f"weights_byte{16 * k}"
            assert ours[block][field] == ref[block][field], (name, block, field)
    assert from_i2c_image(folder / "init.yaml", dense_order="keras") == weights
    # QKeras's round-half-even quantiser is NOT what made these images (documented finding)
    rounded = quantise_deployed(deployed_float_weights(folder / "encoder.hdf5"), cfg, rounding="half_even")
    assert compare_i2c({"Encoder": to_i2c_image(rounded, "keras")}, folder / "init.yaml")["fields_matching"] < 108


def test_export_model_folder_and_cli(tmp_path: Path, cfg, capsys, monkeypatch) -> None:
    """save_encoder → econt export all → weights.json/init.yaml equal the model's integer codes."""
    monkeypatch.setenv("ECONT_REPORTS", str(tmp_path / "reports"))
    from econt.cli.main import main
    from econt.model.integer import extract_integer_weights
    from econt.model.qkeras_model import build_encoder, randomise_encoder_weights, save_encoder

    model = build_encoder(cfg)
    randomise_encoder_weights(model, cfg, seed=2)
    train = tmp_path / "train"
    save_encoder(model, cfg, train / "mse")
    save_encoder(model, cfg, train / "mse" / "regions" / "eta1")
    out = tmp_path / "export"
    assert main(["export", "all", "--train-dir", str(train), "--out", str(out)]) == 0
    expect = extract_integer_weights(model, cfg)
    assert load_weights_json(out / "mse" / "global" / "weights.json") == expect
    assert load_weights_json(out / "mse" / "eta1" / "weights.json") == expect.replace(region="eta1")
    assert from_i2c_image(out / "mse" / "eta1" / "init.yaml") == expect
    summary = json.loads((tmp_path / "reports" / "export" / "summary.json").read_text())
    assert summary["exported_weight_sets"] == 2
    capsys.readouterr()
    assert main(["export", "import", str(out / "mse" / "eta1" / "weights.json")]) == 0
    text = capsys.readouterr().out
    assert "region eta1" in text and "2144 parameters" in text
    assert main(["export", "import", str(tmp_path / "missing.json")]) == 2
