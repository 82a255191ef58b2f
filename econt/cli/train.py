"""``econt train``: train the autoencoder with the three losses, per-region weights, evaluate, export."""
from __future__ import annotations

import argparse
from pathlib import Path

from econt.cli import parse_set_overrides


def _run(args: argparse.Namespace) -> int:
    from econt.config import kit_config_path
    from econt.train.stage import DEFAULT_CONFIG, QUICK_CONFIG, load_train_config, run_training

    path = kit_config_path("train", args.config) if args.config else (QUICK_CONFIG if args.quick else DEFAULT_CONFIG)
    overrides = parse_set_overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.losses:
        overrides["losses"] = [s.strip() for s in args.losses.split(",") if s.strip()]
    if args.data is not None:
        overrides["data.source"] = "file"
        overrides["data.path"] = str(_dataset_file(args.data))
    cfg = load_train_config(path, overrides)
    _check_prerequisites(cfg)
    summary = run_training(cfg, config_path=path)
    keys = [k for k in summary if k.startswith(("mean_emd_test_", "ratio_", "bit_exact_", "deployed_mean"))]
    for k in keys:
        print(f"{k}: {summary[k]}")
    from econt.paths import shown
    from econt.train.stage import output_dirs

    models, reports = output_dirs(cfg)
    print(f"models in {shown(models)}, reports in {shown(reports)}")
    return 0


def _dataset_file(path: Path) -> Path:
    """``--data``: an .npz dataset as is (validated now), a training CSV converted to build/data/<name>.npz."""
    from econt.data.dataset import Dataset
    from econt.errors import DataError
    from econt.paths import shown, work_dir

    path = Path(path).resolve()
    if not path.is_file():
        raise DataError(f"--data {path}: file not found. Give a dataset .npz (econt data generate/convert) or a "
                        "training CSV (CALQ_0 … CALQ_47).")
    if path.suffix.lower() == ".csv":
        from econt.data.csv_reader import read_calq_csv

        out = work_dir("data") / f"{path.stem}.npz"
        read_calq_csv(path).save(out)
        print(f"converted {path} → {shown(out)} (the same as `econt data convert {path} --out {out}`)")
        return out
    Dataset.load(path)  # a CSV or a broken file named .npz: the clear error, before TensorFlow starts
    return path


def _check_prerequisites(cfg) -> None:
    """Earlier stages' outputs the job needs, checked before TensorFlow starts, naming the command that makes them."""
    from econt.errors import StageError
    from econt.paths import build_root
    from econt.train.config import resolve

    if cfg.data.source == "stage":
        missing = [p for p in (build_root() / "data" / f"{n}.npz" for n in ("train", "val", "test")) if not p.is_file()]
        if missing:
            raise StageError(f"train: data.source is 'stage' but {missing[0]} does not exist; make it with "
                             "`econt run data`, or give a dataset with `econt train --data FILE`.")
    if cfg.data.source == "file" and cfg.data.path is not None:
        from econt.data.dataset import Dataset

        Dataset.load(resolve(cfg.data.path))  # missing, a CSV named .npz, out-of-range charges: said now
    if "emd_cnn" in cfg.losses:
        model = resolve(cfg.emd_cnn.model_path) if cfg.emd_cnn.model_path else build_root() / "emd" / "cnn"
        if not model.exists() or (model.is_dir() and not any(model.iterdir())):
            raise StageError(f"train: the emd_cnn loss needs the EMD-CNN model at {model}; make it with "
                             "`econt run emd` (or `econt emd train`), set emd_cnn.model_path, or drop emd_cnn "
                             "with --losses mse,telescope.")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train the encoder (MSE, telescope, EMD-CNN losses), per-region weights",
                              description=__doc__)
    p.add_argument("--config", help="training config: a YAML file or a kit config name (default: default)")
    p.add_argument("--quick", action="store_true", help="use configs/train/quick.yaml (small, minutes)")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--losses", help="comma-separated subset of mse,telescope,emd_cnn")
    p.add_argument("--data", type=Path, default=None, metavar="FILE",
                   help="training dataset: an .npz (econt data generate/convert) or a training CSV (converted to "
                        "build/data/<name>.npz); sets data.source=file")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config field, dotted (e.g. --set fit.epochs=5); repeatable")
    p.set_defaults(func=_run)
