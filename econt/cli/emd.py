"""``econt emd``: exact EMD of two charge files, EMD-CNN training and evaluation, the stage run."""
from __future__ import annotations

import argparse
from pathlib import Path

from econt.cli import parse_set_overrides


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("emd", help="exact EMD and the EMD-CNN (train, eval, stage)",
                       description="Earth mover's distance: exact (POT) and the learned EMD-CNN used as a training loss.")
    esub = p.add_subparsers(dest="emd_command", metavar="ACTION")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", type=Path, default=None, help="EMD-CNN YAML (default configs/emd/default.yaml)")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set fit.epochs=5 --set pairs.mode=ae")
        sp.add_argument("--seed", type=int, default=None, help="run seed (overrides the config's seed)")
        sp.add_argument("--quick", action="store_true", help="reduced pair counts and epochs (CI-sized)")

    t = esub.add_parser("train", help="build cached pairs, train the EMD-CNN, save model + config + data hash")
    common(t)
    t.add_argument("--out", type=Path, default=None, help="model folder (default from config: build/emd/cnn)")
    t.add_argument("--force", action="store_true", help="retrain even if an identical model is saved")
    t.set_defaults(func=_train)

    e = esub.add_parser("eval", help="evaluate a saved EMD-CNN on held-out pairs, with peers and plots (reports/emd/)")
    common(e)
    e.add_argument("--model", type=Path, default=None, help="model folder or .h5 (default: the config's out_dir)")
    e.set_defaults(func=_eval)

    s = esub.add_parser("stage", help="the make-all EMD stage: train or reuse, evaluate, peers, summary.json")
    s.add_argument("--config", type=Path, default=None, help="EMD-CNN YAML (default configs/emd/default.yaml)")
    s.add_argument("--quick", action="store_true", help="reduced pair counts and epochs (CI-sized)")
    s.add_argument("--force", action="store_true", help="retrain even if an identical model is saved")
    s.set_defaults(func=_stage)

    x = esub.add_parser("exact", help="exact EMD between rows of two .npy/.csv files of (N, 48) charges")
    x.add_argument("a", type=Path, help="first .npy/.csv file of (N, 48) charges")
    x.add_argument("b", type=Path, help="second file, same N rows (EMD row by row)")
    x.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    x.add_argument("--out", type=Path, default=None, help="write the (N,) distances here (.npy or .csv)")
    x.set_defaults(func=_exact)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _config(args: argparse.Namespace):
    from econt.emd.cnn import load_emd_config
    from econt.emd.stage import QUICK_OVERRIDES

    ov = dict(QUICK_OVERRIDES) if args.quick else {}
    ov.update(parse_set_overrides(args.set))
    if args.seed is not None:
        ov["seed"] = args.seed
    if getattr(args, "out", None) is not None:
        ov["out_dir"] = str(Path(args.out).resolve())
    return load_emd_config(args.config, ov)


def _train(args: argparse.Namespace) -> int:
    from econt.emd.stage import train_or_reuse

    cfg = _config(args)
    _, meta, sets, timing = train_or_reuse(cfg, force=args.force)
    print(
        f"EMD-CNN in {cfg.resolved_out_dir()} (data hash {meta['data_hash']}, {meta['n_train_pairs']} pairs; "
        f"pairs {timing['pairs_seconds']:.0f} s, fit {timing['fit_seconds']:.0f} s{', reused' if timing['reused'] else ''})"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from econt.config import write_resolved_config
    from econt.emd.cnn import load_emd_cnn
    from econt.emd.evaluate import merge_json
    from econt.emd.pairs import build_pairs
    from econt.emd.stage import evaluate_stage
    from econt.paths import reports_dir

    cfg = _config(args)
    model = load_emd_cnn(args.model or cfg.resolved_out_dir())
    sets = build_pairs(cfg.pairs, cfg.seed)
    outdir = reports_dir("emd")
    write_resolved_config(outdir, cfg, seed=cfg.seed, name="cnn_resolved_config.yaml")
    summary = evaluate_stage(cfg, model, sets, outdir)
    merge_json(outdir / "summary.json", summary)
    print(f"held-out synthetic ae pairs: rel. error mean {summary['cnn_rel_err_mean']:+.4f}, std {summary['cnn_rel_err_std']:.4f} "
          f"(n={summary['cnn_eval_pairs_ae']}); inference {summary['cnn_pairs_per_s']:.0f} pairs/s")
    for name, entry in summary["peers"].items():
        if isinstance(entry, dict) and "synthetic_ae" in entry:
            parts = [f"{k}: {v['mean']:+.4f} ± {v['std']:.4f}" for k, v in entry.items()]
            print(f"  {name:8s} " + "; ".join(parts))
    print(f"reports in {outdir}")
    return 0


def _stage(args: argparse.Namespace) -> int:
    from econt.emd.stage import run_stage

    s = run_stage(quick=args.quick, config=args.config, force=args.force)
    print(f"EMD stage: cnn_rel_err_mean {s['cnn_rel_err_mean']:+.4f}, cnn_rel_err_std {s['cnn_rel_err_std']:.4f}, "
          f"cnn_pairs_per_s {s['cnn_pairs_per_s']:.0f}")
    return 0


def _load_rows(path: Path):
    import numpy as np

    from econt.errors import DataError

    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    if path.suffix == ".npy":
        return np.load(path)
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: not a numeric CSV of 48 columns per row ({exc}). Give .npy or plain CSV.") from exc


def _exact(args: argparse.Namespace) -> int:
    import numpy as np

    from econt.emd.exact import emd_batch

    d = emd_batch(_load_rows(args.a), _load_rows(args.b), workers=args.workers, progress=True)
    if args.out:
        np.save(args.out, d) if args.out.suffix == ".npy" else np.savetxt(args.out, d, delimiter=",")
        print(f"wrote {len(d)} distances to {args.out}")
    else:
        print("\n".join(f"{v:.10g}" for v in d))
    return 0
