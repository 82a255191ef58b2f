"""``econt conformance``: import an ECON-T init.yaml; reproduce the emulator's output words."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("conformance", help="ECON-T conformance: import init.yaml, reproduce emulator output words",
                       description="Reproduce the ECON-T emulator's eTx output words bit for bit from its test "
                                   "vectors (../shared/econt-vectors), with the golden integer model and the RTL.")
    csub = p.add_subparsers(dest="conformance_command", metavar="ACTION")

    i = csub.add_parser("import", help="read an ECON-T init.yaml (weights, mux, calibration, algorithm, formatter)")
    i.add_argument("init_yaml", type=Path, help="ECON-T init.yaml (Algorithm/FormatterBuffer or ConfigAlgo schema)")
    i.add_argument("--n-etx", type=int, default=None, help="override the number of eTx links")
    i.add_argument("--cell-order", choices=["msb_first", "lsb_first"], default=None,
                   help="override the ePortRX in-word cell order the schema implies")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.set_defaults(func=_import)

    r = csub.add_parser("run", help="conformance run on the shared vectors → reports/conformance/summary.json")
    r.add_argument("--crossings", type=int, default=None, help="first N crossings (default: the full orbit, 3564)")
    r.add_argument("--config", action="append", default=None,
                   help="shared configuration folder name (repeatable; default: AE_8x8_c8_S2_ele_qkeras and AE)")
    r.add_argument("--no-rtl", action="store_true", help="skip the Icarus run of the generated RTL")
    r.add_argument("--no-emd", action="store_true", help="skip the EMD baseline (decoder.hdf5)")
    r.add_argument("--out", type=Path, default=None, help="report folder (default reports/conformance)")
    r.add_argument("--cell-order", choices=["msb_first", "lsb_first"], default=None,
                   help="what-if: force the ePortRX in-word order (shows the divergence diagnosis at work)")
    r.add_argument("--n-etx", type=int, default=None, help="what-if: force the number of eTx links")
    r.set_defaults(func=_run)

    s = csub.add_parser("stage", help="make-all entry: full orbit, golden + RTL + EMD")
    s.add_argument("--quick", action="store_true", help="first 200 crossings only")
    s.set_defaults(func=_stage)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _import(args: argparse.Namespace) -> int:
    from econt.verify.conformance.config import load_chip_config

    chip = load_chip_config(args.init_yaml, n_etx=args.n_etx, cell_order=args.cell_order)
    s = chip.summary()
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"ECON-T configuration {s['source']}  (schema: {s['schema']})")
    print(f"  algorithm          : {s['algorithm']}")
    print(f"  module density     : {s['module_density']}")
    print(f"  ePortRX cell order : {s['ePortRX_cell_order']}")
    print(f"  mux (out ← in)     : {s['mux']}")
    print(f"  calibration values : {s['calibration_unique']}")
    print(f"  eTx links          : {s['eTx_links']}")
    print(f"  formatter mask     : {s['formatter_mask']} ({s['latent_bits_kept_by_mask']} of 144 latent bits kept, "
          f"{s['latent_bits_on_links']} fit the links)")
    w = s["weights"]
    print(f"  weights            : conv {w['conv_w']} + {w['conv_b']}, dense {w['dense_w']} + {w['dense_b']}, "
          f"codes {w['code_range'][0]}..{w['code_range'][1]}")
    print(f"  config hash        : {chip.weights.config_hash} (the same as `econt export import` shows)")
    if s["extra_registers"]:
        print(f"  other registers    : {s['extra_registers']}")
    return 0


def _print_summary(summary: dict) -> None:
    for name, c in summary["configs"].items():
        g = c["golden"]
        line = (f"{name}: {c['crossings']} crossings; golden {g['words_matching']}/{g['words_compared']} words"
                f" ({g['crossings_matching']} crossings all-match)")
        if "rtl" in c:
            r = c["rtl"]
            line += f"; RTL [{r['arithmetic']}] {r['words_matching']}/{r['words_compared']} words"
        line += f"; I2C {c['i2c_fields_matching']}/{c['i2c_fields']} fields"
        print(line)
        for stage, n in g["first_divergent_stage"].items():
            print(f"  golden: {n} crossings diverge first at {stage}")
        if "rtl" in c:
            for stage, n in c["rtl"]["first_divergent_stage"].items():
                print(f"  RTL: {n} crossings diverge first at {stage}")
        if "emd" in c and c["emd"].get("available"):
            e = c["emd"]
            print(f"  EMD (decoder.hdf5): chip latents mean {e['chip']['emd_mean']:.3f}, "
                  f"deployed model mean {e['model']['emd_mean']:.3f}, flat-map reference "
                  f"{e['flat_map']['emd_mean']:.3f} over {e['crossings']} crossings")


def _run(args: argparse.Namespace) -> int:
    from econt.verify.conformance.run import SHARED_CONFIGS, run_conformance, shared_cases

    names = tuple(args.config) if args.config else SHARED_CONFIGS
    over = {k: v for k, v in (("cell_order", args.cell_order), ("n_etx", args.n_etx)) if v is not None}
    summary = run_conformance(n=args.crossings, rtl=not args.no_rtl, emd=not args.no_emd,
                              cases=shared_cases(names), out_dir=args.out, chip_overrides=over or None)
    _print_summary(summary)
    _print_mismatches(args.out)
    from econt.paths import reports_dir

    print(f"reports in {Path(args.out) if args.out else reports_dir('conformance')}")
    ok = summary["all_words_match_golden"] and summary.get("all_words_match_rtl", True)
    return 0 if ok else 1


def _print_mismatches(out: Path | None) -> None:
    from econt.paths import reports_dir

    folder = Path(out) if out else reports_dir("conformance")
    for f in sorted(folder.glob("*.json")):
        if f.name == "summary.json":
            continue
        doc = json.loads(f.read_text())
        for key in ("golden", "rtl"):
            lines = (doc.get(key) or {}).get("mismatches") or []
            for line in lines[:10]:
                print(f"  {doc.get('config')} {key}: {line}")


def _stage(args: argparse.Namespace) -> int:
    from econt.verify.conformance.run import run_stage

    summary = run_stage(quick=args.quick)
    _print_summary(summary)
    ok = summary["all_words_match_golden"] and summary.get("all_words_match_rtl", True)
    return 0 if ok else 1
