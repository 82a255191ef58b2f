"""Shared pytest fixtures.

``shared`` gives the reference-data folder (../shared or $ECONT_SHARED) and skips the test
with a clear message when it is absent. ``full`` is True when ECONT_FULL=1: slow tests then
run their full-size variant, otherwise a reduced one that fits the CI budget.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import econt  # noqa: F401  (environment for TF/POT)
from econt.paths import shared_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    root = shared_dir()
    if root is None:
        pytest.skip("reference data ../shared is absent (set ECONT_SHARED to its location)")
    return root


@pytest.fixture(scope="session")
def full() -> bool:
    return os.environ.get("ECONT_FULL", "0") == "1"
