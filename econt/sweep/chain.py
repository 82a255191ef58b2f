"""One sweep trial through the kit's stages — the only module that knows their APIs.

``run_trial`` trains the sampled encoder (QAT, one loss, no per-region fine-tunes), measures its
mean exact EMD on the synthetic test split and on the real ECON-T vectors, checks the integer
model bit-exactly against QKeras, generates the RTL and simulates it against the golden model
with the trained weights, then synthesises it on the study's PDK and computes the kit's
gate-level power from a simulation of real events with the trained weights loaded.
When a stage's API moves, only this file changes.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from econt.config import build_dataclass, to_plain
from econt.errors import StageError
from econt.sweep.config import StudyConfig, encoder_config
from econt.sweep.study import TrialDesign


@dataclass
class TrialResult:
    emd_test: float
    emd_real: float | None
    bit_exact_mismatches: int
    bit_exact_samples: int
    sim_mismatches: int
    sim_samples: int
    area_mm2: float
    cell_area_um2: float
    energy_nj: float
    power_mw: float
    setup_slack_ns: float
    timing_met: bool
    n_params: int
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _train_config(cfg: StudyConfig, model_yaml: Path, out: Path):
    from econt.train.config import TrainConfig

    t = cfg.training
    doc = {"seed": cfg.seed, "model_config": str(model_yaml), "losses": [t.loss], "out_dir": str(out),
           "reports_dir": str(out / "reports"),
           "data": {"source": t.data_source, "n_samples": t.n_samples},
           "fit": {"epochs": t.epochs, "batch_size": t.batch_size, "learning_rate": t.learning_rate,
                   "patience": t.patience, "monitor": t.monitor},
           "regions": {"enabled": False},
           "evaluation": {"n_displays": 0, "bit_exact_samples": cfg.checks.bit_exact_samples, "workers": 1},
           "progress": False}
    return build_dataclass(TrainConfig, doc, source=f"study '{cfg.name}' training section")


def _register_writes(weights: Any) -> list[tuple[int, int, int]]:
    """(block, byte, value) writes of the trained weights' I2C register image."""
    from econt.export.i2c import i2c_bytes

    return [(b, k, int(v)) for b, blk in enumerate(i2c_bytes(weights)) for k, v in enumerate(blk)]


def _activity(design: Any, weights: Any, pdk: Any, work: Path) -> dict:
    """The ASIC stage's activity measurement, with the trial's trained weights in the registers
    (the stage's own default loads the deployed ECON-T image, made for another architecture)."""
    from econt.asic import activity as act

    manifest = design.manifest
    has_cfg = any(p["name"] == "cfg_we" for p in manifest["ports"])
    stim = act.make_stimulus(pdk.activity.source, pdk.activity.n_events, pdk.activity.seed, has_cfg)
    if has_cfg:
        stim.cfg_bytes = _register_writes(weights)
        stim.weights_source = "the trial's trained weights"
    work.mkdir(parents=True, exist_ok=True)
    vcd = act.simulate(design.files, act.write_testbench(manifest, stim, work, pdk.clock_period_ns), work)
    inputs = [p for p in manifest["ports"] if p["dir"] == "input"]
    rates = act.toggle_rates(vcd, pdk.clock_period_ns)
    path = work / "activity.txt"
    path.write_text("\n".join(act.port_activity_lines(rates, f"{act.TB_TOP}.dut", inputs)) + "\n")
    vwork = work / "vectorless"
    vstim = act.random_toggle_stimulus(stim, manifest, pdk.activity.vectorless_toggle_rate, pdk.activity.seed)
    vvcd = act.simulate(design.files, act.write_testbench(manifest, vstim, vwork, pdk.clock_period_ns), vwork)
    return {"activity_file": path, "vcd_measured": vcd, "vcd_vectorless": vvcd, "events_source": stim.source,
            "weights_source": stim.weights_source, "n_events": int(len(stim.calq))}


