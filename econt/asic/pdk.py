"""PDK configurations (``econt/asic/pdk_configs/*.yaml``): validated dataclasses and library resolution.

A ``library`` config names one real standard-cell library (liberty + LEF) and how to find it:
an environment variable, then ``../shared/<shared_dir>``, then SiliconCompiler's lambdapdk
download. A ``derived`` config (the 65 nm-style estimate) names the real libraries it is derived
from and the published scaling equations used to derive it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from econt.config import load_config
from econt.errors import ConfigError, ToolError
from econt.paths import kit_data, shared_candidates, shared_dir

PDK_CONFIG_DIR = kit_data("asic", "pdk_configs")
ActivitySource = Literal["auto", "econt-vectors", "synthetic", "vectorless"]
TmrOption = Literal["none", "config", "full"]


@dataclass(frozen=True)
class Locate:
    env_var: str
    shared_dir: str
    liberty: str
    lef: str = ""
    lambdapdk_library: str = ""
    lambdapdk_corner: str = "typical"


@dataclass(frozen=True)
class Cells:
    driver: str
    buffer: tuple[str, str, str]
    tie_low: tuple[str, str]
    tie_high: tuple[str, str]
    abc_load_ff: float = 5.0
    dont_use: tuple[str, ...] = ()
    clock_cells: tuple[str, ...] = ()
    # the library's integrated clock-gating cell (its pins are read from the liberty's
    # clock_gate_*_pin attributes), used for the RTL's econt_clock_gate instances
    clock_gate: str = ""


@dataclass(frozen=True)
class Activity:
    """Where switching activity comes from. ``auto``: the ECON-T vectors when ../shared has them,
    else the synthetic test split (the "measured" scenario). The "vectorless" cross-check drives
    every input bit with random transitions at ``vectorless_toggle_rate`` per cycle instead.
    Both are simulated in the RTL (Icarus) and then at gate level (econt.asic.gatepower)."""

    source: ActivitySource = "auto"
    n_events: int = 400
    vectorless_toggle_rate: float = 0.1
    seed: int = 1234

    def validate(self, source: str) -> None:
        if self.n_events < 8:
            raise ConfigError(f"{source}: activity.n_events is {self.n_events}; use at least 8 events.")
        if not 0.0 < self.vectorless_toggle_rate <= 2.0:
            raise ConfigError(f"{source}: activity.vectorless_toggle_rate must be in (0, 2] toggles/cycle, "
                              f"got {self.vectorless_toggle_rate}.")


PowerMethod = Literal["kit", "opensta"]


@dataclass(frozen=True)
class Power:
    """How power is computed from the measured activity (registry: econt.asic.power_methods):
    ``kit`` — the kit's liberty calculation on its zero-delay gate-level simulation; ``opensta`` —
    OpenSTA >= 2.6 ``read_saif`` of the kit's measured activity + ``report_power``."""

    method: PowerMethod = "kit"


@dataclass(frozen=True)
class NodeFit:
    delay: tuple[float, float, float, float]
    energy: tuple[float, float, float]
    power: tuple[float, float, float]


ESTIMATE_QUANTITIES = ("area", "delay", "dynamic", "leakage")


@dataclass(frozen=True)
class Scaling:
    """Node/voltage scaling of the 65 nm-style estimate. ``counts_for[src]`` lists the quantities
    (``ESTIMATE_QUANTITIES``) for which source library ``src`` enters the estimate, by the stated
    ``rule``; every source's scaled figures are reported whether it counts or not."""

    reference: str
    target_fit: str
    fits: dict
    source_fit: dict
    area_to_target: dict
    rule: str
    counts_for: dict


@dataclass(frozen=True)
class Published:
    label: str
    die_area_mm2: float
    power_mw: float
    energy_per_inference_nj: float


