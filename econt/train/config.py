"""Training configuration (``configs/train/*.yaml``), validated into dataclasses.

Relative paths in the file are resolved against the file's folder (:mod:`econt.config`), so a
config works from any working directory; the relative defaults of the dataclasses name the kit's
own files (inside the package). ``None`` paths mean "the kit's default" (the EMD stage's model,
the shared reference vectors, ``build/train``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from econt.config import kit_config_path, load_config
from econt.errors import ConfigError
from econt.paths import kit_data

LossName = Literal["mse", "telescope", "emd_cnn", "exact_emd"]


@dataclass(frozen=True)
class DataSection:
    #: "stage": the data stage's splits (build/data/{train,val,test}.npz, written by `econt run data`);
    #: "synthetic": generate with econt.data.synthetic; "file": a saved Dataset (.npz), split here.
    source: Literal["stage", "synthetic", "file"] = "stage"
    path: Optional[Path] = None
    #: samples generated (synthetic), or the cap on samples used (file / stage, over all splits; 0 = all).
    n_samples: int = 60000
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)


@dataclass(frozen=True)
class FitSection:
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 2e-3
    #: epochs without val_loss improvement before early stopping (best weights restored).
    patience: int = 6
    min_delta: float = 0.0
    #: learning rate × this factor after ``lr_patience`` epochs on a plateau (1.0 = off).
    lr_factor: float = 0.5
    lr_patience: int = 3
    #: what early stopping, the restored best checkpoint and the learning-rate plateau watch,
    #: for every loss alike: "loss" = the validation loss (for emd_cnn its pure EMD-CNN term),
    #: "exact_emd" = the mean exact EMD of the validation reconstructions (econt.train.refit).
    monitor: Literal["loss", "exact_emd"] = "loss"
    #: what the decoder learns to reproduce: "charges" = the module's charge map normalised like
    #: the input but at full precision (what the EMD is judged against); "input" = the network's
    #: own input, truncated to the input precision as the chip does (cells below 2**-7 of the
    #: sum's leading power of two read as 0).
    target: Literal["charges", "input"] = "charges"
    #: training batches run per call into the compiled TensorFlow graph (Keras
    #: ``steps_per_execution``). The same batches in the same order, so the same weights (checked:
    #: identical losses to the last digit); measured 5.2 s → 2.2 s per 70k-sample epoch here,
    #: because Python runs once per 32 steps instead of once per step.
    steps_per_execution: int = 32


@dataclass(frozen=True)
class EmdCnnSection:
    #: EMD-CNN model folder or file; None → the EMD stage's default (build/emd/cnn/).
    model_path: Optional[Path] = None
    #: weight of the weighted-MSE term at epoch 0; decays linearly to 0 at ``mse_decay_epochs``.
    mse_weight_start: float = 1.0
    mse_decay_epochs: int = 4
    #: brings the weighted MSE of unit-sum maps (~1e-4) to the EMD's scale (~1).
    mse_scale: float = 1000.0
    #: initialise the EMD-CNN-loss model from the trained telescope model when that loss
    #: runs first in the same job (cheaper than training from scratch; off by default).
    init_from: Optional[str] = None
    #: active refit of the surrogate on the encoder's own reconstructions (econt.train.refit):
    #: every ``refit_every`` epochs from epoch ``refit_start`` (0 = off), ``refit_pairs`` new
    #: (input, reconstruction) pairs labelled with the exact EMD, plus the most recent earlier ones
    #: (up to ``refit_max_pairs`` reconstruction pairs) and ``refit_anchor_pairs`` module-vs-module pairs,
    #: ``refit_epochs`` epochs at ``refit_learning_rate``.
    refit_every: int = 0
    refit_start: int = 4
    refit_pairs: int = 20000
    refit_anchor_pairs: int = 20000
    refit_epochs: int = 2
    refit_learning_rate: float = 3e-4
    refit_max_pairs: int = 60000


@dataclass(frozen=True)
class RegionSection:
    enabled: bool = True
    #: fine-tuning from the global model, per region.
    epochs: int = 10
    learning_rate: float = 5e-4
    patience: int = 3


@dataclass(frozen=True)
class EvalSection:
    #: evaluate on the real ECON-T vectors and the deployed baseline (skipped, and reported so,
    #: only when the shared reference data is absent and no explicit path is given).
    use_real_vectors: bool = True
    #: ePortRX input words of real crossings; None → ../shared/econt-vectors/testInput.csv (skipped if absent).
    real_vectors: Optional[Path] = None
    #: the deployed encoder/decoder folder (init.yaml, encoder.hdf5, decoder.hdf5); None → shared default.
    deployed_model: Optional[Path] = None
    #: event displays of the best and worst reconstructions (each).
    n_displays: int = 3
    #: samples for the integer-model vs QKeras bit-exactness check (drawn from the data, then
    #: extended by random module sums up to this count).
    bit_exact_samples: int = 100000
    #: the same for each per-region weight set (the arithmetic is identical; fewer stress samples).
    bit_exact_samples_region: int = 20000
    #: EMD worker processes.
    workers: int = 2


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1
    #: the encoder architecture (econt.model.config.EncoderConfig YAML).
    model_config: Path = Path("configs/model/econt_default.yaml")
    #: fields of the model config replaced for this training (e.g. decoder_output_activation);
    #: the saved model_config.yaml records the result.
    model_overrides: dict[str, Any] = field(default_factory=dict)
    losses: tuple[LossName, ...] = ("mse", "telescope", "emd_cnn")
    #: folder name of this job's outputs under build/ and reports/ when out_dir / reports_dir are null.
    output_name: str = "train"
    #: where models go (None → build/<output_name>); the export stage reads build/train from there.
    out_dir: Optional[Path] = None
    #: None → reports/<output_name>.
    reports_dir: Optional[Path] = None
    data: DataSection = field(default_factory=DataSection)
    fit: FitSection = field(default_factory=FitSection)
    emd_cnn: EmdCnnSection = field(default_factory=EmdCnnSection)
    regions: RegionSection = field(default_factory=RegionSection)
    evaluation: EvalSection = field(default_factory=EvalSection)
    #: show tqdm progress bars.
    progress: bool = True

    def validate(self, source: str) -> None:
        if not self.output_name or not self.output_name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"{source}: field 'output_name' = {self.output_name!r} must be a plain folder name "
                              "(letters, digits, '_', '-'), e.g. train_chip_arithmetic.")
        if not self.losses:
            raise ConfigError(f"{source}: field 'losses' is empty; list at least one of mse, telescope, emd_cnn.")
        if len(set(self.losses)) != len(self.losses):
            raise ConfigError(f"{source}: field 'losses' lists a loss twice ({list(self.losses)}); remove the duplicate.")
        split = self.data.split
        if any(f <= 0 for f in split) or abs(sum(split) - 1.0) > 1e-6:
            raise ConfigError(f"{source}: field 'data.split' = {list(split)} must be three positive fractions "
                              "(train, val, test) summing to 1.")
        if self.data.source == "file" and self.data.path is None:
            raise ConfigError(f"{source}: field 'data.path' is required when data.source is 'file'; "
                              "give the .npz written by `econt data`.")
        if self.data.n_samples < 0:
            raise ConfigError(f"{source}: field 'data.n_samples' must be ≥ 0, got {self.data.n_samples}.")
        if self.data.source == "synthetic" and self.data.n_samples < 30:
            raise ConfigError(f"{source}: field 'data.n_samples' = {self.data.n_samples} is too small for a "
                              "train/val/test split; use at least 30.")
        for name in ("epochs", "batch_size", "patience", "lr_patience", "steps_per_execution"):
            if getattr(self.fit, name) < 1:
                raise ConfigError(f"{source}: field 'fit.{name}' must be ≥ 1, got {getattr(self.fit, name)}.")
        if self.fit.learning_rate <= 0:
            raise ConfigError(f"{source}: field 'fit.learning_rate' must be > 0, got {self.fit.learning_rate}.")
        if not 0 < self.fit.lr_factor <= 1:
            raise ConfigError(f"{source}: field 'fit.lr_factor' must be in (0, 1], got {self.fit.lr_factor}.")
        if self.emd_cnn.mse_weight_start < 0 or self.emd_cnn.mse_decay_epochs < 0:
            raise ConfigError(f"{source}: fields 'emd_cnn.mse_weight_start' and 'emd_cnn.mse_decay_epochs' must be ≥ 0.")
        e = self.emd_cnn
        if e.refit_every < 0 or e.refit_start < 0 or e.refit_pairs < 1 or e.refit_anchor_pairs < 0 \
                or e.refit_epochs < 1 or e.refit_learning_rate <= 0 or e.refit_max_pairs < e.refit_pairs:
            raise ConfigError(f"{source}: section 'emd_cnn' needs refit_every ≥ 0 (0 = off), refit_start ≥ 0, "
                              "refit_pairs ≥ 1, refit_anchor_pairs ≥ 0, refit_epochs ≥ 1, refit_learning_rate > 0, "
                              "refit_max_pairs ≥ refit_pairs.")
        if self.emd_cnn.init_from is not None:
            if self.emd_cnn.init_from not in self.losses or "emd_cnn" not in self.losses or \
                    self.losses.index(self.emd_cnn.init_from) > self.losses.index("emd_cnn") or \
                    self.emd_cnn.init_from == "emd_cnn":
                raise ConfigError(f"{source}: field 'emd_cnn.init_from' = {self.emd_cnn.init_from!r} must name a loss "
                                  "listed before 'emd_cnn' in 'losses' (or be null).")
        if self.regions.epochs < 1 or self.regions.learning_rate <= 0 or self.regions.patience < 1:
            raise ConfigError(f"{source}: section 'regions' needs epochs ≥ 1, learning_rate > 0, patience ≥ 1.")
        if self.evaluation.bit_exact_samples < 1 or self.evaluation.bit_exact_samples_region < 1:
            raise ConfigError(f"{source}: fields 'evaluation.bit_exact_samples' and "
                              "'evaluation.bit_exact_samples_region' must be ≥ 1.")
        if self.evaluation.workers < 1:
            raise ConfigError(f"{source}: field 'evaluation.workers' must be ≥ 1.")


def resolve(path: Optional[Path]) -> Optional[Path]:
    """A path of a loaded :class:`TrainConfig`: absolute ones (every path a file or ``--set`` gives)
    unchanged; a relative one is a dataclass default naming a kit file (``configs/model/…``)."""
    if path is None:
        return None
    path = Path(path)
    return path if path.is_absolute() else kit_data(str(path))


DEFAULT_CONFIG = kit_data("configs", "train", "default.yaml")
QUICK_CONFIG = kit_data("configs", "train", "quick.yaml")
#: the same job for the ECON-T silicon's truncating arithmetic (run after the default job by the pipeline)
CHIP_CONFIG = kit_data("configs", "train", "chip_arithmetic.yaml")


def load_train_config(path: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """A training config: ``path`` as given, else the kit's ``configs/train/<name>.yaml``
    (:func:`econt.config.kit_config_path`); the default job's config without ``path``."""
    return load_config(TrainConfig, kit_config_path("train", path or DEFAULT_CONFIG), overrides)
