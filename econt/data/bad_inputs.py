"""How many bad-input tests the kit has: ``reports/data/summary.json`` ``bad_input_cases_tested``.

Written by the pipeline's ``bad-inputs`` stage (:func:`run_stage`), whose fingerprint is those test
files: an edit of the tests updates the count without rerunning the data stage.

Counted by collecting ``tests/test_bad_inputs*.py`` with pytest (each parametrised case of the
catalogue ``BAD_INPUT_CASES`` is one test), never a hand-written number. The tests exist only in
a source checkout: an installed kit (a wheel has no ``tests/``), or one without pytest, records
the count as None and says why in ``bad_input_tests_not_run``.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from econt.errors import StageError
from econt.paths import kit_data, reports_dir, source_checkout
from econt.summary import merge_json

PATTERN = "tests/test_bad_inputs*.py"


def _test_files() -> list[Path]:
    checkout = source_checkout()
    return sorted(checkout.glob(PATTERN)) if checkout is not None else []


def not_run_reason() -> str | None:
    """Why the bad-input tests cannot be counted here, or None when they can."""
    checkout = source_checkout()
    if checkout is None:
        return (f"the bad-input tests ({PATTERN}) are only in a source checkout of the kit; this econt is an "
                f"installed package ({kit_data()}) without them")
    if not _test_files():
        return f"the source checkout {checkout} has no {PATTERN}"
    if importlib.util.find_spec("pytest") is None:
        return "pytest is not installed (pip install -e '.[dev]')"
    return None


def count_bad_input_tests(timeout_s: float = 120.0) -> int:
    """The number of bad-input tests pytest collects (a StageError when the collection fails)."""
    reason = not_run_reason()
    if reason is not None:
        raise StageError(f"cannot count the bad-input tests: {reason}.")
    checkout = source_checkout()
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *map(str, _test_files())]
    try:
        proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise StageError(f"collecting {PATTERN} took over {timeout_s:.0f} s; run `{' '.join(cmd)}` in {checkout}.") from exc
    m = re.search(r"^(\d+) tests? collected", proc.stdout, re.M)
    if proc.returncode != 0 or m is None:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise StageError(f"collecting {PATTERN} failed (exit {proc.returncode}):\n{tail}")
    return int(m.group(1))


def run_stage(quick: bool = False) -> dict[str, Any]:
    """Pipeline stage: merge ``bad_input_cases_tested`` (and ``bad_input_tests_not_run``, the reason
    when they could not be counted) into ``reports/data/summary.json``."""
    reason = not_run_reason()
    count = None if reason else count_bad_input_tests()
    path = reports_dir("data") / "summary.json"
    result = {"bad_input_cases_tested": count, "bad_input_tests_not_run": reason}
    merge_json(path, result)
    print(f"bad-input tests collected: {count}" if reason is None else f"bad-input tests NOT RUN: {reason}",
          f"(written to {path})")
    return result
