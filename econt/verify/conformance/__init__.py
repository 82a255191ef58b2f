"""ECON-T conformance: reproduce the ECON-T emulator's output words bit for bit.

Public API:

* :func:`load_chip_config` / :class:`EcontChipConfig` — import an ECON-T ``init.yaml`` (either schema).
* :func:`format_frames` / :func:`decode_frames` — the autoencoder formatter and its inverse.
* :func:`golden_chain`, :func:`run_case`, :func:`run_conformance`, :func:`run_stage` — the conformance run
  (golden integer model and generated RTL), writing ``reports/conformance/summary.json``.

See ``README.md`` in this folder for the specification pinned against ``../shared/econt-vectors``.
"""
from __future__ import annotations

from econt.verify.conformance.config import EcontChipConfig, load_chip_config
from econt.verify.conformance.formatter import decode_frames, format_frames
from econt.verify.conformance.run import golden_chain, run_case, run_conformance, run_stage, shared_cases

__all__ = ["EcontChipConfig", "load_chip_config", "format_frames", "decode_frames", "golden_chain", "run_case",
           "run_conformance", "run_stage", "shared_cases"]
