"""Verilog generator: determinism, lint, manifest, register layout, TMR copies after synthesis."""
from __future__ import annotations

import json

import numpy as np
import pytest

from econt.errors import ConfigError
from econt.model.config import load_encoder_config
from econt.rtl.arch import ArchSpec, arch_from_encoder_config
from econt.rtl.config import RtlConfig, load_rtl_config
from econt.rtl.generator import GeneratedDesign, generate_design
from econt.rtl.layout import ConfigLayout, probe_layout, sequential_layout
from econt.rtl.lint import lint_design
from econt.rtl.synth import synth_stats


@pytest.fixture(scope="module")
def spec() -> ArchSpec:
    return arch_from_encoder_config(load_encoder_config())


def _gen(tmp_path, spec, **kw) -> GeneratedDesign:
    cfg = RtlConfig(**{"name": "t_" + "_".join(f"{k}{v}" for k, v in sorted(kw.items())), **kw})
    return generate_design(cfg, tmp_path / cfg.name, spec=spec, layout=sequential_layout(spec))


def test_default_arch_matches_econt(spec):
    assert spec.config_bits == 12_864 and spec.n_params == 2_144
    assert (spec.conv_out, spec.dense_inputs, spec.latent_bits) == (4, 128, 9)


def test_generation_is_byte_identical(tmp_path, spec):
    a = _gen(tmp_path / "a", spec, tmr="full")
    b = _gen(tmp_path / "b", spec, tmr="full")
    names = sorted(p.name for p in a.path.iterdir())
    assert names == sorted(p.name for p in b.path.iterdir())
    for n in names:
        assert (a.path / n).read_bytes() == (b.path / n).read_bytes(), n
    c = _gen(tmp_path / "c", spec, tmr="none")
    assert c.manifest["config_hash"] != a.manifest["config_hash"]


@pytest.mark.parametrize("tmr,stages,storage,group", [
    ("none", 1, "refresh", "block"), ("none", 2, "refresh", "block"), ("config", 3, "refresh", "block"),
    ("full", 4, "refresh", "block"), ("none", 2, "gated", "byte"), ("none", 2, "gated", "word"),
    ("config", 2, "gated", "block"), ("full", 2, "gated", "word")])
def test_lint_clean(tmp_path, spec, tmr, stages, storage, group):
    d = _gen(tmp_path, spec, tmr=tmr, pipeline_stages=stages, cfg_storage=storage, cfg_gate_group=group)
    res = lint_design(d)
    assert res["lint_warnings"] == 0 and res["lint_errors"] == 0, res["messages"][:10]
    assert d.manifest["latency_cycles"] == stages
    assert len(d.manifest["pipeline_registers"]) == stages


def test_lint_reports_warnings(tmp_path, spec):
    """The lint wrapper does see warnings (so 0 above means clean)."""
    d = _gen(tmp_path, spec)
    top = d.path / "econt_encoder.v"
    top.write_text(top.read_text().replace("endmodule", "  wire [3:0] probe_w = calq[7:0];\nendmodule"))
    assert lint_design(d)["lint_warnings"] >= 1


def test_manifest_and_hierarchy(tmp_path, spec):
    d = _gen(tmp_path, spec)
    m = json.loads((d.path / "manifest.json").read_text())
    assert m["top"] == "econt_encoder" and m["config_bits"] == 12_864 and m["config_flops"] == 12_864
    assert m["hierarchy"] == {"econt_conv_filter": 8, "econt_dense_neuron": 16}
    top = (d.path / "econt_encoder.v").read_text()
    assert top.count("econt_conv_filter u_conv") == 8 and top.count("econt_dense_neuron u_dense") == 16
    ports = {p["name"]: p["width"] for p in m["ports"]}
    assert ports["calq"] == 48 * 22 and ports["latent"] == 144 and ports["modsum_code"] == 9
    assert (ports["cfg_block"], ports["cfg_byte"], ports["cfg_wdata"]) == (4, 8, 8)
    lay = d.layout()
    assert lay.blocks == 12 and lay.bytes_per_block == 134 and list(lay.param_bit) == list(range(12_864))
    t = _gen(tmp_path, spec, tmr="config")
    assert t.manifest["config_flops"] == 3 * 12_864


