"""Physically motivated synthetic ECON-T input: one 48-cell module per sample, in CALQ units.

Each sample is one silicon module at a random layer and |eta| in one of the detector
regions (|eta| bands with their silicon thickness). Its trigger cells receive

* 0–2 showers (EM or hadronic) with a longitudinal gamma profile (Longo; tmax from the
  critical energy for EM, from ln E for hadrons) and a two-component (core + tail)
  transverse profile ``f(r) = 2 r R² / (r² + R²)²`` (Grindhammer–Peters form) whose
  radii are set by the Molière radius (EM) or the hadronic shower width; the shower axis
  lands anywhere on the module or up to one profile radius beyond its edge;
* pileup: Poisson-many particles per trigger cell, each an exponential energy in MIPs,
  with a density growing as ``exp(slope · (|eta| - 1.5))`` (constant dN/deta →
  area density ∝ sinh² eta) and peaking a few radiation lengths into CE-E;
* electronic noise per trigger cell, Gaussian with ENC · sqrt(cells per trigger cell)
  for the region's silicon thickness; zero suppression below a threshold in MIPs;
  ADC/TOT saturation per trigger cell;
* the hardware path: charge → ADC counts → the HGCROC 7-bit float code (drop 1 bit for
  low-density 200/300 µm modules, 3 bits for high-density 120 µm modules) → the ECON-T
  float-to-fixed decode and calibration (2048 = 1.0), so values are exactly the integers
  the chip sees. Zero-suppressed cells are 0.

Every parameter and its source is listed in ``data/README.md``; the defaults are the
dataclass defaults below and ``configs/data/synthetic.yaml`` (kept identical by a test).
Deterministic: sample ``i`` depends only on ``seed`` and ``i`` (fixed-size chunks with
their own generator), so ``generate(100, s)`` is a prefix of ``generate(1000, s)``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from econt.config import kit_config_path, load_config
from econt.data.dataset import Dataset
from econt.data.floatcode import decode_float, encode_float
from econt.errors import ConfigError
from econt.geometry import CELL_PITCH_CM, cell_centres
from econt.paths import kit_data

#: e-h pairs per µm of silicon for a MIP (most probable) × electron charge in fC.
_FC_PER_ELECTRON = 1.602176634e-4
CHUNK = 4096


@dataclass(frozen=True)
class RegionSpec:
    """One detector region: an |eta| band with its silicon sensors and readout."""

    name: str
    eta_min: float
    eta_max: float
    thickness_um: int
    cells_per_tc: int          # 4 sensor cells per trigger cell (low density), 9 (high density)
    drop_bits: int             # LSBs dropped before the 7-bit float code: 1 (LD) or 3 (HD)
    noise_enc_electrons: float  # equivalent noise charge per sensor cell
    weight: float = 1.0        # relative share of samples


def _default_regions() -> tuple[RegionSpec, ...]:
    return (
        RegionSpec("eta1p5_2p0", 1.5, 2.0, 300, 4, 1, 2500.0, 1.0),
        RegionSpec("eta2p0_2p5", 2.0, 2.5, 200, 4, 1, 2400.0, 1.0),
        RegionSpec("eta2p5_3p0", 2.5, 3.0, 120, 9, 3, 2200.0, 1.0),
    )


@dataclass(frozen=True)
class SyntheticConfig:
    regions: tuple[RegionSpec, ...] = field(default_factory=_default_regions)
    # --- detector (CE-E silicon/W-Cu-Pb, CE-H silicon/steel) ---
    n_layers_ee: int = 28
    n_layers_eh: int = 22
    x0_per_layer_ee: float = 0.93       # 26 X0 over 28 layers
    x0_per_layer_eh: float = 3.9        # ~0.35 lambda of steel per CE-H layer
    lambda_per_layer_ee: float = 0.054  # 1.5 lambda over 28 layers
    lambda_per_layer_eh: float = 0.35
    mips_per_gev_ee: float = 120.0      # MIPs seen by all CE-E layers per GeV of EM energy
    mips_per_gev_eh: float = 30.0       # same per CE-H layer sampling (4x coarser sampling)
    # --- showers ---
    shower_multiplicity_probs: tuple[float, ...] = (0.35, 0.5, 0.15)   # P(0), P(1), P(2) showers
    em_fraction: float = 0.5
    energy_min_gev: float = 5.0
    energy_max_gev: float = 200.0
    energy_spectrum_index: float = 2.0  # dN/dE ∝ E^-index
    critical_energy_mev: float = 8.0
    em_b: float = 0.5                   # Longo profile slope (1/X0)
    moliere_radius_cm: float = 2.8
    em_core_fraction: float = 0.9
    em_core_radius_rm: float = 0.25
    em_tail_radius_rm: float = 1.0
    had_b: float = 1.0                  # hadronic profile slope (1/lambda)
    had_visible_fraction: float = 0.7   # h/e: invisible energy of hadronic showers
    had_core_fraction: float = 0.6
    had_core_radius_cm: float = 3.0
    had_tail_radius_cm: float = 12.0
    # --- pileup (PU 200) ---
    pileup_mips_per_tc_eta1p5: float = 3.0
    pileup_eta_slope: float = 2.0
    pileup_mean_mips_per_particle: float = 1.5
    pileup_peak_layer: float = 10.0
    pileup_layer_width: float = 10.0
    pileup_layer_floor: float = 0.3
    # --- electronics ---
    mip_electrons_per_um: float = 75.0
    adc_lsb_fc: float = 0.16            # HGCROC 10-bit ADC over ~160 fC
    cell_saturation_fc: float = 10000.0  # end of the TOT range
    zs_threshold_mips: float = 0.5
    calibration: int = 2048             # ECON-T CAL register, 2048 = 1.0

    def validate(self, source: str) -> None:
        if not self.regions:
            raise ConfigError(f"{source}: 'regions' is empty; give at least one region.")
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ConfigError(f"{source}: region names must be unique, got {names}.")
        for i, r in enumerate(self.regions):
            if not (0 <= r.eta_min < r.eta_max):
                raise ConfigError(f"{source}: regions[{i}] needs 0 <= eta_min < eta_max, got {r.eta_min}, {r.eta_max}.")
            if r.cells_per_tc <= 0 or r.drop_bits < 0 or r.noise_enc_electrons < 0 or r.weight <= 0:
                raise ConfigError(f"{source}: regions[{i}] needs cells_per_tc > 0, drop_bits >= 0, "
                                  "noise_enc_electrons >= 0 and weight > 0.")
        p = np.asarray(self.shower_multiplicity_probs)
        if p.size == 0 or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
            raise ConfigError(f"{source}: shower_multiplicity_probs must be >= 0 and sum to 1, got {tuple(p)}.")
        if not (0 < self.energy_min_gev < self.energy_max_gev):
            raise ConfigError(f"{source}: need 0 < energy_min_gev < energy_max_gev.")
        if not (0 <= self.em_fraction <= 1 and 0 <= self.em_core_fraction <= 1 and 0 <= self.had_core_fraction <= 1):
            raise ConfigError(f"{source}: em_fraction, em_core_fraction, had_core_fraction must be in [0, 1].")
        if not (0 < self.calibration < 4096):
            raise ConfigError(f"{source}: calibration is a 12-bit register (1..4095), got {self.calibration}.")


DEFAULT_CONFIG_PATH = kit_data("configs", "data", "synthetic.yaml")


def load_synthetic_config(path: str | Path | None = None, overrides: dict | None = None) -> SyntheticConfig:
    """Read a generator config (``configs/data/synthetic.yaml`` by default)."""
    return load_config(SyntheticConfig, kit_config_path("data", path) if path else DEFAULT_CONFIG_PATH, overrides)


# ----------------------------------------------------------------------------------------
# geometry helpers
_CENTRES = cell_centres()
_MODULE_CENTRE = _CENTRES.mean(axis=0)
_MODULE_RADIUS = float(np.linalg.norm(_CENTRES - _MODULE_CENTRE, axis=1).max() + CELL_PITCH_CM / np.sqrt(3))
#: radius of a disk with the area of one hexagonal trigger cell (flat-to-flat = pitch)
_CELL_DISK_RADIUS = float(np.sqrt(np.sqrt(3) / 2 * CELL_PITCH_CM**2 / np.pi))
_D_MAX = 80.0
_D_STEP = 0.05


@functools.lru_cache(maxsize=32)
def _disk_integral_table(radius_cm: float) -> np.ndarray:
    """G(D): fraction of a ``2rR²/(r²+R²)²`` profile inside a cell-sized disk at distance D.

    Computed once per radius by polar quadrature over the disk (Gauss–Legendre in r,
    uniform in angle) on a grid of D; cells are approximated by disks of equal area.
    """
    d = np.arange(0.0, _D_MAX + _D_STEP, _D_STEP)
    a = _CELL_DISK_RADIUS
    xr, wr = np.polynomial.legendre.leggauss(24)
    r = 0.5 * a * (xr + 1.0)
    wr = 0.5 * a * wr
    n_phi = 48
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    px = (r[:, None] * np.cos(phi)[None, :]).ravel()
    py = (r[:, None] * np.sin(phi)[None, :]).ravel()
    w = (wr[:, None] * r[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]).ravel()
    R2 = radius_cm**2
    out = np.empty_like(d)
    for start in range(0, d.size, 256):
        dd = d[start:start + 256, None]
        rho2 = (px[None, :] + dd) ** 2 + py[None, :] ** 2
        dens = R2 / (np.pi * (rho2 + R2) ** 2)
        out[start:start + 256] = (dens * w[None, :]).sum(axis=1)
    return out


def _profile_table(core_fraction: float, core_radius: float, tail_radius: float) -> np.ndarray:
    return core_fraction * _disk_integral_table(core_radius) + (1 - core_fraction) * _disk_integral_table(tail_radius)


def _gamma_pdf(t: np.ndarray, a: np.ndarray, b: float) -> np.ndarray:
    """Longitudinal profile density ``b (bt)^(a-1) e^(-bt) / Γ(a)``, 0 for t <= 0."""
    tt = np.maximum(t, 1e-9)
    logp = np.log(b) + (a - 1) * np.log(b * tt) - b * tt - gammaln(a)
    return np.where(t > 0, np.exp(logp), 0.0)


# ----------------------------------------------------------------------------------------
def _depths(cfg: SyntheticConfig, layer: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mid-layer depth and layer thickness in X0 and lambda, and the MIPs-per-GeV of the layer."""
    ee = layer <= cfg.n_layers_ee
    k = layer - cfg.n_layers_ee
    x0_mid = np.where(ee, (layer - 0.5) * cfg.x0_per_layer_ee,
                      cfg.n_layers_ee * cfg.x0_per_layer_ee + (k - 0.5) * cfg.x0_per_layer_eh)
    x0_thk = np.where(ee, cfg.x0_per_layer_ee, cfg.x0_per_layer_eh)
    la_mid = np.where(ee, (layer - 0.5) * cfg.lambda_per_layer_ee,
                      cfg.n_layers_ee * cfg.lambda_per_layer_ee + (k - 0.5) * cfg.lambda_per_layer_eh)
    la_thk = np.where(ee, cfg.lambda_per_layer_ee, cfg.lambda_per_layer_eh)
    # MIPs per GeV *per unit fraction of shower energy sampled by this layer*
    k_mips = np.where(ee, cfg.mips_per_gev_ee, cfg.mips_per_gev_eh)
    return x0_mid, x0_thk, la_mid, la_thk, k_mips


