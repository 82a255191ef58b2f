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


def _seu(args: argparse.Namespace) -> int:
    from econt.faults.seu_check import run_check

    d = run_check(weight_set=args.weights, mask=args.mask, out=args.out, n_protected=args.protected,
                  n_unprotected=args.unprotected, window=args.window, n_real=args.real,
                  n_synthetic=args.synthetic, cfg_storage=args.storage, seed=args.seed)
    for k in ("design", "protected_upsets", "protected_outputs_corrupted", "unprotected_bits", "predicted_loss_pct",
              "measured_loss_pct", "pearson", "max_rel_error", "config_flops", "sim_seconds"):
        print(f"{k}: {d[k]}")
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
    s = sub.add_parser("seu", help="SEU campaign on the tmr=selective design (Icarus), scored against the ranking")
    s.add_argument("--weights", default="export__emd_cnn__global",
                   help="weight set (a folder name under reports/faults, default export__emd_cnn__global)")
    s.add_argument("--mask", type=Path, default=None, help="protection mask (default reports/faults/protection_mask.json)")
    s.add_argument("--out", type=Path, default=None, help="report folder (default reports/faults)")
    s.add_argument("--protected", type=int, default=1000, help="upsets of protected copies (default 1000)")
    s.add_argument("--unprotected", type=int, default=8, help="worst-ranked unprotected bits upset (default 8)")
    s.add_argument("--window", type=int, default=200, help="events per unprotected upset (default 200)")
    s.add_argument("--real", type=int, default=1000, help="real ECON-T crossings in the evaluation set (default 1000)")
    s.add_argument("--synthetic", type=int, default=1000, help="synthetic test events (default 1000)")
    s.add_argument("--storage", choices=("refresh", "gated"), default="refresh", help="configuration storage (default refresh)")
    s.add_argument("--seed", type=int, default=0, help="seed of the upset draws (default 0)")
    s.set_defaults(func=_seu)