def run_trial(cfg: StudyConfig, design: TrialDesign, work: Path, trial_number: int) -> TrialResult:
    """The full flow for one sampled design (raises StageError when a check fails)."""
    import numpy as np

    from econt.asic.flow import detect_tools
    from econt.asic.pdk import load_pdk_config
    from econt.asic.stage import DesignSpec, run_one
    from econt.model.integer import extract_integer_weights
    from econt.rtl.config import RtlConfig
    from econt.rtl.generator import generate_design
    from econt.rtl.stage import verify_design
    from econt.train import evaluate as ev
    from econt.train.fit import predict_cells
    from econt.train.stage import bit_exact_check, load_data, load_real_vectors, train_loss

    seconds: dict[str, float] = {}
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    enc = encoder_config(**design.encoder, decoder_output_activation="relu")
    enc.validate(f"trial {trial_number}")
    model_yaml = work / "model_config.yaml"
    model_yaml.write_text(yaml.safe_dump(to_plain(enc), sort_keys=False))
    tcfg = _train_config(cfg, model_yaml, work / "train")

    t0 = time.perf_counter()
    train, val, test, _ = load_data(tcfg, enc)
    real, _ = load_real_vectors(tcfg, enc)
    emd_fn = None
    if cfg.training.loss == "emd_cnn":
        from econt.train.stage import _emd_cnn_fn

        emd_fn, _ = _emd_cnn_fn(tcfg)
    ae, _fit = train_loss(cfg.training.loss, tcfg, enc, train, val, work / "train", emd_fn)
    seconds["train_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    emd_test = ev.emd_stats(ev.emd_per_sample(test.charges, predict_cells(ae, test.x), workers=1))["mean"]
    emd_real = None
    if real is not None:
        emd_real = ev.emd_stats(ev.emd_per_sample(real.charges, predict_cells(ae, real.x), workers=1))["mean"]
    encoder = ae.get_layer("encoder")
    mism, n_bit = bit_exact_check(encoder, enc, [test.charges, real.charges if real is not None else None],
                                  cfg.checks.bit_exact_samples, cfg.seed)
    seconds["evaluate_s"] = time.perf_counter() - t0
    if mism:
        raise StageError(f"trial {trial_number}: integer model differs from QKeras on {mism} latent values "
                         f"of {n_bit} samples; see {work}.")

    t0 = time.perf_counter()
    weights = extract_integer_weights(encoder, enc)
    rcfg = RtlConfig(name=f"trial{trial_number}", model_config=str(model_yaml), tmr=design.rtl["tmr"],
                     pipeline_stages=design.rtl["pipeline_stages"],
                     cfg_storage=design.rtl["cfg_storage"], arithmetic=design.rtl["arithmetic"],
                     clock_mhz=design.rtl["clock_mhz"])
    gen = generate_design(rcfg, work / "rtl")
    sim = verify_design(gen, [("trained", weights)], cfg.checks.sim_samples, cfg.seed, work / "sim")
    seconds["rtl_sim_s"] = time.perf_counter() - t0
    if sim["sim_mismatches"]:
        raise StageError(f"trial {trial_number}: RTL differs from the golden model on {sim['sim_mismatches']} "
                         f"outputs of {sim['sim_samples']} samples; see {work / 'sim'}.")

    t0 = time.perf_counter()
    pdk = load_pdk_config(cfg.pdk)
    act_info = _activity(gen, weights, pdk, work / "activity")
    entry = run_one(DesignSpec(rcfg.name, gen.path), cfg.pdk, act_info, detect_tools(), work / "sc")
    seconds["asic_s"] = time.perf_counter() - t0
    period = 1000.0 / cfg.clock_mhz
    slack = float(entry["setup_slack_ns"]) + (period - float(entry["clock_period_ns"]))
    return TrialResult(
        emd_test=float(emd_test), emd_real=None if emd_real is None else float(emd_real),
        bit_exact_mismatches=mism, bit_exact_samples=n_bit,
        sim_mismatches=int(sim["sim_mismatches"]), sim_samples=int(sim["sim_samples"]),
        area_mm2=float(entry["die_area_mm2"]), cell_area_um2=float(entry["cell_area_um2"]),
        energy_nj=float(entry["energy_per_inference_nj"]), power_mw=float(entry["power_mw"]["total_mw"]),
        setup_slack_ns=slack, timing_met=bool(slack >= 0), n_params=int(enc.n_params),
        seconds={k: round(v, 1) for k, v in seconds.items()})
