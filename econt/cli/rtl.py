"""``econt rtl``: generate Verilog designs (``econt rtl generate``) and lint them."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rtl", help="Verilog generator for the encoder (designs under build/rtl/<name>/)")
    s = p.add_subparsers(dest="rtl_command", metavar="ACTION")
    g = s.add_parser("generate", help="generate one design (or all configs/rtl/*.yaml with --all)")
    g.add_argument("--config", default="econt_default", help="configs/rtl/<name>.yaml or a path")
    g.add_argument("--all", action="store_true", help="every design in configs/rtl")
    g.add_argument("--out", default=None, help="output folder (default build/rtl/<name>)")
    g.add_argument("--lint", action="store_true", help="run verilator --lint-only -Wall afterwards")
    g.set_defaults(func=_generate)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from econt.paths import work_dir
    from econt.rtl.config import load_rtl_config
    from econt.rtl.generator import generate_design
    from econt.rtl.lint import lint_design
    from econt.rtl.stage import design_configs

    paths = design_configs() if args.all else [args.config]
    rc = 0
    for p in paths:
        cfg = load_rtl_config(p)
        out = Path(args.out) / cfg.name if (args.out and args.all) else Path(args.out or work_dir("rtl", cfg.name))
        d = generate_design(cfg, out)
        info = {"design": cfg.name, "path": str(d.path), "latency_cycles": d.latency_cycles,
                "config_bits": d.manifest["config_bits"], "tmr": cfg.tmr, "arithmetic": cfg.arithmetic}
        if args.lint:
            res = lint_design(d, log=d.path / "lint.log")
            info["lint_warnings"] = res["lint_warnings"]
            rc = rc or int(bool(res["lint_warnings"] or res["lint_errors"]))
        print(json.dumps(info))
    return rc
