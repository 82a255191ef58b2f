"""``econt asic``: synthesis, timing, power and energy reports for generated designs."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from econt.asic.stage import DEFAULT_PDKS, DesignSpec, run_asic, run_stage

    pdks = args.pdk or list(DEFAULT_PDKS)
    if args.design:
        designs = [DesignSpec(label=Path(d).name, path=Path(d)) for d in args.design]
        summary = run_asic(designs, pdks, workers=args.workers, seed=args.seed)
    else:
        summary = run_stage(quick=args.quick, pdks=pdks, workers=args.workers,
                            variants=tuple(args.tmr), storages=tuple(args.storage))
    for key, e in summary["entries"].items():
        est = " (ESTIMATE)" if e.get("estimate") else ""
        print(f"{key}{est}: area {e['cell_area_um2']:.0f} um2, die {e['die_area_mm2']:.3f} mm2, "
              f"crit {e['critical_path_ns']:.2f} ns, P {e['power_mw']['total_mw']} mW, "
              f"E {e['energy_per_inference_nj']} nJ/inference")
    t = summary.get("target_65nm_energy")
    if t:
        print(f"65 nm-style ESTIMATE energy/inference {t['energy_per_inference_nj']} nJ vs target "
              f"{t['target_nj']} nJ: {'met' if t['met'] else 'NOT met'}")
    from econt.paths import reports_dir, work_dir

    print(f"reports in {reports_dir('asic')}, tool runs in {work_dir('asic')}")
    return 0


def _cfg_regs(args: argparse.Namespace) -> int:
    from econt.asic.cfg_cost import run_cfg_cost

    doc = run_cfg_cost(tuple(args.tmr), args.pdk, reduced=args.quick, storage=args.storage)
    for tmr, r in doc["designs"].items():
        print(f"{tmr}: area {r['cell_area_um2']:.0f} um2, {r['n_flops']} flops, P {r['power_total_mw']} mW, "
              f"E {r['energy_per_inference_nj']} nJ/inference" +
              (f", area x{r['area_over_tmr_config']:.3f} of tmr=config" if "area_over_tmr_config" in r else ""))
    print(f"report: {doc['report']}")
    return 0


def _pdks(args: argparse.Namespace) -> int:
    from econt.asic.pdk import PDK_CONFIG_DIR, load_pdk_config, resolve_library

    for path in sorted(PDK_CONFIG_DIR.glob("*.yaml")):
        cfg = load_pdk_config(path)
        if cfg.kind == "library":
            lib = resolve_library(cfg)
            print(f"{cfg.name}: {cfg.corner} {cfg.voltage_v} V, liberty {lib.liberty} (via {lib.found_via})")
        else:
            print(f"{cfg.name}: ESTIMATE derived from {', '.join(cfg.derive_from)} at {cfg.voltage_v} V "
                  f"({cfg.scaling.reference})")
    return 0


def _tools(args: argparse.Namespace) -> int:
    from econt.asic.flow import detect_tools

    print(json.dumps(detect_tools(), indent=2))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("asic", help="SiliconCompiler flows: area, timing, power, energy per inference")
    sub = p.add_subparsers(dest="asic_cmd")
    r = sub.add_parser("run", help="run the flows (default: default encoder, tmr=config and none, all PDKs)")
    r.add_argument("--design", action="append", help="generated design folder (repeatable); default: generate")
    r.add_argument("--pdk", action="append", help="PDK config name (repeatable): sky130hd, nangate45, ihp-sg13g2, gf180mcu, cmos65lp-style")
    r.add_argument("--tmr", nargs="+", default=["config", "none"], choices=["none", "config", "full", "selective"],
                   help="TMR variants of the default encoder to generate")
    r.add_argument("--storage", nargs="+", default=["refresh"], choices=["refresh", "gated"],
                   help="configuration storage of the generated designs: refresh (every cycle) and/or gated "
                        "(clock-gated through the PDK's ICG cell); default refresh")
    r.add_argument("--quick", action="store_true", help="reduced encoder (2 filters, 2 latents) for a smoke run")
    r.add_argument("--workers", type=int, default=2, help="parallel (design, PDK) runs")
    r.add_argument("--seed", type=int, default=1234, help="seed of the activity stimuli (default 1234)")
    r.set_defaults(func=_run)
    c = sub.add_parser("cfg-regs", help="synthesise the configuration register file alone for TMR variants "
                       "(the only module in which none, config and selective differ)")
    c.add_argument("--tmr", nargs="+", default=["none", "config", "selective"], choices=["none", "config", "selective"],
                   help="TMR variants (default none config selective)")
    c.add_argument("--pdk", default="sky130hd", help="PDK config name (default sky130hd)")
    c.add_argument("--storage", default="refresh", choices=["refresh", "gated"], help="configuration storage (default refresh)")
    c.add_argument("--quick", action="store_true", help="reduced encoder (2 filters, 2 latents)")
    c.set_defaults(func=_cfg_regs)
    pk = sub.add_parser("pdks", help="list PDK configs and where their libraries were found")
    pk.set_defaults(func=_pdks)
    t = sub.add_parser("tools", help="show the tool discovery (flow path, versions)")
    t.set_defaults(func=_tools)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1] if not getattr(args, "asic_cmd", None) else 0)
