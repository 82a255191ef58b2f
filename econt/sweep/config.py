"""Study configuration of a design-space sweep (``configs/sweep/*.yaml``), validated on load.

A study names the search space (every field a list of choices: the encoder's bit widths,
filters, latent count and arithmetic; the RTL's TMR option, configuration storage and pipeline
stages), the training schedule of one trial, the PDK the cost is measured on, the objectives
and the constraints. Every choice is checked here against the same rules the model and RTL
configs apply (``EncoderConfig.validate``, ``RtlConfig.validate``), so a bad study fails on load
with the file, the field and the fix, not in trial 37.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from econt.config import kit_config_path, load_config
from econt.errors import ConfigError

Objective = Literal["emd_real", "emd_test", "energy_nj", "area_mm2"]
#: the direction of every objective (all are minimised)
OBJECTIVE_DIRECTIONS = {"emd_real": "minimize", "emd_test": "minimize", "energy_nj": "minimize",
                        "area_mm2": "minimize"}


@dataclass(frozen=True)
class SearchSpace:
    """Choices per field; a field with one choice is fixed. Defaults: the deployed ECON-T."""

    weight_bits: tuple[int, ...] = (6,)        # weights and biases share the register field width
    input_bits: tuple[int, ...] = (8,)
    conv_act_bits: tuple[int, ...] = (8,)      # the conv accumulator's requantised width
    latent_bits: tuple[int, ...] = (9,)
    conv_filters: tuple[int, ...] = (8,)
    latent_dim: tuple[int, ...] = (16,)
    arithmetic: tuple[Literal["qkeras", "chip"], ...] = ("qkeras",)
    tmr: tuple[Literal["none", "config", "full"], ...] = ("none",)
    pipeline_stages: tuple[int, ...] = (2,)
    #: configuration-register clocking (econt.rtl.config.RtlConfig.cfg_storage): refresh | gated
    cfg_storage: tuple[Literal["refresh", "gated"], ...] = ("refresh",)


@dataclass(frozen=True)
class TrainingSection:
    """The QAT schedule of one trial (one loss, no per-region fine-tunes)."""

    loss: Literal["mse", "telescope", "emd_cnn"] = "telescope"
    data_source: Literal["stage", "synthetic"] = "synthetic"
    n_samples: int = 20000
    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 0.004
    patience: int = 5
    #: what early stopping and the kept checkpoint watch: the validation exact EMD (as the training
    #: stage), or the validation loss (for degenerate tiny encoders whose all-zero reconstructions
    #: leave the exact EMD undefined)
    monitor: Literal["exact_emd", "loss"] = "exact_emd"


@dataclass(frozen=True)
class CheckSection:
    """Sizes of the per-trial checks."""

    bit_exact_samples: int = 2000   # integer model vs QKeras stress samples (+ every test/real sample)
    sim_samples: int = 200          # RTL simulation against the golden model


@dataclass(frozen=True)
class StudyConfig:
    name: str = "econt_sweep"
    seed: int = 1
    n_trials: int = 20
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2"
    #: PDK of the cost axes (econt/asic/pdk_configs/<name>.yaml); a real library, not a derived estimate
    pdk: str = "sky130hd"
    #: eTx links the output frame may use (ECON-T: 5); constrains latent_dim × latent_bits
    n_etx: int = 5
    clock_mhz: float = 40.0
    objectives: tuple[Objective, ...] = ("emd_real", "emd_test", "energy_nj", "area_mm2")
    #: Optuna storage URL; null → a journal file under build/sweep/<name>/ (resumable)
    storage: Optional[str] = None
    #: database storage: a worker's running trial beats every heartbeat_s; one silent for grace_s
    #: (its worker was killed) is marked failed by the next worker and retried once
    heartbeat_s: int = 30
    grace_s: int = 90
    space: SearchSpace = field(default_factory=SearchSpace)
    training: TrainingSection = field(default_factory=TrainingSection)
    checks: CheckSection = field(default_factory=CheckSection)

    def validate(self, source: str) -> None:
        def fail(where: str, msg: str) -> None:
            raise ConfigError(f"{source}: field '{where}' {msg}")

        if not self.name.replace("_", "").replace("-", "").isalnum():
            fail("name", f"is {self.name!r}; use letters, digits, '_' and '-' (it names the study and its folder).")
        if self.n_trials < 1:
            fail("n_trials", f"is {self.n_trials}; run at least 1 trial.")
        if not self.objectives or len(set(self.objectives)) != len(self.objectives):
            fail("objectives", f"is {list(self.objectives)}; list each of {', '.join(OBJECTIVE_DIRECTIONS)} at most once.")
        if not 1 <= self.heartbeat_s < self.grace_s:
            fail("grace_s", f"is {self.grace_s} with heartbeat_s {self.heartbeat_s}; use 1 ≤ heartbeat_s < grace_s "
                            "(seconds; a trial silent for grace_s is failed).")
        if self.clock_mhz <= 0:
            fail("clock_mhz", f"is {self.clock_mhz}; give the clock in MHz (ECON-T: 40).")
        from econt.asic.pdk import load_pdk_config, pdk_config_path

        if not pdk_config_path(self.pdk).is_file():
            fail("pdk", f"is {self.pdk!r}; no {pdk_config_path(self.pdk)}. Use one of "
                        f"{', '.join(p.stem for p in sorted(pdk_config_path('x').parent.glob('*.yaml')))}.")
        if load_pdk_config(self.pdk).kind != "library":
            fail("pdk", f"is {self.pdk!r}, a derived estimate; the sweep's cost comes from a real library's "
                        "synthesis and gate-level power. Use sky130hd or nangate45.")
        from econt.verify.conformance.formatter import MAX_ETX

        if not 1 <= self.n_etx <= MAX_ETX:
            fail("n_etx", f"is {self.n_etx}; the ECON-T has 1..{MAX_ETX} eTx links.")
        self._validate_space(source, fail)
        t = self.training
        for name in ("n_samples", "epochs", "batch_size", "patience"):
            if getattr(t, name) < 1:
                fail(f"training.{name}", f"is {getattr(t, name)}; it must be ≥ 1.")
        if t.data_source == "synthetic" and t.n_samples < 30:
            fail("training.n_samples", f"is {t.n_samples}; a train/val/test split needs at least 30 samples.")
        if t.learning_rate <= 0:
            fail("training.learning_rate", f"is {t.learning_rate}; it must be > 0.")
        if self.checks.bit_exact_samples < 1 or self.checks.sim_samples < 20:
            fail("checks", "needs bit_exact_samples ≥ 1 and sim_samples ≥ 20 (the RTL stimulus mixes "
                           "synthetic events and extremes).")

    def _validate_space(self, source: str, fail) -> None:
        from econt.rtl.config import MAX_PIPELINE_STAGES

        s = self.space
        for name in ("weight_bits", "input_bits", "conv_act_bits", "latent_bits", "conv_filters", "latent_dim",
                     "arithmetic", "tmr", "pipeline_stages", "cfg_storage"):
            values = getattr(s, name)
            if not values:
                fail(f"space.{name}", "is empty; give at least one choice (one choice = fixed).")
            if len(set(values)) != len(values):
                fail(f"space.{name}", f"lists a choice twice ({list(values)}); remove the duplicate.")
        for v in s.pipeline_stages:
            if not 1 <= v <= MAX_PIPELINE_STAGES:
                fail("space.pipeline_stages", f"has {v}; use 1..{MAX_PIPELINE_STAGES} cycles of latency.")
        for name in ("conv_filters", "latent_dim"):
            for v in getattr(s, name):
                if v < 1:
                    fail(f"space.{name}", f"has {v}; it must be ≥ 1.")
        # every bit-width choice must make a valid encoder with some choice of the other widths
        # (integer bits as the ECON-T: inputs, activations and latents 1, weights 0); a sampled
        # combination that no encoder accepts is pruned before any work (econt.sweep.study)
        import itertools

        widths = ("weight_bits", "input_bits", "conv_act_bits", "latent_bits")
        valid: list[dict] = []
        last_error = ""
        for combo in itertools.product(*(getattr(s, n) for n in widths)):
            fields = dict(zip(widths, combo))
            try:
                encoder_config(**fields).validate("<sweep>")
                valid.append(fields)
            except ConfigError as exc:
                last_error = str(exc).split(": ", 1)[-1]
        # with no valid combination at all, name the field the encoder's own check names
        order = sorted(widths, key=lambda n: f"'{n}'" not in last_error) if not valid else widths
        for name in order:
            for v in getattr(s, name):
                if not any(f[name] == v for f in valid):
                    fail(f"space.{name}", f"has {v}, which no encoder of this space accepts ({last_error}) "
                                          "Remove that choice or widen the others.")
        cap = output_capacity_bits(self.n_etx)
        for d in s.latent_dim:
            if d * min(s.latent_bits) > cap:
                fail("space.latent_dim", f"has {d}: {d} latents × {min(s.latent_bits)} bits exceed the {cap} latent "
                                         f"bits {self.n_etx} eTx links carry. Lower latent_dim or raise n_etx.")


def output_capacity_bits(n_etx: int) -> int:
    """Latent bits the ECON-T output frame carries: the 144-bit algorithm field, and of it only
    what ``n_etx`` links send after the BX counter and module sum (``18 + 32·(n_etx − 1)``)."""
    from econt.verify.conformance.formatter import LATENT_FIELD_BITS, data_bits_for

    return min(LATENT_FIELD_BITS, data_bits_for(n_etx))


def encoder_config(**fields):
    """An ``EncoderConfig`` with the ECON-T's integer bits, biases as wide as the weights (one
    register field width), and the given fields; not yet validated."""
    from econt.model.config import EncoderConfig

    fields = dict(fields)
    if "weight_bits" in fields:
        fields.setdefault("bias_bits", fields["weight_bits"])
    return EncoderConfig(**{"name": "sweep_trial", **fields})


def study_config_path(name_or_path: str | Path) -> Path:
    """The study config file ``name_or_path`` (a bare name: the kit's ``configs/sweep/<name>.yaml``)."""
    return kit_config_path("sweep", name_or_path)


def load_study_config(path: str | Path, overrides: dict | None = None) -> StudyConfig:
    return load_config(StudyConfig, study_config_path(path), overrides)
