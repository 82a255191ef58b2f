"""The data stage as run by ``make all``: default synthetic dataset + splits + real vectors."""
from __future__ import annotations

from pathlib import Path

from econt.summary import merge_json
from econt.config import write_resolved_config
from econt.data.dataset import Dataset
from econt.data.splits import split_dataset
from econt.data.synthetic import SyntheticConfig, generate, load_synthetic_config
from econt.data.vectors import shared_econt_vectors
from econt.paths import reports_dir, work_dir

DEFAULT_N_SAMPLES = 200_000
QUICK_N_SAMPLES = 20_000


def load_shared_vectors() -> Dataset | None:
    """The real ECON-T input in the kit's cell order (:mod:`econt.data.vectors`); None when ../shared lacks it."""
    return shared_econt_vectors(order="cells")


def run_stage(out_dir: str | Path | None = None, seed: int = 0, n_samples: int | None = None,
              config: SyntheticConfig | str | Path | None = None, quick: bool = False,
              progress: bool = True) -> dict:
    """Generate the default dataset and its splits into ``out_dir`` (default build/data/).

    ``n_samples`` defaults to 200,000 (20,000 with ``quick``).

    Writes ``synthetic.npz``, ``train.npz``, ``val.npz``, ``test.npz``, ``real_testinput.npz``
    (when ../shared is present; in the kit's cell order, recorded in its ``cell_order`` metadata),
    ``resolved_config.yaml``; merges n_train, n_val, n_test, real_samples_loaded into
    ``reports/data/summary.json`` and draws ``reports/data/inspect.png``.
    """
    from econt.data.inspect import inspect_png

    out = Path(out_dir) if out_dir is not None else work_dir("data")
    if n_samples is None:
        n_samples = QUICK_N_SAMPLES if quick else DEFAULT_N_SAMPLES
    out.mkdir(parents=True, exist_ok=True)
    cfg = config if isinstance(config, SyntheticConfig) else load_synthetic_config(config)
    ds = generate(n_samples, seed, cfg, progress=progress)
    train, val, test = split_dataset(ds, seed)
    ds.save(out / "synthetic.npz")
    for name, part in (("train", train), ("val", val), ("test", test)):
        part.save(out / f"{name}.npz")
    write_resolved_config(out, {"synthetic": cfg, "n_samples": n_samples, "fractions": [0.7, 0.15, 0.15]}, seed)
    real = load_shared_vectors()
    if real is not None:
        real.save(out / "real_testinput.npz")
    rep = reports_dir("data")
    png = inspect_png(ds, rep / "inspect.png", seed=seed)
    if real is not None:
        inspect_png(real, rep / "inspect_real_testinput.png", seed=seed)
    summary = {"n_train": len(train), "n_val": len(val), "n_test": len(test),
               "real_samples_loaded": len(real) if real is not None else 0, "n_samples": n_samples,
               "synthetic_summary": ds.summary(), "data_dir": str(out), "seed": seed,
               "inspect_png": str(png)}
    if real is not None:
        summary["real_summary"] = real.summary()
    merge_json(rep / "summary.json", summary)
    # compact return value (the orchestrator prints it); the full summaries are in the JSON
    return {k: v for k, v in summary.items() if not isinstance(v, dict)}