def test_rtl_config_validation(tmp_path):
    with pytest.raises(ConfigError, match="pipeline_stages"):
        RtlConfig(pipeline_stages=7).validate("x.yaml")
    with pytest.raises(ConfigError, match="hardwired"):
        RtlConfig(weights="hardwired", tmr="config", hardwired_weights="w.json").validate("x.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntmr: double\n")
    with pytest.raises(ConfigError, match="tmr"):
        load_rtl_config(bad)
    for name in ("econt_default", "econt_tmr_config", "econt_tmr_full"):
        assert load_rtl_config(name).name == name and load_rtl_config(name).cfg_storage == "refresh"
    for name in ("econt_gated", "econt_tmr_config_gated", "econt_tmr_full_gated"):
        assert load_rtl_config(name).cfg_storage == "gated"
    bad.write_text("name: x\ncfg_storage: latched\n")
    with pytest.raises(ConfigError, match="cfg_storage"):
        load_rtl_config(bad)
    bad.write_text("name: x\ncfg_gate_group: nibble\n")
    with pytest.raises(ConfigError, match="cfg_gate_group"):
        load_rtl_config(bad)


def test_layout_roundtrip_and_probe(spec):
    rng = np.random.default_rng(0)
    params = rng.integers(-32, 32, size=spec.n_params)
    lay = sequential_layout(spec)
    img = lay.params_to_image(params, spec)
    assert len(img) == 12 and all(len(b) == 134 for b in img)
    assert np.array_equal(lay.image_to_params(img, spec), params)
    # probing a scrambled exporter recovers its permutation
    perm = rng.permutation(spec.config_bits)
    scrambled = ConfigLayout(tuple(int(v) for v in perm), 12, 1072)
    got = probe_layout(lambda p: scrambled.params_to_image(p, spec), spec)
    assert got.param_bit == scrambled.param_bit


def test_layout_matches_export(spec):
    """The register map used by the RTL is exactly the export stage's i2c_bytes."""
    from econt.export import i2c_bytes
    from econt.model.integer import IntegerWeights
    from econt.rtl.layout import layout_from_export, split_params

    cfg = load_encoder_config()
    lay = layout_from_export(spec, cfg)
    rng = np.random.default_rng(3)
    params = rng.integers(-32, 32, size=spec.n_params)
    cw, cb, dw, db = split_params(params, spec)
    img = i2c_bytes(IntegerWeights(cfg, cw, cb, dw, db))
    assert [list(b) for b in img] == lay.params_to_image(params, spec)


def test_tmr_copies_survive_synthesis(tmp_path):
    """yosys keeps three copies of every TMR flop (it merges identical flops unless kept)."""
    small = ArchSpec(conv_filters=1, latent=2)           # 44 parameters = 264 config bits = 33 bytes
    layout = ConfigLayout(tuple(range(small.config_bits)), 1, small.config_bits)
    flops = {}
    for tmr in ("none", "config", "full"):
        d = generate_design(RtlConfig(name=f"s_{tmr}", tmr=tmr), tmp_path / tmr, spec=small, layout=layout)
        flops[tmr] = synth_stats(d, top="econt_cfg_regs", workdir=tmp_path)["flops"]
        flops[tmr + "_pipe"] = synth_stats(d, top="econt_pipe_reg", params={"W": 16}, workdir=tmp_path)["flops"]
    assert flops["none"] == 264
    assert flops["config"] == 3 * 264 and flops["full"] == 3 * 264
    assert flops["none_pipe"] == 16 and flops["config_pipe"] == 16 and flops["full_pipe"] == 48


@pytest.mark.parametrize("tmr,group,gates", [("none", "byte", 33), ("none", "word", 9), ("config", "block", 3),
                                             ("config", "word", 27)])
