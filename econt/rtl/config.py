"""``RtlConfig``: one generated design (``configs/rtl/*.yaml``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from econt.config import kit_config_path, load_config
from econt.errors import ConfigError

MAX_PIPELINE_STAGES = 4
#: bytes of configuration per clock gate; "block" = one I2C block (134 bytes in the ECON-T map)
CFG_GATE_GROUP_BYTES: dict[str, int | None] = {"byte": 1, "word": 4, "block": None}


@dataclass(frozen=True)
class RtlConfig:
    """What to generate.

    ``pipeline_stages`` (1..4) = latency in clock cycles from ``in_valid`` to
    ``out_valid``; the registers go, in this order of preference, at the output,
    after the convolution, after the normalisation and at the input.
    """

    name: str = "econt_default"
    model_config: str = "econt_default"       # configs/model/<name>.yaml (EncoderConfig)
    # "selective": the configuration bits listed in ``protection_mask`` are TMR groups (voted and
    # repaired as with "config"), every other bit a single register (see econt.faults).
    tmr: Literal["none", "config", "full", "selective"] = "none"
    # protection mask JSON (written by `econt faults rank`; relative to this config file), tmr: selective only
    protection_mask: Optional[Path] = None
    weights: Literal["reconfigurable", "hardwired"] = "reconfigurable"
    hardwired_weights: Optional[str] = None   # weights JSON (econt.export.save_weights_json) for 'hardwired'
    pipeline_stages: int = 2
    calq_bits: int = 22                       # calibrated charge width at the encoder input
    # "qkeras": bit-exact with the trained QKeras model; "chip": the ECON-T's truncating
    # products (reproduces the emulator's test vectors). See econt.model.integer.
    arithmetic: Literal["qkeras", "chip"] = "qkeras"
    clock_mhz: float = 40.0
    # How the configuration registers are clocked. "refresh": every flop on the free-running clock
    # (tmr=none: load enable per byte; TMR: every copy reloads the voted value on every edge).
    # "gated": each group of registers is clocked through an integrated clock gate
    # (module econt_clock_gate, mapped to the PDK's ICG cell in synthesis) only on a write to the
    # group or, with TMR, when its three copies disagree (the next edge loads the voted value).
    cfg_storage: Literal["refresh", "gated"] = "refresh"   # gated becomes the default once the ASIC figures show it wins
    # Registers per clock gate for cfg_storage: gated: "byte" (1 byte), "word" (4 bytes) or "block"
    # (one 134-byte I2C block). econt.rtl.gating measures the options (not yet run for the choice).
    cfg_gate_group: Literal["byte", "word", "block"] = "block"

    def validate(self, source: str = "<RtlConfig>") -> None:
        if not 1 <= self.pipeline_stages <= MAX_PIPELINE_STAGES:
            raise ConfigError(f"{source}: field 'pipeline_stages' is {self.pipeline_stages}; "
                              f"use 1..{MAX_PIPELINE_STAGES} (cycles of latency).")
        if self.weights == "hardwired" and self.tmr == "config":
            raise ConfigError(f"{source}: field 'tmr' is 'config' but weights are 'hardwired' (no configuration "
                              "registers to triplicate). Use tmr: none or full, or weights: reconfigurable.")
        if self.tmr not in ("none", "config", "full", "selective"):
            raise ConfigError(f"{source}: field 'tmr' is {self.tmr!r}; use none, config, full or selective.")
        if self.tmr == "selective" and (self.weights == "hardwired" or not self.protection_mask):
            raise ConfigError(f"{source}: field 'tmr' is 'selective', which needs weights: reconfigurable and "
                              "field 'protection_mask' (a mask JSON written by `econt faults rank`, e.g. "
                              "reports/faults/protection_mask.json).")
        if self.protection_mask and self.tmr != "selective":
            raise ConfigError(f"{source}: field 'protection_mask' is set but 'tmr' is {self.tmr!r}; use tmr: selective "
                              "or drop the mask.")
        if self.weights == "hardwired" and not self.hardwired_weights:
            raise ConfigError(f"{source}: field 'hardwired_weights' is required when weights: hardwired "
                              "(path of a weights JSON written by the export stage).")
        if self.cfg_storage not in ("refresh", "gated"):
            raise ConfigError(f"{source}: field 'cfg_storage' is {self.cfg_storage!r}; use refresh or gated.")
        if self.cfg_gate_group not in CFG_GATE_GROUP_BYTES:
            raise ConfigError(f"{source}: field 'cfg_gate_group' is {self.cfg_gate_group!r}; use "
                              f"{', '.join(CFG_GATE_GROUP_BYTES)} (registers per clock gate).")
        if not 8 <= self.calq_bits <= 32:
            raise ConfigError(f"{source}: field 'calq_bits' is {self.calq_bits}; use 8..32.")
        if not (self.clock_mhz > 0 and self.clock_mhz < 1e5):
            raise ConfigError(f"{source}: field 'clock_mhz' is {self.clock_mhz}; give the clock frequency in MHz, "
                              "> 0 (the ECON-T runs at 40).")
        if not self.name.replace("_", "").isalnum():
            raise ConfigError(f"{source}: field 'name' is {self.name!r}; use letters, digits and '_' only "
                              "(it names the design folder).")


def rtl_config_path(name_or_path: str | Path) -> Path:
    """The design config file ``name_or_path`` (a bare name: the kit's ``configs/rtl/<name>.yaml``)."""
    return kit_config_path("rtl", name_or_path)


def load_rtl_config(path: str | Path, overrides: dict | None = None) -> RtlConfig:
    return load_config(RtlConfig, rtl_config_path(path), overrides)
