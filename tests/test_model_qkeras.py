"""QKeras encoder / float decoder / autoencoder builders, save/load, deployed-model loaders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import econt  # noqa: F401
from econt.errors import DataError
from econt.model.config import load_encoder_config


@pytest.fixture(scope="module")
def cfg():
    return load_encoder_config()


def test_builders_shapes_and_names(cfg) -> None:
    from econt.model.qkeras_model import build_autoencoder, build_decoder, build_encoder

    enc = build_encoder(cfg)
    assert enc.input_shape == (None, 8, 8, 1) and enc.output_shape == (None, 16)
    assert enc.count_params() == 2144
    assert [layer.name for layer in enc.layers] == ["input_1", "input_qa", "conv2d", "accum1_qa", "flatten",
                                                    "encoded_vector", "encod_qa"]
    assert enc.get_layer("conv2d").get_weights()[0].shape == (3, 3, 1, 8)
    dec = build_decoder(cfg)
    assert dec.output_shape == (None, 48)
    ae = build_autoencoder(cfg)
    assert ae.output_shape == (None, 48)
    ae443 = build_autoencoder(load_encoder_config("econt_443"))
    assert ae443.input_shape == (None, 4, 4, 3) and ae443.output_shape == (None, 48)


@pytest.mark.parametrize("name", ["econt_default", "econt_443"])
def test_decoder_cells_follow_the_arrangement(name: str) -> None:
    """The decoder's 48 outputs are the image pixels of the 48 cells, in cell order."""
    import tf_keras as keras

    from econt.geometry import from_443, from_8x8
    from econt.model.qkeras_model import build_decoder

    cfg = load_encoder_config(name)
    dec = build_decoder(cfg)
    img_model = keras.Model(dec.input, dec.get_layer("decoder_output").output)
    z = np.random.default_rng(0).random((5, 16)).astype(np.float32)
    img = img_model.predict(z, verbose=0)
    cells = dec.predict(z, verbose=0)
    expect = from_8x8(img) if cfg.arrangement == "8x8" else from_443(img)
    assert np.array_equal(cells, expect)


def test_save_load_round_trip(tmp_path: Path, cfg) -> None:
    from econt.model.qkeras_model import (
        build_decoder, build_encoder, load_decoder, load_encoder, randomise_encoder_weights, save_encoder)

    enc, dec = build_encoder(cfg), build_decoder(cfg)
    randomise_encoder_weights(enc, cfg, seed=1)
    save_encoder(enc, cfg, tmp_path, decoder=dec)
    enc2, cfg2 = load_encoder(tmp_path)
    dec2, _ = load_decoder(tmp_path)
    assert cfg2 == cfg
    for a, b in zip(enc.get_weights() + dec.get_weights(), enc2.get_weights() + dec2.get_weights()):
        assert np.array_equal(a, b)
    with pytest.raises(DataError, match="model config not found"):
        load_encoder(tmp_path / "nothing")


def test_deployed_models_load_by_layer_name(shared: Path, cfg) -> None:
    import h5py

    from econt.model.qkeras_model import load_deployed_decoder, load_deployed_encoder

    for name, conv in (("AE_8x8_c8_S2_ele_qkeras", "conv2d"), ("AE", "conv2d_0_m")):
        folder = shared / "econt-vectors" / name
        enc, _ = load_deployed_encoder(folder)
        with h5py.File(folder / "encoder.hdf5", "r") as h5:
            kernel = h5[conv][conv]["kernel:0"][()]
            dense = h5["encoded_vector"]["encoded_vector"]["kernel:0"][()]
        assert np.array_equal(enc.get_layer("conv2d").get_weights()[0], kernel)
        assert np.array_equal(enc.get_layer("encoded_vector").get_weights()[0], dense)
    dec, _ = load_deployed_decoder(shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras")
    out = dec.predict(np.zeros((2, 16), np.float32), verbose=0)
    assert out.shape == (2, 48) and np.all(np.isfinite(out))


def test_wrong_architecture_is_reported(shared: Path) -> None:
    from econt.model.qkeras_model import load_deployed_encoder

    cfg12 = load_encoder_config("econt_default", overrides={"latent_dim": 12})
    with pytest.raises(DataError, match="weight shapes"):
        load_deployed_encoder(shared / "econt-vectors" / "AE", cfg12)
