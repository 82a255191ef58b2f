"""``econt train``: train the autoencoder with the three losses, per-region weights, evaluate, export."""
from __future__ import annotations

import argparse
from pathlib import Path

from econt.cli import parse_set_overrides


def _run(args: argparse.Namespace) -> int:
    from econt.train.stage import DEFAULT_CONFIG, QUICK_CONFIG, load_train_config, run_training

    path = Path(args.config) if args.config else (QUICK_CONFIG if args.quick else DEFAULT_CONFIG)
    overrides = parse_set_overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.losses:
        overrides["losses"] = [s.strip() for s in args.losses.split(",") if s.strip()]
    cfg = load_train_config(path, overrides)
    summary = run_training(cfg, config_path=path)
    keys = [k for k in summary if k.startswith(("mean_emd_test_", "ratio_", "bit_exact_", "deployed_mean"))]
    for k in keys:
        print(f"{k}: {summary[k]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train the encoder (MSE, telescope, EMD-CNN losses), per-region weights",
                              description=__doc__)
    p.add_argument("--config", help="training config YAML (default configs/train/default.yaml)")
    p.add_argument("--quick", action="store_true", help="use configs/train/quick.yaml (small, minutes)")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--losses", help="comma-separated subset of mse,telescope,emd_cnn")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config field, dotted (e.g. --set fit.epochs=5); repeatable")
    p.set_defaults(func=_run)