def test_gated_storage_after_synthesis(tmp_path, tmr, group, gates):
    """Gated storage: the copies and one clock gate per group (and copy) survive synthesis, and
    every configuration flop is clocked by a clock gate, none by the free-running clock."""
    from econt.rtl.gating import _clock_census, _synth

    small = ArchSpec(conv_filters=1, latent=2)
    layout = ConfigLayout(tuple(range(small.config_bits)), 1, small.config_bits)   # one block of 33 bytes
    d = generate_design(RtlConfig(name=f"g_{tmr}_{group}", tmr=tmr, cfg_storage="gated", cfg_gate_group=group),
                        tmp_path / "d", spec=small, layout=layout)
    assert d.manifest["cfg_gating"]["clock_gates"] == gates
    assert (tmp_path / "d" / "econt_clock_gate.v").is_file()
    free, n_gates, gated = _clock_census(_synth(d, None, tmp_path)["netlist"])
    assert free == 0 and n_gates == gates
    assert sum(gated.values()) == (3 if tmr == "config" else 1) * 264
    # the clock gate's latch model synthesises to a latch when flattened (RTL simulation model)
    assert synth_stats(d, top="econt_clock_gate", workdir=tmp_path)["cells_by_type"].get("$_DLATCH_N_", 0) == 1


def test_register_file_stores_only_the_bytes_that_carry_configuration(tmp_path):
    """A model smaller than the ECON-T's fills the first bytes of the 134-byte block: only those get
    registers (and clock gates); the rest of the address map reads 0. The full encoder fills all."""
    from econt.rtl.gating import _clock_census, _synth

    small = ArchSpec(conv_filters=1, latent=2)                      # 264 bits = 33 bytes
    layout = ConfigLayout(tuple(range(small.config_bits)), 1, 1072)  # in a 134-byte ECON-T block
    assert layout.stored_bytes == 33
    assert sequential_layout(arch_from_encoder_config(load_encoder_config())).stored_bytes == 12 * 134
    d = generate_design(RtlConfig(name="stored", tmr="config", cfg_storage="gated", cfg_gate_group="word"),
                        tmp_path / "d", spec=small, layout=layout)
    assert d.manifest["register_map"]["stored_bytes"] == 33 and d.manifest["config_flops"] == 3 * 264
    assert d.manifest["cfg_gating"]["groups"] == 9                   # 4-byte words 0..8 hold bytes 0..32
    free, n_gates, gated = _clock_census(_synth(d, None, tmp_path)["netlist"])
    assert free == 0 and n_gates == 27 and sum(gated.values()) == 3 * 264


def test_cli_generate(tmp_path):
    from econt.cli.main import main

    assert main(["rtl", "generate", "--config", "econt_tmr_config", "--out", str(tmp_path / "d"), "--lint"]) == 0
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert m["tmr"] == "config" and m["config_flops"] == 3 * 12_864


def test_hardwired_design_lints_and_matches_golden(tmp_path, spec):
    """Hardwired mode: weights baked in as per-instance parameters, no register port."""
    from econt.model.integer import random_integer_weights
    from econt.verify.sim import StreamChunk, simulate, weights_flat
    from econt.verify.stimulus import extreme_calq

    w = random_integer_weights(load_encoder_config(), 4)
    cfg = RtlConfig(name="hw", weights="hardwired", hardwired_weights="unused.json", pipeline_stages=1)
    d = generate_design(cfg, tmp_path / "hw", spec=spec, hardwired_params=weights_flat(w))
    assert d.manifest["config_bits"] == 0 and not (tmp_path / "hw" / "econt_cfg_regs.v").exists()
    assert "cfg_we" not in {p["name"] for p in d.manifest["ports"]}
    assert lint_design(d)["lint_warnings"] == 0
    res = simulate(d, [w], [StreamChunk(0, extreme_calq(24, seed=8))], tmp_path / "sim")
    assert res.mismatches == 0
