"""``econt export``: trained encoders → weights.json + ECON-T init.yaml; import/inspect both formats."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cmd_all(args: argparse.Namespace) -> int:
    from econt.errors import DataError
    from econt.export.stage import run_stage

    if args.train_dir is not None and not Path(args.train_dir).is_dir():
        raise DataError(f"--train-dir {args.train_dir}: folder not found. Give the folder of trained models "
                        "(default build/train, made by `econt train` / `econt run train`).")

    summary = run_stage(train_dir=args.train_dir, out_root=args.out)
    print(json.dumps({k: v for k, v in summary.items() if k != "exports"}, indent=1))
    for e in summary["exports"]:
        print(f"exported {e['name']}/{e['region']} → {e['folder']}")
    from econt.paths import work_dir

    if summary["exports"]:
        print(f"exports in {Path(args.out) if args.out else work_dir('export')}")
    if not summary["exports"]:
        print("no trained models found (folders written by econt.model.save_encoder); run `econt train` first "
              "or give --train-dir. The deployed I2C checks above still ran.")
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    from econt.export.stage import export_model
    from econt.paths import work_dir

    out = Path(args.out) if args.out else work_dir("export") / (args.name or Path(args.model_dir).name) / args.region
    res = export_model(args.model_dir, out, region=args.region)
    print(json.dumps(res, indent=1))
    return 0


def _cmd_deployed(args: argparse.Namespace) -> int:
    from econt.export.stage import DEPLOYED_CONFIGS, deployed_i2c_check

    ok = True
    for name in args.configs or DEPLOYED_CONFIGS:
        res = deployed_i2c_check(name, args.rounding)
        ok &= res["i2c_match"]
        print(f"{name}: rounding={res['rounding']}: I2C fields {res['i2c_fields_matching']}/{res['i2c_fields']} "
              f"match, parameters {res['params_matching']}/{res['params']}")
    return 0 if ok else 1


def _cmd_import(args: argparse.Namespace) -> int:
    import numpy as np

    from econt.errors import DataError
    from econt.export import from_i2c_image, load_weights_json
    from econt.model.integer import IntegerWeights, accumulator_widths

    path = Path(args.file)
    if path.suffix == ".json":
        w = load_weights_json(path)
        kind = "econt-weights JSON"
    elif path.suffix in (".yaml", ".yml"):
        w = from_i2c_image(path, dense_order=args.dense_order)
        kind = f"ECON-T I2C image (init.yaml Encoder section, dense weights read {args.dense_order} order)"
    else:
        raise DataError(f"{path}: unknown weight file type; give a weights.json or an init.yaml.")
    cfg = w.cfg
    print(f"{path}: {kind}")
    print(f"  architecture '{cfg.name}': {cfg.arrangement} input, conv {cfg.conv_kernel}x{cfg.conv_kernel}x{cfg.conv_filters} "
          f"stride {cfg.conv_stride}, dense {cfg.flat_dim}→{cfg.latent_dim}, {cfg.n_params} parameters")
    print(f"  region {w.region}, config hash {w.config_hash}")
    for name in IntegerWeights.LAYERS:
        arr = getattr(w, name)
        bits, frac = w.layer_format(name)
        print(f"  {name:8s} shape {str(arr.shape):14s} {bits}-bit/{frac} frac  codes {int(arr.min()):4d}..{int(arr.max()):3d}  "
              f"mean {arr.mean():+.2f}  zeros {int((arr == 0).sum())}  at limits {int(np.isin(arr, [-(1 << bits - 1), (1 << bits - 1) - 1]).sum())}")
    acc = accumulator_widths(cfg)
    print(f"  accumulators: conv {acc['conv_acc_bits']} bits, dense {acc['dense_acc_bits']} bits (signed)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="export trained encoders (weights.json + ECON-T init.yaml), import/inspect")
    sub = p.add_subparsers(dest="export_command", metavar="ACTION")

    a = sub.add_parser("all", help="export every trained model under build/train (default action)")
    a.add_argument("--train-dir", default=None, help="folder with trained models (default build/train)")
    a.add_argument("--out", default=None, help="output root (default build/export)")
    a.set_defaults(func=_cmd_all)

    m = sub.add_parser("model", help="export one saved encoder folder (save_encoder output)")
    m.add_argument("model_dir", help="encoder folder written by the training stage (econt.model.save_encoder)")
    m.add_argument("--name", default=None, help="export name (default: folder name)")
    m.add_argument("--region", default="global", help="detector-region label stored with the weights (default global)")
    m.add_argument("--out", default=None, help="output folder (default build/export/<name>/<region>)")
    m.set_defaults(func=_cmd_model)

    d = sub.add_parser("deployed", help="export the shared deployed encoder.hdf5 files and compare with their init.yaml")
    d.add_argument("configs", nargs="*", help="econt-vectors sub-folders (default: both)")
    d.add_argument("--rounding", choices=["floor", "half_even"], default="floor",
                   help="rounding of the float weights to codes (default floor)")
    d.set_defaults(func=_cmd_deployed)

    i = sub.add_parser("import", help="read a weights.json or init.yaml and print a summary")
    i.add_argument("file", help="weights.json (econt-weights) or ECON-T init.yaml with an Encoder block")
    i.add_argument("--dense-order", choices=["chip", "keras"], default="chip",
                   help="dense register order of an init.yaml: 'chip' = output-major as the ECON-T reads it "
                        "(default), 'keras' = input-major as the shared init.yaml files were generated")
    i.set_defaults(func=_cmd_import)

    p.set_defaults(func=_cmd_all, train_dir=None, out=None)
