"""``econt sweep``: design-space studies (``configs/sweep/*.yaml``).

``econt sweep check CONFIG``: validate the study, open (or resume) its storage and print the
search space and the trials already stored.
"""
from __future__ import annotations

import argparse
import math


def _check(args: argparse.Namespace) -> int:
    from econt.sweep.config import load_study_config, output_capacity_bits
    from econt.sweep.study import open_study, storage_url

    cfg = load_study_config(args.config)
    space = {k: v for k, v in vars(cfg.space).items() if v is not None}
    size = math.prod(len(v) for v in space.values())
    print(f"study {cfg.name}: {len(cfg.objectives)} objectives ({', '.join(cfg.objectives)}), pdk {cfg.pdk}, "
          f"seed {cfg.seed}, sampler {cfg.sampler}, {cfg.n_trials} trials")
    for k, v in space.items():
        print(f"  {k:16s} {list(v)}")
    print(f"  {size} designs in the space; output frame carries {output_capacity_bits(cfg.n_etx)} latent bits "
          f"({cfg.n_etx} eTx)")
    url = args.storage or storage_url(cfg)
    study = open_study(cfg, storage=url, study_name=args.study)
    print(f"storage {url}: study '{study.study_name}' holds {len(study.trials)} trials")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="design-space exploration studies (configs/sweep)",
                       description="Design-space exploration: reconstruction quality against silicon cost.")
    s = p.add_subparsers(dest="sweep_command", metavar="ACTION")
    c = s.add_parser("check", help="validate a study config and open its storage")
    c.add_argument("config", help="configs/sweep/<name>.yaml or a bare name (tiny, default)")
    c.add_argument("--storage", default=None, help="Optuna storage URL (default: the study's, or a journal file "
                                                   "under build/sweep/<name>/)")
    c.add_argument("--study", default=None, help="study name in the storage (default: the config's name)")
    c.set_defaults(func=_check)
