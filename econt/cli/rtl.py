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
    h = s.add_parser("hls", help="export a trained QKeras encoder as an hls4ml project (needs the 'hls' extra)")
    h.add_argument("--model-dir", required=True, help="encoder folder written by the training stage (save_encoder)")
    h.add_argument("--backend", choices=["Vitis", "Catapult"], default="Vitis", help="hls4ml backend (default Vitis)")
    h.add_argument("--out", default=None, help="project folder (default build/rtl/hls/<backend>)")
    h.add_argument("--csim-samples", type=int, default=2000,
                   help="cross-check the C simulation against the golden model on this many stress samples (0: skip)")
    h.set_defaults(func=_hls)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from econt.paths import ensure_dir, work_dir
    from econt.rtl.config import load_rtl_config
    from econt.rtl.generator import generate_design
    from econt.rtl.lint import lint_design
    from econt.rtl.stage import design_configs

    paths = design_configs() if args.all else [args.config]
    rc = 0
    for p in paths:
        cfg = load_rtl_config(p)
        out = Path(args.out) / cfg.name if (args.out and args.all) else Path(args.out or work_dir("rtl", cfg.name))
        ensure_dir(out, "--out")
        d = generate_design(cfg, out)
        info = {"design": cfg.name, "path": str(d.path), "latency_cycles": d.latency_cycles,
                "config_bits": d.manifest["config_bits"], "tmr": cfg.tmr, "arithmetic": cfg.arithmetic}
        if args.lint:
            res = lint_design(d, log=d.path / "lint.log")
            info["lint_warnings"] = res["lint_warnings"]
            rc = rc or int(bool(res["lint_warnings"] or res["lint_errors"]))
        print(json.dumps(info))
    return rc


def _hls(args: argparse.Namespace) -> int:
    from pathlib import Path

    from econt.model.integer import IntegerEncoder, extract_integer_weights, stress_codes
    from econt.model.qkeras_model import load_encoder
    from econt.paths import work_dir
    from econt.rtl.hls import csim_latent_codes, export_hls_project

    model, cfg = load_encoder(args.model_dir)
    out = Path(args.out or work_dir("rtl", "hls", args.backend))
    h = export_hls_project(model, cfg, out, args.backend)
    info: dict = {"project": str(out), "backend": args.backend}
    if args.csim_samples:
        codes = stress_codes(args.csim_samples, cfg, seed=0)
        got = csim_latent_codes(h, cfg, codes)
        ref = IntegerEncoder(extract_integer_weights(model, cfg), arithmetic=cfg.arithmetic).encode_codes(codes)
        info.update(csim_samples=len(codes), csim_mismatches=int((got != ref).sum()))
    print(json.dumps(info))
    return int(bool(info.get("csim_mismatches")))
