"""build/rtl/index.json: written by the rtl stage's generator, read back, refused when stale."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from econt.errors import StageError
from econt.rtl import index as rtl_index
from econt.rtl.stage import design_configs, generate_all


def test_index_lists_every_design_and_detects_staleness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    designs = generate_all(tmp_path)
    doc = json.loads((tmp_path / "index.json").read_text())
    assert doc["schema_version"] == 1
    names = [r["name"] for r in doc["designs"]]
    from econt.rtl.config import load_rtl_config
    cfgs = [load_rtl_config(p) for p in design_configs()]
    # a selective design waits for its protection mask (written by `econt faults rank`)
    expected = [c.name for c in cfgs if not (c.tmr == "selective" and not Path(c.protection_mask).is_file())]
    assert names == [d.manifest["name"] for d in designs] and sorted(names) == sorted(expected)
    row = doc["designs"][names.index("econt_chip")]
    assert row["config"] == "configs/rtl/econt_chip.yaml" and row["arithmetic"] == "chip"
    assert row["top"] and all((tmp_path / f).is_file() for f in row["files"])

    d = rtl_index.indexed_design("econt_chip", tmp_path)
    assert d.manifest["config_hash"] == row["config_hash"] and d.top == row["top"]
    with pytest.raises(StageError, match="no design 'nope'"):
        rtl_index.indexed_design("nope", tmp_path)
    # hand-edited Verilog is refused
    v = tmp_path / row["files"][-1]
    v.write_text(v.read_text() + "// edited\n")
    with pytest.raises(StageError, match="edited by hand"):
        rtl_index.indexed_design("econt_chip", tmp_path)
    # a changed RTL config is refused: point the entry at a copy of the config and change the copy
    cfg = tmp_path / "econt_default.yaml"
    cfg.write_text(rtl_index.kit_data("configs", "rtl", "econt_default.yaml").read_text())
    row0 = doc["designs"][names.index("econt_default")]
    row0["config"] = str(cfg)
    (tmp_path / "index.json").write_text(json.dumps(doc))
    assert rtl_index.indexed_design("econt_default", tmp_path).manifest["name"] == "econt_default"
    cfg.write_text(cfg.read_text().replace("pipeline_stages: 2", "pipeline_stages: 3"))
    with pytest.raises(StageError, match="changed"):
        rtl_index.indexed_design("econt_default", tmp_path)


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="econt run rtl"):
        rtl_index.load_index(tmp_path)
