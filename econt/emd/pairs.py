"""Training / validation / test pairs for the EMD-CNN, with exact-EMD labels, cached on disk.

Modes (as in the published study):

* ``pair``: two different modules (inputs) from the same split;
* ``ae``:   a module and an autoencoder's reconstruction of it (what the loss sees while an
  encoder trains; reconstructions come from snapshots of :mod:`econt.emd.ae_gen`, so they
  span untrained → converged quality);
* ``app``:  both, half each.

Modules come from ``econt.data.synthetic.generate`` (or a saved ``Dataset`` file given as
``pairs.dataset``); empty modules are dropped (their EMD is undefined). Modules are split
into train / val / test *before* pairing, so no module appears in two splits. Test pairs
are always built in both modes (``ae`` is the quality target, ``pair`` is reported too),
whatever mode the training uses.

Cache: ``build/emd/pairs/<key>.npz`` with ``key`` = hash of this config + the modules'
bytes; a second run with the same inputs loads instead of recomputing. Arrays per split
``s`` in (train, val, test): ``s_a``, ``s_b`` (N, 48) float64 charges, ``s_emd`` (N,) exact
EMD, ``s_kind`` (N,) 0 = pair / 1 = ae, ``s_snapshot`` (N,) AE snapshot index (-1 for pair).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

import econt  # noqa: F401
from econt.config import to_plain
from econt.emd.ae_gen import AeGenConfig, snapshot_reconstructions
from econt.emd.exact import emd_batch
from econt.errors import ConfigError, DataError
from econt.paths import work_dir, workdir

KIND_PAIR = 0
KIND_AE = 1
SPLITS = ("train", "val", "test")
CACHE_VERSION = 1


@dataclass(frozen=True)
class PairsConfig:
    mode: Literal["pair", "ae", "app"] = "app"
    #: modules drawn from the synthetic generator (before splitting 70/10/20)
    n_events: int = 60_000
    train_pairs: int = 200_000
    val_pairs: int = 10_000
    #: held-out pairs per mode (ae and pair)
    test_pairs: int = 20_000
    #: seed of the synthetic modules (the pairing uses the run seed)
    data_seed: int = 12345
    #: optional saved econt Dataset (.npz; relative: to the working folder) instead of the synthetic generator
    dataset: str | None = None
    workers: int = 2
    ae: AeGenConfig = field(default_factory=AeGenConfig)

    def validate(self, source: str) -> None:
        if self.n_events < 20:
            raise ConfigError(f"{source}: field 'pairs.n_events' must be >= 20, got {self.n_events}.")
        for name in ("train_pairs", "val_pairs", "test_pairs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{source}: field 'pairs.{name}' must be >= 1.")


@dataclass
class PairSet:
    a: np.ndarray
    b: np.ndarray
    emd: np.ndarray
    kind: np.ndarray
    snapshot: np.ndarray

    def __len__(self) -> int:
        return len(self.emd)

    def select(self, mask: np.ndarray) -> "PairSet":
        return PairSet(self.a[mask], self.b[mask], self.emd[mask], self.kind[mask], self.snapshot[mask])

    def occupancy(self) -> np.ndarray:
        """Occupied cells of the first vector (the input module)."""
        return (self.a > 0).sum(axis=1)


def load_modules(cfg: PairsConfig) -> np.ndarray:
    """``(n, 48)`` non-empty module charges from the configured source."""
    if cfg.dataset:
        from econt.data.dataset import Dataset

        path = Path(cfg.dataset)
        path = path if path.is_absolute() else workdir() / path
        if not path.is_file():
            raise ConfigError(f"pairs.dataset: file '{path}' not found. Give a Dataset .npz (econt data) or null.")
        charges = Dataset.load(path).charges[: cfg.n_events]
    else:
        from econt.data.synthetic import generate

        charges = generate(cfg.n_events, cfg.data_seed).charges
    charges = np.asarray(charges, dtype=np.float64)
    keep = charges.sum(axis=1) > 0
    if keep.sum() < 20:
        raise DataError(f"EMD pairs: only {int(keep.sum())} non-empty modules in the source; need at least 20.")
    return charges[keep]


def _random_distinct_pairs(rng: np.random.Generator, n_items: int, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    i = rng.integers(0, n_items, n_pairs)
    j = (i + rng.integers(1, n_items, n_pairs)) % n_items  # j != i
    return i, j


def _pair_mode(rng, X: np.ndarray, n: int) -> PairSet:
    i, j = _random_distinct_pairs(rng, len(X), n)
    return PairSet(X[i], X[j], np.empty(n), np.full(n, KIND_PAIR), np.full(n, -1))


def _ae_mode(rng, X: np.ndarray, recon: np.ndarray, n: int) -> PairSet:
    n_snap = recon.shape[0]
    grid = len(X) * n_snap
    flat = rng.choice(grid, n, replace=n > grid)
    k, i = np.divmod(flat, len(X))
    return PairSet(X[i], recon[k, i], np.empty(n), np.full(n, KIND_AE), k)


def _concat(parts: list[PairSet], rng) -> PairSet:
    out = PairSet(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("a", "b", "emd", "kind", "snapshot")))
    return out.select(rng.permutation(len(out)))


def cache_key(cfg: PairsConfig, modules: np.ndarray, seed: int) -> str:
    h = hashlib.sha256()
    # the worker count does not change any label, so it is not part of the key
    plain = to_plain(dataclasses.replace(cfg, workers=0))
    h.update(json.dumps({"v": CACHE_VERSION, "cfg": plain, "seed": seed}, sort_keys=True).encode())
    h.update(np.ascontiguousarray(modules).tobytes())
    return h.hexdigest()[:16]


def build_pairs(cfg: PairsConfig, seed: int = 0, cache: bool = True, verbose: bool = True) -> dict[str, PairSet]:
    """Pairs for ``train``, ``val`` and ``test`` with exact labels (cached; see module docstring)."""
    modules = load_modules(cfg)
    key = cache_key(cfg, modules, seed)
    path = work_dir("emd", "pairs") / f"{key}.npz"
    if cache and path.is_file():
        with np.load(path) as z:
            return {s: PairSet(*(z[f"{s}_{f}"] for f in ("a", "b", "emd", "kind", "snapshot"))) for s in SPLITS}

    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(len(modules))
    n_tr, n_va = int(0.7 * len(order)), int(0.1 * len(order))
    split_mods = {
        "train": modules[order[:n_tr]],
        "val": modules[order[n_tr : n_tr + n_va]],
        "test": modules[order[n_tr + n_va :]],
    }
    need_ae = {"train": cfg.mode != "pair", "val": cfg.mode != "pair", "test": True}
    ae_splits = [s for s in SPLITS if need_ae[s]]
    recons = snapshot_reconstructions(cfg.ae, split_mods["train"], [split_mods[s] for s in ae_splits], seed, verbose)
    recon = dict(zip(ae_splits, recons))

    sets: dict[str, PairSet] = {}
    for s, n in (("train", cfg.train_pairs), ("val", cfg.val_pairs)):
        X = split_mods[s]
        if cfg.mode == "pair":
            sets[s] = _pair_mode(rng, X, n)
        elif cfg.mode == "ae":
            sets[s] = _ae_mode(rng, X, recon[s], n)
        else:
            sets[s] = _concat([_pair_mode(rng, X, n // 2), _ae_mode(rng, X, recon[s], n - n // 2)], rng)
    Xt = split_mods["test"]
    sets["test"] = _concat([_pair_mode(rng, Xt, cfg.test_pairs), _ae_mode(rng, Xt, recon["test"], cfg.test_pairs)], rng)

    # one call for all splits: the process pool starts once
    labels = emd_batch(
        np.concatenate([sets[s].a for s in SPLITS]),
        np.concatenate([sets[s].b for s in SPLITS]),
        workers=cfg.workers,
        progress=verbose,
    )
    start = 0
    for s in SPLITS:
        sets[s].emd = labels[start : start + len(sets[s])]
        start += len(sets[s])
    if cache:
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **{f"{s}_{f}": getattr(sets[s], f) for s in SPLITS for f in ("a", "b", "emd", "kind", "snapshot")})
        tmp.replace(path)
    return sets
