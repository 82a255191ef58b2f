"""Generator throughput benchmark: ``generator_samples_per_s`` into reports/data/summary.json."""
from __future__ import annotations

import time

from econt.summary import merge_json
from econt.data.synthetic import generate
from econt.paths import reports_dir


def run_bench(quick: bool = False) -> dict:
    """Best of 3 timed runs of ``generate`` (after one warm-up that builds the profile tables)."""
    n = 20_000 if quick else 200_000
    generate(4096, seed=0)  # warm-up: profile tables, imports
    rates = []
    for rep in range(3):
        t0 = time.perf_counter()
        ds = generate(n, seed=100 + rep)
        rates.append(len(ds) / (time.perf_counter() - t0))
    result = {"generator_samples_per_s": round(max(rates), 1),
              "generator_bench": {"n_samples": n, "runs": 3, "rates": [round(r, 1) for r in rates],
                                  "target_samples_per_s": 20000, "quick": quick}}
    merge_json(reports_dir("data") / "summary.json", result)
    return result


if __name__ == "__main__":  # pragma: no cover
    print(run_bench())