@dataclass(frozen=True)
class PdkConfig:
    name: str
    kind: Literal["library", "derived"]
    node_nm: int
    corner: str
    voltage_v: float
    clock_period_ns: float = 25.0
    inference_rate_mhz: float = 40.0
    activity: Activity = field(default_factory=Activity)
    power: Power = field(default_factory=Power)
    tmr: TmrOption = "config"
    utilisation: float = 0.6
    locate: Locate | None = None
    related_pg_pin: str = ""
    cells: Cells | None = None
    derive_from: tuple[str, ...] = ()
    scaling: Scaling | None = None
    published: Published | None = None

    def validate(self, source: str) -> None:
        if self.clock_period_ns <= 0:
            raise ConfigError(f"{source}: clock_period_ns must be > 0, got {self.clock_period_ns}.")
        if self.inference_rate_mhz <= 0:
            raise ConfigError(f"{source}: inference_rate_mhz must be > 0, got {self.inference_rate_mhz}.")
        if not 0.05 <= self.utilisation <= 1.0:
            raise ConfigError(f"{source}: utilisation is {self.utilisation}; give a fraction in [0.05, 1] "
                              "(e.g. 0.6 for 60 % core utilisation).")
        if self.voltage_v <= 0:
            raise ConfigError(f"{source}: voltage_v must be > 0, got {self.voltage_v}.")
        if self.kind == "library":
            if self.locate is None or self.cells is None:
                raise ConfigError(f"{source}: a 'library' PDK config needs the sections 'locate' and 'cells'.")
        else:
            if not self.derive_from or self.scaling is None:
                raise ConfigError(f"{source}: a 'derived' PDK config needs 'derive_from' (real library configs) "
                                  "and 'scaling' (the published scaling coefficients).")
            fits = self.scaling.fits
            for key in [self.scaling.target_fit, *self.scaling.source_fit.values()]:
                fit = fits.get(key)
                if not isinstance(fit, dict) or len(fit.get("delay", ())) != 4 or len(fit.get("energy", ())) != 3 \
                        or len(fit.get("power", ())) != 3:
                    raise ConfigError(f"{source}: scaling.fits['{key}'] must give delay (4 coefficients), "
                                      "energy (3) and power (3).")
            for lib in self.derive_from:
                if lib not in self.scaling.source_fit or lib not in self.scaling.area_to_target \
                        or lib not in self.scaling.counts_for:
                    raise ConfigError(f"{source}: derive_from names '{lib}' but scaling.source_fit / "
                                      f"scaling.area_to_target / scaling.counts_for has no entry for it; add all three.")
                bad = set(self.scaling.counts_for[lib]) - set(ESTIMATE_QUANTITIES)
                if bad:
                    raise ConfigError(f"{source}: scaling.counts_for['{lib}'] has {sorted(bad)}; use only "
                                      f"{', '.join(ESTIMATE_QUANTITIES)}.")
            for q in ESTIMATE_QUANTITIES:
                if not any(q in self.scaling.counts_for[lib] for lib in self.derive_from):
                    raise ConfigError(f"{source}: no library in derive_from counts for '{q}' "
                                      f"(scaling.counts_for); the estimate needs at least one per quantity.")


def pdk_config_path(name: str) -> Path:
    return PDK_CONFIG_DIR / f"{name}.yaml"


def load_pdk_config(name_or_path: str | Path, overrides: dict | None = None) -> PdkConfig:
    """Load ``econt/asic/pdk_configs/<name>.yaml`` (or an explicit path) into a validated :class:`PdkConfig`."""
    path = Path(name_or_path)
    if not path.suffix:
        path = pdk_config_path(str(name_or_path))
        if not path.is_file():
            known = sorted(p.stem for p in PDK_CONFIG_DIR.glob("*.yaml"))
            raise ConfigError(f"{path}: no PDK config named '{name_or_path}'. Known: {', '.join(known)}.")
    return load_config(PdkConfig, path, overrides)


