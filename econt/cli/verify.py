"""``econt verify``: lint + cocotb/Icarus simulation vs the golden model + SEU injection, all designs."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="verify the generated designs (reports/rtl/summary.json, seu.json, seu.png)")
    p.add_argument("--quick", action="store_true", help="300 samples per weight set, 10 upsets per target")
    p.add_argument("--samples", type=int, default=None, help="samples per weight set (overrides the default)")
    p.add_argument("--upsets", type=int, default=None, help="upsets per target and TMR option")
    p.add_argument("--seed", type=int, default=0, help="random seed of the stimuli and upsets (default 0)")
    p.add_argument("--gated-study", action="store_true",
                   help="only the clock-gated designs on the reduced encoder: --upsets per SEU target (default 250) "
                        "and --samples per weight set (default 5000) bit-exact (reports/rtl/seu_gated.json)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from econt.rtl.stage import run_gated_seu_study, run_stage

    if args.gated_study:
        doc = run_gated_seu_study(n_upsets=args.upsets or 250, n_samples=args.samples or 5_000, seed=args.seed)
        for name, d in doc.items():
            print(f"{name} (reduced encoder): upsets_injected={d['upsets_injected']} "
                  f"outputs_corrupted={d['outputs_corrupted']} "
                  + " ".join(f"{t}={v['outputs_corrupted']}/{v['upsets_injected']}" for t, v in d["targets"].items())
                  + f" sim_samples={d['sim_samples']} sim_mismatches={d['sim_mismatches']} seconds={d['seconds']}")
        return 0
    s = run_stage(quick=args.quick, seed=args.seed, samples_per_set=args.samples, n_upsets=args.upsets)
    for name, d in s["designs"].items():
        print(f"{name}: lint_warnings={d['lint_warnings']} sim_samples={d['sim_samples']} "
              f"sim_mismatches={d['sim_mismatches']} latency={d['latency_cycles']} config_bits={d['config_bits']}")
    print("SEU:", json.dumps(s["seu"]))
    from econt.paths import reports_dir

    print(f"reports in {reports_dir('rtl')}")
    return 0
