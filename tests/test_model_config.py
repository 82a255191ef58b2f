"""EncoderConfig: defaults = the ECON-T architecture; validation errors name file and field."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from econt.errors import ConfigError
from econt.model.config import EncoderConfig, load_encoder_config
from econt.model.integer import accumulator_widths
from econt.paths import kit_data


def _write(tmp_path: Path, **fields) -> Path:
    base = yaml.safe_load(kit_data("configs", "model", "econt_default.yaml").read_text())
    base.update(fields)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(base))
    return path


def test_default_is_econt_architecture() -> None:
    cfg = load_encoder_config()
    assert cfg == EncoderConfig()                  # YAML and dataclass defaults agree
    assert cfg.input_shape == (8, 8, 1) and cfg.conv_out_hw == (4, 4) and cfg.flat_dim == 128
    assert cfg.n_params == 2144                    # the chip's 2,144 parameters
    assert (cfg.input_frac, cfg.weight_frac, cfg.conv_act_frac, cfg.latent_frac) == (7, 5, 7, 8)
    acc = accumulator_widths(cfg)
    assert (acc["conv_acc_bits"], acc["dense_acc_bits"]) == (18, 21)
    assert (acc["conv_acc_min"], acc["dense_acc_min"]) == (-77_536, -1_048_576)


def test_443_alternative() -> None:
    cfg = load_encoder_config("econt_443")
    assert cfg.input_shape == (4, 4, 3) and cfg.flat_dim == 128 and cfg.n_params == 2288


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, conv_filter=8)
    with pytest.raises(ConfigError) as exc:
        load_encoder_config(path)
    assert str(path) in str(exc.value) and "conv_filter" in str(exc.value)


@pytest.mark.parametrize("field,value", [("weight_bits", 1), ("weight_bits", 40), ("latent_bits", 0),
                                         ("input_integer", 8), ("weight_integer", 6), ("conv_kernel", 4),
                                         ("conv_filters", 0), ("conv_act_bits", 16)])
def test_bad_width_names_file_and_field(tmp_path: Path, field: str, value: int) -> None:
    path = _write(tmp_path, **{field: value})
    with pytest.raises(ConfigError) as exc:
        load_encoder_config(path)
    msg = str(exc.value)
    assert str(path) in msg and field in msg


def test_wrong_type_and_choice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="latent_dim"):
        load_encoder_config(_write(tmp_path, latent_dim="sixteen"))
    with pytest.raises(ConfigError, match="arrangement"):
        load_encoder_config(_write(tmp_path, arrangement="6x6x3"))