@dataclass(frozen=True)
class ResolvedLibrary:
    """The files of one real library, and where they were found."""

    pdk: PdkConfig
    liberty: Path
    lef: Path | None
    found_via: str  # "env:<VAR>", "shared", "lambdapdk"


def _lambdapdk_liberty(cfg: PdkConfig) -> tuple[Path, Path | None]:
    """Ask SiliconCompiler's lambdapdk for the library files (downloads into SC's cache)."""
    loc = cfg.locate
    if cfg.name == "sky130hd":
        from lambdapdk.sky130.libs.sky130sc import Sky130_SCHDLibrary as Lib
    elif cfg.name == "nangate45":
        from lambdapdk.freepdk45.libs.nangate45 import Nangate45 as Lib
    else:
        raise ToolError(f"no lambdapdk library known for {cfg.name}")
    lib = Lib()
    libs = lib.find_files("fileset", f"models.timing.{loc.lambdapdk_corner}.nldm", "file", "liberty")
    lefs = lib.find_files("fileset", "models.physical", "file", "lef")
    if not libs:
        raise ToolError(f"lambdapdk {Lib.__name__} has no liberty for corner {loc.lambdapdk_corner}")
    return Path(libs[0]), (Path(lefs[0]) if lefs else None)


def resolve_library(cfg: PdkConfig, allow_download: bool | None = None) -> ResolvedLibrary:
    """Find the liberty (and LEF) of a ``library`` config: env var → ../shared → lambdapdk.

    Raises ToolError listing all three places when none has the files.
    """
    if cfg.kind != "library" or cfg.locate is None:
        raise ConfigError(f"PDK config {cfg.name} is '{cfg.kind}', not a real library; resolve its derive_from.")
    loc = cfg.locate
    tried: list[str] = []
    env = os.environ.get(loc.env_var)
    if env:
        lib = Path(env) / loc.liberty
        if lib.is_file():
            lef = Path(env) / loc.lef if loc.lef and (Path(env) / loc.lef).is_file() else None
            return ResolvedLibrary(cfg, lib, lef, f"env:{loc.env_var}")
        tried.append(f"1. ${loc.env_var}={env}: {lib} does not exist")
    else:
        tried.append(f"1. environment variable {loc.env_var}: not set")
    root = shared_dir()
    shared = (root / loc.shared_dir) if root is not None else None
    if shared is not None and (shared / loc.liberty).is_file():
        lef = shared / loc.lef if loc.lef and (shared / loc.lef).is_file() else None
        return ResolvedLibrary(cfg, shared / loc.liberty, lef, "shared")
    wheres = [shared] if shared is not None else [c / loc.shared_dir for c in shared_candidates()]
    tried.append(f"2. shared reference data: {' or '.join(str(w / loc.liberty) for w in wheres)} not found")
    if allow_download is None:
        allow_download = os.environ.get("ECONT_OFFLINE", "0") != "1"
    if allow_download and loc.lambdapdk_library:
        try:
            lib, lef = _lambdapdk_liberty(cfg)
            return ResolvedLibrary(cfg, lib, lef, "lambdapdk")
        except Exception as exc:  # network errors, missing package: report with the others
            tried.append(f"3. SiliconCompiler lambdapdk '{loc.lambdapdk_library}' download failed: {exc}")
    elif loc.lambdapdk_library:
        tried.append(f"3. SiliconCompiler lambdapdk '{loc.lambdapdk_library}': download disabled (ECONT_OFFLINE=1)")
    else:
        tried.append("3. no SiliconCompiler lambdapdk download is configured for this library")
    raise ToolError(
        f"PDK '{cfg.name}' ({pdk_config_path(cfg.name)}): liberty file '{loc.liberty}' not found. Tried:\n  "
        + "\n  ".join(tried)
        + f"\nFix: set {loc.env_var} to a folder holding {loc.liberty}, put the shared reference data at "
        "../shared (or ECONT_SHARED), or run online so SiliconCompiler can fetch lambdapdk."
    )
