"""How many bad-input tests the kit has: ``reports/data/summary.json`` ``bad_input_cases_tested``.

Written by the pipeline's ``bad-inputs`` stage (:func:`run_stage`), whose fingerprint is those test
files: an edit of the tests updates the count without rerunning the data stage.

Counted by collecting ``tests/test_bad_inputs*.py`` with pytest (each parametrised case of the
catalogue ``BAD_INPUT_CASES`` is one test), never a hand-written number. ``None`` when the
checkout has no tests folder or pytest is not installed (a pip-installed kit).
"""
from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from econt.paths import repo_root, reports_dir
from econt.summary import merge_json


def count_bad_input_tests(timeout_s: float = 120.0) -> int | None:
    tests = sorted((repo_root() / "tests").glob("test_bad_inputs*.py"))
    if not tests:
        return None
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                               *map(str, tests)], cwd=repo_root(), capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"^(\d+) tests? collected", proc.stdout, re.M)
    if proc.returncode != 0 or m is None:
        return None
    return int(m.group(1))


def run_stage(quick: bool = False) -> dict[str, Any]:
    """Pipeline stage: merge ``bad_input_cases_tested`` into ``reports/data/summary.json``."""
    count = count_bad_input_tests()
    path = reports_dir("data") / "summary.json"
    merge_json(path, {"bad_input_cases_tested": count})
    print(f"bad-input tests collected: {count if count is not None else 'none (no tests folder or no pytest)'}; "
          f"written to {path}")
    return {"bad_input_cases_tested": count}
