"""The Optuna study of a sweep: storage, seeded sampler, and a trial's sampled design.

Storage: ``StudyConfig.storage`` (any Optuna storage URL, e.g. ``postgresql+psycopg://…`` shared
by workers on many machines) or, when null, a journal file ``build/sweep/<name>/study.journal``
that a later run resumes. Trials of one seed draw the same designs (the sampler is seeded).
"""
from __future__ import annotations

from dataclasses import dataclass
import time
from pathlib import Path
from typing import Any

from econt.errors import ConfigError
from econt.paths import work_dir
from econt.sweep.config import OBJECTIVE_DIRECTIONS, StudyConfig, encoder_config, output_capacity_bits


@dataclass(frozen=True)
class TrialDesign:
    """The design one trial evaluates: model-config fields, RTL-config fields, output-frame fit."""

    encoder: dict[str, Any]
    rtl: dict[str, Any]
    latent_bits_total: int
    capacity_bits: int
    #: why no encoder has these widths together ("" when valid): such a trial is pruned unrun
    invalid_reason: str = ""

    @property
    def output_fits(self) -> bool:
        return self.latent_bits_total <= self.capacity_bits


ENCODER_FIELDS = ("weight_bits", "input_bits", "conv_act_bits", "latent_bits", "conv_filters", "latent_dim",
                  "arithmetic")
RTL_FIELDS = ("tmr", "pipeline_stages", "cfg_storage", "arithmetic")
#: every searched field, in report order
DESIGN_FIELDS = ENCODER_FIELDS + ("tmr", "pipeline_stages", "cfg_storage")


def sample_design(trial: Any, cfg: StudyConfig) -> TrialDesign:
    """Draw every searched field (one-choice fields are fixed, recorded as trial attributes)."""
    chosen: dict[str, Any] = {}
    for name in DESIGN_FIELDS:
        choices = list(getattr(cfg.space, name))
        if len(choices) > 1:
            chosen[name] = trial.suggest_categorical(name, choices)
        else:
            chosen[name] = choices[0]
            trial.set_user_attr(name, choices[0])
    enc = {k: chosen[k] for k in ENCODER_FIELDS}
    rtl = {k: chosen[k] for k in RTL_FIELDS}
    rtl["clock_mhz"] = cfg.clock_mhz
    reason = ""
    try:
        encoder_config(**enc).validate(f"study '{cfg.name}', trial {trial.number}")
    except ConfigError as exc:
        reason = str(exc)
    return TrialDesign(encoder=enc, rtl=rtl, latent_bits_total=enc["latent_dim"] * enc["latent_bits"],
                       capacity_bits=output_capacity_bits(cfg.n_etx), invalid_reason=reason)


def storage_url(cfg: StudyConfig) -> str:
    return cfg.storage or str(work_dir("sweep", cfg.name) / "study.journal")


def make_storage(url: str, heartbeat_s: int = 30, grace_s: int = 90) -> Any:
    """An Optuna storage: a journal file for a plain path, else Optuna's RDB storage with a
    heartbeat so a killed worker's running trial is marked failed (and retried once)."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend

    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    from sqlalchemy.exc import IntegrityError

    try:
        # Workers started together on an empty database race to create Optuna's schema; the
        # loser's CREATE TYPE fails with a unique violation, and the schema is then there.
        for attempt in range(3):
            try:
                return RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=grace_s,
                                  heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
            except IntegrityError:
                if attempt == 2:
                    raise
                time.sleep(0.5 * (attempt + 1))
    except (optuna.exceptions.StorageInternalError, ImportError, ValueError, IntegrityError) as exc:
        raise ConfigError(f"sweep storage {url!r}: cannot open ({exc}). Give a reachable database URL "
                          "(postgresql+psycopg://user@host/db) or leave storage null for a local file.") from exc


def make_sampler(cfg: StudyConfig) -> Any:
    import optuna

    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=cfg.seed, constraints_func=trial_constraints)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=cfg.seed, multivariate=True, constraints_func=trial_constraints)
    return optuna.samplers.RandomSampler(seed=cfg.seed)


def trial_constraints(trial: Any) -> list[float]:
    """Optuna constraint values (≤ 0 = met): the setup-slack deficit at the study clock."""
    return list(trial.user_attrs.get("constraints", [0.0]))


def open_study(cfg: StudyConfig, storage: str | None = None, study_name: str | None = None) -> Any:
    """Create the study or load it when it exists in the storage (resume)."""
    import optuna

    url = storage or storage_url(cfg)
    storage = make_storage(url, cfg.heartbeat_s, cfg.grace_s)
    return optuna.create_study(study_name=study_name or cfg.name, storage=storage,
                               sampler=make_sampler(cfg), load_if_exists=True,
                               directions=[OBJECTIVE_DIRECTIONS[o] for o in cfg.objectives])
