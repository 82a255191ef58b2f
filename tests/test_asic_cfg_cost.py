"""The configuration register file synthesised alone (econt asic cfg-regs) on sky130hd, reduced encoder.

tmr=config and tmr=selective differ only in this module: its flops are the manifest's
configuration flops (bits, or bits + 2 x protected), and selective costs less area and power.
"""
from __future__ import annotations

import numpy as np
import pytest

from econt.asic.cfg_cost import cfg_regs_cost, compare
from econt.faults.mask import write_mask
from econt.rtl.config import RtlConfig
from econt.verify.seu import reduced_design


@pytest.mark.slow
def test_register_file_alone_config_vs_selective(tmp_path):
    d_cfg, _ = reduced_design(RtlConfig(name="cc_config", tmr="config"), tmp_path / "config")
    n_image = d_cfg.layout().blocks * d_cfg.layout().bytes_per_block * 8
    prot = np.arange(0, int(d_cfg.manifest["config_bits"]), 7)
    mask = write_mask(tmp_path / "mask.json", prot, n_image)
    d_sel, _ = reduced_design(RtlConfig(name="cc_sel", tmr="selective", protection_mask=mask), tmp_path / "sel")
    costs = [cfg_regs_cost(d.path, "sky130hd", tmp_path / "sc") for d in (d_cfg, d_sel)]
    for c in costs:
        assert c.n_flops == c.manifest_config_flops
    cfg, sel = costs
    assert sel.protected_bits == len(prot) and sel.n_flops == cfg.n_flops // 3 + 2 * len(prot)
    assert sel.cell_area_um2 < cfg.cell_area_um2 and 0 < sel.power_total_mw < cfg.power_total_mw
    doc = compare(costs, tmp_path / "cost.json")
    assert doc["designs"]["selective"]["area_over_tmr_config"] < 1.0