def _generate_chunk(cfg: SyntheticConfig, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    regions = cfg.regions
    w = np.array([r.weight for r in regions], dtype=float)
    reg = rng.choice(len(regions), size=n, p=w / w.sum())
    eta_lo = np.array([r.eta_min for r in regions])[reg]
    eta_hi = np.array([r.eta_max for r in regions])[reg]
    eta = rng.uniform(eta_lo, eta_hi)
    n_layers = cfg.n_layers_ee + cfg.n_layers_eh
    layer = rng.integers(1, n_layers + 1, size=n)
    phi = rng.uniform(-np.pi, np.pi, size=n)
    x0_mid, x0_thk, la_mid, la_thk, k_mips = _depths(cfg, layer)

    # ---- showers: (n, S) arrays, S = max multiplicity
    probs = np.asarray(cfg.shower_multiplicity_probs, dtype=float)
    S = len(probs) - 1
    n_sh = rng.choice(len(probs), size=n, p=probs / probs.sum())
    mips = np.zeros((n, 48))
    simenergy = np.zeros(n)
    if S > 0:
        active = np.arange(S)[None, :] < n_sh[:, None]
        is_em = rng.random((n, S)) < cfg.em_fraction
        # energy from a power law between min and max (inverse CDF)
        u = rng.random((n, S))
        g = 1.0 - cfg.energy_spectrum_index
        lo, hi = cfg.energy_min_gev, cfg.energy_max_gev
        if abs(g) < 1e-9:
            energy = lo * (hi / lo) ** u
        else:
            energy = (lo**g + u * (hi**g - lo**g)) ** (1.0 / g)
        # EM longitudinal: tmax = ln(E/Ec) - 0.5 (electrons), a = b tmax + 1
        tmax_em = np.maximum(np.log(energy * 1000.0 / cfg.critical_energy_mev) - 0.5, 0.5)
        f_em = _gamma_pdf(x0_mid[:, None], cfg.em_b * tmax_em + 1.0, cfg.em_b) * x0_thk[:, None]
        # hadronic: start after an exponential depth (1 lambda mean), tmax = 0.2 ln E + 0.7 (lambda)
        t0 = rng.exponential(1.0, size=(n, S))
        tmax_h = 0.2 * np.log(energy) + 0.7
        f_had = _gamma_pdf(la_mid[:, None] - t0, cfg.had_b * tmax_h + 1.0, cfg.had_b) * la_thk[:, None]
        f_long = np.where(is_em, f_em, f_had)
        visible = np.where(is_em, 1.0, cfg.had_visible_fraction)
        e_layer = energy * f_long * active                     # GeV of shower energy sampled here
        layer_mips = e_layer * visible * k_mips[:, None]       # MIPs in the layer from this shower
        # axis position: uniform over a disk reaching one profile radius beyond the module edge
        reach = _MODULE_RADIUS + np.where(is_em, cfg.moliere_radius_cm, cfg.had_core_radius_cm)
        rad = reach * np.sqrt(rng.random((n, S)))
        ang = rng.uniform(0, 2 * np.pi, size=(n, S))
        ax = _MODULE_CENTRE[0] + rad * np.cos(ang)
        ay = _MODULE_CENTRE[1] + rad * np.sin(ang)
        dist = np.hypot(_CENTRES[None, None, :, 0] - ax[..., None], _CENTRES[None, None, :, 1] - ay[..., None])
        em_tab = _profile_table(cfg.em_core_fraction, cfg.em_core_radius_rm * cfg.moliere_radius_cm,
                                cfg.em_tail_radius_rm * cfg.moliere_radius_cm)
        had_tab = _profile_table(cfg.had_core_fraction, cfg.had_core_radius_cm, cfg.had_tail_radius_cm)
        tab = np.concatenate([em_tab, had_tab])
        idx = np.minimum(np.rint(dist / _D_STEP).astype(np.int64), em_tab.size - 1)
        idx = idx + np.where(is_em, 0, em_tab.size)[..., None]
        frac = tab[idx]                                         # (n, S, 48) containment per cell
        mips += np.einsum("ns,nsc->nc", layer_mips, frac)
        # a charged hadron crossing the layer before its shower starts leaves ~1 MIP at the axis
        track = active & ~is_em & (t0 > la_mid[:, None])
        near = np.argmin(dist, axis=2)
        on_module = np.min(dist, axis=2) < CELL_PITCH_CM / 2
        rows = np.nonzero(track & on_module)
        np.add.at(mips, (rows[0], near[rows]), 1.0)
        simenergy = (e_layer * frac.sum(axis=2)).sum(axis=1)

    # ---- pileup
    pu_layer = cfg.pileup_layer_floor + (1 - cfg.pileup_layer_floor) * np.exp(
        -(((layer - cfg.pileup_peak_layer) / cfg.pileup_layer_width) ** 2))
    pu_mean = cfg.pileup_mips_per_tc_eta1p5 * np.exp(cfg.pileup_eta_slope * (np.abs(eta) - 1.5)) * pu_layer
    n_particles = rng.poisson((pu_mean / cfg.pileup_mean_mips_per_particle)[:, None], size=(n, 48))
    mips += rng.gamma(np.maximum(n_particles, 1e-300), cfg.pileup_mean_mips_per_particle) * (n_particles > 0)

    # ---- electronics: charge, noise, zero suppression, saturation, hardware codes
    thick = np.array([r.thickness_um for r in regions])[reg]
    cells = np.array([r.cells_per_tc for r in regions])[reg]
    drop = np.array([r.drop_bits for r in regions])[reg]
    enc = np.array([r.noise_enc_electrons for r in regions])[reg]
    q_mip = cfg.mip_electrons_per_um * thick * _FC_PER_ELECTRON          # fC per MIP
    sigma = enc * np.sqrt(cells) * _FC_PER_ELECTRON                       # fC per trigger cell
    charge = mips * q_mip[:, None] + rng.standard_normal((n, 48)) * sigma[:, None]
    keep = charge >= cfg.zs_threshold_mips * q_mip[:, None]
    charge = np.minimum(charge, (cells * cfg.cell_saturation_fc)[:, None])
    adc = np.where(keep, np.floor(np.maximum(charge, 0.0) / cfg.adc_lsb_fc), 0).astype(np.int64)
    calq = np.zeros_like(adc)
    for d in np.unique(drop):
        rows = drop == d
        f2f = decode_float(encode_float(adc[rows], drop_bits=int(d)), drop_bits=int(d))
        calq[rows] = (f2f * cfg.calibration) >> 11
    calq = np.where(keep, calq, 0)

    # wafer coordinates from the module centre position (layer z, eta, phi) on a hexagonal
    # wafer lattice of 16.7 cm pitch (approximate, for bookkeeping only)
    z = np.where(layer <= cfg.n_layers_ee, 322.0 + layer * 1.2, 356.0 + (layer - cfg.n_layers_ee) * 5.0)
    r_mod = z / np.sinh(np.abs(eta))
    xw, yw = r_mod * np.cos(phi), r_mod * np.sin(phi)
    pitch = 16.7
    wu = np.rint((xw - yw / np.sqrt(3)) / pitch).astype(np.int64)
    wv = np.rint(2 * yw / np.sqrt(3) / pitch).astype(np.int64)
    names = np.array([r.name for r in regions])
    return {"charges": calq.astype(np.float64), "layer": layer.astype(np.int64), "eta": eta, "phi": phi,
            "waferu": wu, "waferv": wv, "thickness_um": thick.astype(np.int64), "region": names[reg],
            "simenergy": simenergy, "n_showers": n_sh.astype(np.int64)}


def generate(n: int, seed: int, config: SyntheticConfig | None = None, progress: bool = False) -> Dataset:
    """``n`` synthetic module samples (CALQ integers as float64) with region labels; deterministic per seed."""
    if n < 0:
        raise ConfigError(f"generate: n must be >= 0, got {n}.")
    cfg = config if config is not None else SyntheticConfig()
    cfg.validate("SyntheticConfig")
    parts: list[dict[str, np.ndarray]] = []
    n_chunks = (n + CHUNK - 1) // CHUNK
    it = range(n_chunks)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="generate", unit="chunk")
    for k in it:
        rng = np.random.default_rng([int(seed), k])
        m = min(CHUNK, n - k * CHUNK)
        chunk = _generate_chunk(cfg, rng, CHUNK)   # always a full chunk: sample i independent of n
        parts.append({key: v[:m] for key, v in chunk.items()})
    if not parts:
        parts = [{key: v[:0] for key, v in _generate_chunk(cfg, np.random.default_rng([int(seed), 0]), 1).items()}]
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    charges = merged.pop("charges")
    return Dataset(charges, merged, source=f"synthetic(seed={seed})")
