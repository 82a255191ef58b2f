"""HLS path: the trained QKeras encoder as an hls4ml project (Vitis or Catapult backend).

Explicit fixed-point types make the HLS C++ bit-exact with the QKeras model (and with the
golden ``IntegerEncoder(arithmetic="qkeras")``): the input is ``ap_ufixed<in_bits, in_int>``;
every accumulator is wide enough to hold any sum exactly (``accumulator_widths``); the two
quantised ReLUs are ``ap_ufixed<bits, int, AP_RND_CONV, AP_SAT>`` (round half to even,
saturate, as QKeras). The C simulation (``hls_model.compile()`` + ``predict``: g++ builds the
HLS C++ with the ``ap_fixed`` headers hls4ml ships) is cross-checked against the golden model.
The kit's own Verilog stays the path to the open flows; this project is for users with a
commercial HLS tool (needs the ``hls`` extra: ``pip install -e '.[hls]'``).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from econt.errors import ConfigError, ToolError


@contextlib.contextmanager
def _keras2_as_keras() -> Iterator[None]:
    """hls4ml does ``import keras`` and picks its Keras 3 parser for keras >= 3; the QKeras
    models here are Keras 2 (tf_keras), so alias it while hls4ml runs, then restore."""
    import tf_keras

    old = sys.modules.get("keras")
    sys.modules["keras"] = tf_keras
    try:
        yield
    finally:
        if old is None:
            sys.modules.pop("keras", None)
        else:
            sys.modules["keras"] = old


def _hls4ml() -> Any:
    import econt  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

    try:
        with _keras2_as_keras():
            import hls4ml
    except ImportError as exc:
        raise ToolError(f"hls4ml is not installed ({exc}). Install the 'hls' extra: pip install -e '.[hls]'.") from exc
    return hls4ml


def hls_config(model: Any, cfg: Any, backend: str) -> dict:
    """hls4ml per-layer config with explicit, bit-exact precisions."""
    from econt.model.integer import accumulator_widths

    hls4ml = _hls4ml()
    with _keras2_as_keras():
        conf = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    acc = accumulator_widths(cfg, "qkeras")
    conv_acc = f"ap_fixed<{acc['conv_acc_bits']},{acc['conv_acc_bits'] - acc['conv_acc_frac']}>"
    dense_acc = f"ap_fixed<{acc['dense_acc_bits']},{acc['dense_acc_bits'] - acc['dense_acc_frac']}>"
    in_t = f"ap_ufixed<{cfg.input_bits},{cfg.input_integer}>"
    act_t = f"ap_ufixed<{cfg.conv_act_bits},{cfg.conv_act_integer},AP_RND_CONV,AP_SAT>"
    lat_t = f"ap_ufixed<{cfg.latent_bits},{cfg.latent_integer},AP_RND_CONV,AP_SAT>"
    layers = conf["LayerName"]
    for name, lc in layers.items():
        prec = lc.setdefault("Precision", {})
        if not isinstance(prec, dict):
            prec = lc["Precision"] = {"default": prec}
        if name in ("input_1", "input_qa"):
            prec["result"] = in_t
        elif name == "conv2d":
            prec.update(accum=conv_acc, result=conv_acc)
        elif name == "accum1_qa":
            prec["result"] = act_t
        elif name == "flatten":
            prec["result"] = act_t
        elif name == "encoded_vector":
            prec.update(accum=dense_acc, result=dense_acc)
        elif name == "encod_qa":
            prec["result"] = lat_t
        lc["Trace"] = False
    # hls4ml inserts a linear activation after QConv2D / QDense (names <layer>_linear) with the
    # model's default precision (ap_fixed<16,6>), which would drop accumulator bits: keep them exact.
    layers["conv2d_linear"] = {"Precision": {"result": conv_acc}, "Trace": False}
    layers["encoded_vector_linear"] = {"Precision": {"result": dense_acc}, "Trace": False}
    conf["Model"]["Strategy"] = "Latency"
    return conf


def export_hls_project(model: Any, cfg: Any, out_dir: str | Path, backend: str = "Vitis") -> Any:
    """Convert the QKeras encoder to an hls4ml project in ``out_dir`` (written; returns the HLS model)."""
    if backend not in ("Vitis", "Catapult"):
        raise ToolError(f"HLS backend {backend!r}: use 'Vitis' or 'Catapult'.")
    if getattr(cfg, "arithmetic", "qkeras") != "qkeras":
        raise ConfigError(f"model config '{cfg.name}': arithmetic is {cfg.arithmetic!r}; hls4ml builds QKeras "
                          "arithmetic (exact sums) only. Generate the chip's truncating arithmetic with the kit's "
                          "RTL generator (configs/rtl/econt_chip.yaml) instead.")
    hls4ml = _hls4ml()
    conf = hls_config(model, cfg, backend)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kw: dict[str, Any] = {"hls_config": conf, "output_dir": str(out), "backend": backend,
                          "io_type": "io_parallel", "project_name": "econt_encoder"}
    with _keras2_as_keras():
        hmodel = hls4ml.converters.convert_from_keras_model(model, **kw)
        hmodel.write()
    return hmodel


def csim_latent_codes(hmodel: Any, cfg: Any, codes: np.ndarray) -> np.ndarray:
    """C simulation (g++ build of the HLS C++) on input codes → latent codes (ints)."""
    from econt.model.qkeras_model import cells_to_input

    hmodel.compile()
    x = np.ascontiguousarray(cells_to_input(codes.astype(np.float64) / 2.0 ** cfg.input_frac, cfg), dtype=np.float64)
    y = np.asarray(hmodel.predict(x), dtype=np.float64).reshape(len(codes), -1)
    scaled = y * 2.0 ** cfg.latent_frac
    return np.rint(scaled).astype(np.int64)
