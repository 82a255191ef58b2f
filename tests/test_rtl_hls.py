"""HLS path: hls4ml project export (Vitis, Catapult) and C simulation vs the golden integer model.

hls4ml is the optional ``hls`` extra; the test runs whenever it is installed.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("hls4ml", reason="hls4ml (the 'hls' extra) is not installed")

from econt.model.config import load_encoder_config  # noqa: E402
from econt.model.integer import IntegerEncoder, extract_integer_weights, stress_codes  # noqa: E402
from econt.model.qkeras_model import build_encoder, randomise_encoder_weights  # noqa: E402
from econt.rtl.hls import csim_latent_codes, export_hls_project  # noqa: E402


@pytest.fixture(scope="module")
def model_and_cfg():
    cfg = load_encoder_config()
    m = build_encoder(cfg)
    randomise_encoder_weights(m, cfg, 3)
    return m, cfg


@pytest.mark.parametrize("backend", ["Vitis", "Catapult"])
def test_hls_csim_bit_exact(tmp_path, model_and_cfg, backend, full):
    m, cfg = model_and_cfg
    h = export_hls_project(m, cfg, tmp_path / backend, backend)
    assert (tmp_path / backend / "firmware" / "econt_encoder.cpp").is_file()
    codes = stress_codes(20_000 if full else 600, cfg, seed=1)
    got = csim_latent_codes(h, cfg, codes)
    ref = IntegerEncoder(extract_integer_weights(m, cfg)).encode_codes(codes)
    assert got.shape == ref.shape
    assert int((got != ref).sum()) == 0
    assert ref.max() == (1 << cfg.latent_bits) - 1 and np.any(ref == 0)   # saturation and ReLU exercised


def test_hls_refuses_the_chip_arithmetic(tmp_path):
    """hls4ml builds exact sums only: a chip-arithmetic model is an error that names the way out."""
    from econt.errors import ConfigError

    cfg = load_encoder_config("econt_chip_arithmetic")
    with pytest.raises(ConfigError, match="econt_chip.yaml"):
        export_hls_project(build_encoder(cfg), cfg, tmp_path / "chip", "Vitis")
    assert not (tmp_path / "chip").exists()
