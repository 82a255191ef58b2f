"""``econt faults rank``: sensitivity of the reconstruction to one upset of each configuration bit."""
from __future__ import annotations

import argparse
from pathlib import Path


def _rank(args: argparse.Namespace) -> int:
    from econt.faults.stage import run_rank

    s = run_rank(build=args.build, out=args.out, n_real=args.real, n_synthetic=args.synthetic,
                 budget_pct=args.budget, seed=args.seed, workers=args.workers, cheap=not args.no_cheap)
    for k in ("bits_ranked", "weight_sets", "protected_bits", "worst_single_upset_emd_loss_pct",
              "selective_over_tmr_config_flops", "target_met", "ranking_agreement", "mask", "seconds"):
        print(f"{k}: {s[k]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("faults", help="configuration-bit fault sensitivity and protection masks",
                              description=__doc__)
    sub = p.add_subparsers(dest="faults_command", metavar="ACTION", required=True)
    r = sub.add_parser("rank", help="exhaustive single-upset EMD ranking of every exported weight set + mask")
    r.add_argument("--build", type=Path, default=None, help="folder holding export*/ (default build/)")
    r.add_argument("--out", type=Path, default=None, help="report folder (default reports/faults)")
    r.add_argument("--real", type=int, default=1000, help="real ECON-T crossings in the evaluation set (default 1000)")
    r.add_argument("--synthetic", type=int, default=1000, help="synthetic test events (default 1000)")
    r.add_argument("--budget", type=float, default=1.0,
                   help="protect bits whose single upset costs more than this %% of mean EMD (default 1)")
    r.add_argument("--seed", type=int, default=0, help="seed of the synthetic evaluation events and the sampled checks (default 0)")
    r.add_argument("--workers", type=int, default=2, help="EMD threads (default 2)")
    r.add_argument("--no-cheap", action="store_true", help="skip the gradient (Taylor) ranking")
    r.set_defaults(func=_rank)
