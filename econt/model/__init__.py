"""ECON-T encoder model: config, QKeras/float models, bit-exact integer model.

Public API (docs/contracts.md): ``econt.model.config.EncoderConfig``,
``econt.model.qkeras_model.build_encoder/build_decoder/build_autoencoder``,
``econt.model.integer.IntegerWeights/extract_integer_weights/IntegerEncoder``.
TensorFlow is imported only by the functions that need it.
"""
from __future__ import annotations

from econt.model.config import EncoderConfig, load_encoder_config

__all__ = ["EncoderConfig", "load_encoder_config"]
