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


def _run(args: argparse.Namespace) -> int:
    from econt.sweep.config import load_study_config
    from econt.sweep.run import run_worker, write_reports

    cfg = load_study_config(args.config)
    study = run_worker(cfg, storage=args.storage, study_name=args.study, max_trials=args.max_trials)
    s = write_reports(cfg, study)
    print(f"study {study.study_name}: {s['n_trials']} trials, {s['n_complete']} complete, "
          f"{s['n_pruned']} pruned, {s['n_failed']} failed; front {[r['trial'] for r in s['front']]} "
          "→ reports/sweep/summary.json")
    return 0


def _report(args: argparse.Namespace) -> int:
    from econt.sweep.config import load_study_config
    from econt.sweep.run import write_reports
    from econt.sweep.study import open_study

    cfg = load_study_config(args.config)
    s = write_reports(cfg, open_study(cfg, storage=args.storage, study_name=args.study))
    print(f"{s['n_trials']} trials, {s['n_complete']} complete → reports/sweep/summary.json")
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
    for name, func, text in (("run", _run, "run trials in this process, then write reports/sweep"),
                             ("worker", _run, "one worker of a shared study (same as run; start many)"),
                             ("report", _report, "write reports/sweep from the study's storage")):
        w = s.add_parser(name, help=text)
        w.add_argument("config", nargs="?", default="default", help="configs/sweep/<name>.yaml or a bare name")
        w.add_argument("--storage", default=None, help="Optuna storage URL, e.g. postgresql+psycopg://user@host/db "
                                                       "(default: a journal file under build/sweep/<name>/)")
        w.add_argument("--study", default=None, help="study name in the storage (default: the config's name)")
        if name != "report":
            w.add_argument("--max-trials", type=int, default=None, help="at most this many trials in this process")
        w.set_defaults(func=func)
