"""``econt data``: generate synthetic datasets, inspect/convert data files, run the data stage."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="datasets: generate, inspect, convert, stage",
                       description="Datasets of ECON-T trigger-cell charges (CALQ units). See data/README.md.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")

    g = dsub.add_parser("generate", help="make a synthetic dataset (.npz) and write its resolved config beside it")
    g.add_argument("--n", type=int, default=10_000, help="number of samples (default 10000)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--out", type=Path, required=True, help="output .npz path")
    g.add_argument("--config", type=Path, default=None, help="generator YAML (default configs/data/synthetic.yaml)")
    g.set_defaults(func=_generate)

    i = dsub.add_parser("inspect", help="rows, occupancy, sums by region and a PNG of a dataset file")
    i.add_argument("file", type=Path, help=".npz dataset, CALQ CSV (CALQ_0..47 header) or ePortRX CSV")
    i.add_argument("--init-yaml", type=Path, default=None, help="ECON-T init.yaml for ePortRX files (mux, calibration, density)")
    i.add_argument("--png", type=Path, default=None, help="output PNG (default reports/inspect/<name>.png)")
    i.add_argument("--skip-bad-rows", action="store_true", help="drop malformed rows and report how many and why")
    i.set_defaults(func=_inspect)

    c = dsub.add_parser("convert", help="read a CALQ CSV or ePortRX CSV and save it as an .npz dataset")
    c.add_argument("file", type=Path, help="CALQ CSV (CALQ_0..47 header) or ePortRX CSV")
    c.add_argument("--out", type=Path, required=True, help="output .npz path")
    c.add_argument("--init-yaml", type=Path, default=None, help="ECON-T init.yaml for ePortRX files")
    c.add_argument("--skip-bad-rows", action="store_true", help="drop malformed rows and report how many and why")
    c.set_defaults(func=_convert)

    s = dsub.add_parser("stage", help="the make-all data stage: default dataset + splits + real vectors + report")
    s.add_argument("--out", type=Path, default=None, help="output folder (default build/data)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--n", type=int, default=None, help="samples (default 200000; 20000 with --quick)")
    s.add_argument("--quick", action="store_true", help="reduced sizes (20000 samples) for smoke runs")
    s.set_defaults(func=_stage)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _generate(args: argparse.Namespace) -> int:
    from econt.config import write_resolved_config
    from econt.data.synthetic import generate, load_synthetic_config

    from econt.errors import DataError
    from econt.paths import ensure_parent

    if args.n < 1:
        raise DataError(f"--n {args.n}: a dataset needs at least 1 sample. Give --n N with N >= 1.")
    ensure_parent(args.out, "--out")
    cfg = load_synthetic_config(args.config)
    ds = generate(args.n, args.seed, cfg, progress=True)
    path = ds.save(args.out)
    write_resolved_config(path.parent, {"synthetic": cfg, "n_samples": args.n, "output": str(path)}, args.seed,
                          name=f"{path.stem}.resolved_config.yaml")
    print(f"wrote {path} ({len(ds)} samples, regions {', '.join(ds.regions)}) and "
          f"{path.parent / (path.stem + '.resolved_config.yaml')}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from econt.data.inspect import inspect_png, load_any
    from econt.paths import reports_dir

    ds, report = load_any(args.file, args.init_yaml, args.skip_bad_rows)
    if report is not None and args.skip_bad_rows:
        print(report.text())
    _note_default_input_config(args, ds)
    summary = ds.summary()
    print(f"{args.file}: {summary['rows']} rows, source {ds.source}")
    print(f"  occupancy mean {summary['occupancy_mean']:.1f} cells; module sum p5/p50/p95 "
          f"{'/'.join(f'{x:.0f}' for x in summary['sum_p5_p50_p95'])} CALQ; max cell {summary['max_cell']:.0f}")
    for r, st in summary["by_region"].items():
        print(f"  {r:>14}: {st['rows']:>7} rows, occupancy {st['occupancy_mean']:.1f}, "
              f"mean sum {st['sum_mean']:.0f}, max cell {st['max_cell']:.0f}")
    png = args.png or reports_dir("inspect") / f"{args.file.stem}.png"  # never the data stage's own plots
    from econt.paths import ensure_parent

    ensure_parent(png, "--png")
    inspect_png(ds, png)
    print(f"  plots: {png}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from econt.data.inspect import load_any

    from econt.paths import ensure_parent

    ensure_parent(args.out, "--out")
    ds, report = load_any(args.file, args.init_yaml, args.skip_bad_rows)
    if report is not None and args.skip_bad_rows:
        print(report.text())
    _note_default_input_config(args, ds)
    path = ds.save(args.out)
    print(f"wrote {path} ({len(ds)} samples from {ds.source})")
    return 0


def _note_default_input_config(args: argparse.Namespace, ds) -> None:
    """Say so when ePortRX words were decoded without an init.yaml (low-density defaults)."""
    if args.init_yaml is None and Path(args.file).suffix != ".npz" and not ds.source.startswith("csv:"):
        print(f"note: {args.file} decoded with the ECON-T defaults (low-density module, default mux, unit "
              "calibration); give --init-yaml for the chip's own registers.")


def _stage(args: argparse.Namespace) -> int:
    from econt.data.stage import run_stage

    summary = run_stage(args.out, seed=args.seed, n_samples=args.n, quick=args.quick)
    print(json.dumps({k: summary[k] for k in ("n_train", "n_val", "n_test", "real_samples_loaded", "data_dir")}, indent=1))
    return 0
