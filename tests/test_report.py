"""Dashboard: renders in headless Chromium, loads its images, shows the JSON's numbers."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from econt.report.dashboard import build_dashboard, fmt, get_path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed: run `make setup` (it installs Debian's chromium)"
    return exe


def _fake_reports(root: Path) -> None:
    """A small but complete set of stage outputs, with real PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econt.geometry.display import save_event_displays

    (root / "train").mkdir(parents=True)
    (root / "asic").mkdir()
    (root / "rtl").mkdir()
    (root / "conformance").mkdir()
    (root / "train" / "summary.json").write_text(json.dumps({
        "losses": {"mse": {"mean_emd_test": 1.234567, "median_emd_test": 1.01, "mean_emd_real": 1.5},
                   "emd_cnn": {"mean_emd_test": 0.8123, "median_emd_test": 0.7, "mean_emd_real": 1.1}},
        "deployed_mean_emd_real": 1.3, "ratio_emd_cnn_over_mse_test": 0.658, "bit_exact_mismatches": 0,
        "chip_arithmetic_training": {"losses": {"emd_cnn": {
            "mean_emd_test_exact_sums_trained": 1.195, "mean_emd_test_chip_trained": 0.52,
            "mean_emd_real_exact_sums_trained": 1.386, "mean_emd_real_chip_trained": 0.55}}}}))
    (root / "asic" / "summary.json").write_text(json.dumps({"entries": {
        "default_tmr_config/sky130hd": {"cell_area_um2": 1234567.8, "die_area_mm2": 2.5, "fmax_mhz": 55.5,
                                        "power_mw": 12.25, "energy_per_inference_nj": 0.306, "n_flops": 13000}}}))
    (root / "rtl" / "summary.json").write_text(json.dumps({
        "designs": {"econt_default": {"lint_warnings": 0, "sim_samples": 10000, "sim_mismatches": 0, "latency_cycles": 2,
                                      "config_bits": 12864}},
        "seu": {"none": {"config_upsets_injected": 60, "config_outputs_corrupted": 739, "pipeline_upsets_injected": 60,
                         "pipeline_outputs_corrupted": 60},
                "config": {"config_upsets_injected": 60, "config_outputs_corrupted": 0, "pipeline_upsets_injected": 60,
                           "pipeline_outputs_corrupted": 60}}}))
    (root / "conformance" / "summary.json").write_text(json.dumps({"configs": {
        "AE_8x8_c8_S2_ele_qkeras": {"crossings": 3564, "words_compared": 46332,
                                    "golden": {"words_matching": 46332, "words_compared": 46332}}}}))
    fig, ax = plt.subplots()
    ax.plot(np.arange(10))
    fig.savefig(root / "train" / "curve.png")
    plt.close(fig)
    save_event_displays(root / "train" / "worst_events.png", [np.arange(48.0)], ["worst"])
    (root / "train" / "captions.json").write_text(json.dumps({"curve.png": "Training loss per epoch"}))


def test_dashboard_in_headless_chromium(tmp_path):
    reports = tmp_path / "reports"
    _fake_reports(reports)
    index = build_dashboard(reports)
    dom = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-images="2"' in body, body
    assert 'data-broken-images="0"' in body, body
    assert "Training loss per epoch" in dom
    assert 'data-key="chip_arithmetic_training.losses.emd_cnn.mean_emd_test_chip_trained">0.520<' in dom
    # every headline cell shows exactly the value in its JSON file
    cells = re.findall(r'data-source="([^"]+)" data-key="([^"]+)">([^<]*)<', dom)
    assert len(cells) >= 25
    for source, key, text in cells:
        value = get_path(json.loads((reports / source).read_text()), key)
        assert text == fmt(value), (source, key, text, value)
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1280,2000", f"--screenshot={shot}", index.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000


def test_dashboard_marks_missing_stages(tmp_path):
    index = build_dashboard(tmp_path)
    text = index.read_text()
    assert "Training has not run yet" in text and "The ASIC flow has not run yet" in text
    assert "Chip-arithmetic training has not run" in text


def test_broken_image_is_detected(tmp_path):
    """The load check itself must be able to fail."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "summary.json").write_text("{}")
    (tmp_path / "data" / "bad.png").write_bytes(b"not a png")
    index = build_dashboard(tmp_path)
    dom = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'data-broken-images="1"' in dom


@pytest.mark.parametrize("value,text", [(1234567.8, "1,234,568"), (12.25, "12.2"), (0.306, "0.306"),
                                        (3, "3"), (float("nan"), "n/a"), (0.0012, "1.20e-03")])
def test_number_format(value, text):
    assert fmt(value) == text


def test_dashboard_shows_the_deployed_baseline_finding(tmp_path):
    (tmp_path / "emd").mkdir()
    finding = "worse than a flat map: deployed 2.25 vs flat map 1.28. Likely cause: decoder output layout/weights."
    (tmp_path / "emd" / "summary.json").write_text(json.dumps({"peers": {"deployed_baseline": {"finding": finding}}}))
    text = build_dashboard(tmp_path).read_text()
    assert "Deployed baseline on the real vectors — worse than a flat map: deployed 2.25" in text
