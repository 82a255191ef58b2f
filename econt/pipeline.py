"""The main job: run the stages in order, skipping those whose inputs have not changed.

Each stage runs in its own Python process (so TensorFlow / simulator memory is returned
between stages) through its ``run_stage(**kwargs) -> dict`` entry point, with its output
teed to ``build/logs/<stage>.log``. A stage's *fingerprint* is a content hash of

* the source files of the package folders it depends on,
* its configuration files,
* the fingerprints of the stages it consumes,
* the reference data it reads (file sizes and modification times under ../shared),

and a stage is skipped when its fingerprint equals the one recorded after its last
successful run (``build/pipeline/state.json``) and its declared outputs exist.
Measured stage times go to ``reports/timings.json``.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from econt.errors import StageError
from econt.paths import repo_root, reports_dir, shared_dir, work_dir


@dataclass(frozen=True)
class Stage:
    name: str
    entry: str  # "module:function", called as function(**kwargs) -> dict
    sources: tuple[str, ...]  # repo-relative folders/files whose content affects the result
    configs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # repo-relative paths that must exist to skip
    uses_shared: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    fix_hint: str = ""


_CORE = ("econt/__init__.py", "econt/config.py", "econt/paths.py", "econt/errors.py", "econt/summary.py", "econt/geometry")

STAGES: dict[str, Stage] = {
    s.name: s
    for s in [
        Stage("data", "econt.data.stage:run_stage", _CORE + ("econt/data",), ("configs/data",),
              outputs=("reports/data/summary.json",), uses_shared=True,
              fix_hint="check configs/data/*.yaml and that ../shared/econt-vectors is readable"),
        Stage("emd", "econt.emd.stage:run_stage", _CORE + ("econt/emd",), ("configs/emd",), after=("data",),
              outputs=("reports/emd/summary.json",), uses_shared=True,
              fix_hint="see configs/emd/*.yaml; delete build/emd to force pair regeneration"),
        Stage("train", "econt.train.stage:run_stage", _CORE + ("econt/train", "econt/model", "econt/export", "econt/emd/cnn.py"),
              ("configs/train", "configs/model"), after=("data", "emd"),
              outputs=("reports/train/summary.json",), uses_shared=True,
              fix_hint="see configs/train/*.yaml (epochs, samples); the EMD-CNN model must exist (stage emd)"),
        Stage("export", "econt.export.stage:run_stage", _CORE + ("econt/export", "econt/model"), ("configs/model",),
              after=("train",), outputs=("build/export",),
              fix_hint="the trained models must exist (stage train); a weight that does not fit its width is named in the log"),
        Stage("rtl", "econt.rtl.stage:run_stage", _CORE + ("econt/rtl", "econt/verify", "econt/model", "econt/export"),
              ("configs/rtl", "configs/model"), after=("export",),
              outputs=("reports/rtl/summary.json", "build/rtl/index.json"), uses_shared=True,
              fix_hint="iverilog/verilator must be installed (make setup); see the log for the first mismatching sample"),
        Stage("conformance", "econt.verify.conformance.run:run_stage",
              _CORE + ("econt/verify/conformance", "econt/data", "econt/model", "econt/export", "econt/rtl"),
              ("configs/model",), after=("rtl",), outputs=("reports/conformance/summary.json",), uses_shared=True,
              fix_hint="needs ../shared/econt-vectors; the log names the first crossing and stage that diverged"),
        Stage("asic", "econt.asic.stage:run_stage", _CORE + ("econt/asic", "econt/rtl", "flows"),
              ("pdk_configs", "configs/rtl", "configs/model"), after=("rtl",),
              outputs=("reports/asic/summary.json",), uses_shared=True,
              fix_hint="PDK libraries are looked up via the env var, ../shared/pdk, or lambdapdk (see pdk_configs/)"),
        Stage("report", "econt.report.dashboard:run_stage", _CORE + ("econt/report",), (),
              after=("data", "emd", "train", "export", "rtl", "asic", "conformance"), outputs=("reports/index.html",),
              fix_hint="run the stages it summarises first (make all)"),
    ]
}

GROUPS: dict[str, list[str]] = {
    "all": ["data", "emd", "train", "export", "rtl", "conformance", "asic", "report"],
    "train": ["data", "emd", "train", "export"],
    "asic": ["data", "emd", "train", "export", "rtl", "asic"],
}


def _hash_path(h: "hashlib._Hash", path: Path, root: Path) -> None:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts:
                _hash_path(h, child, root)
    elif path.is_file():
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())


def _shared_signature() -> str:
    root = shared_dir()
    if root is None:
        return "absent"
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()


def fingerprint(stage: Stage, upstream: dict[str, str], shared_sig: str) -> str:
    root = repo_root()
    h = hashlib.sha256(stage.name.encode())
    for rel in stage.sources + stage.configs:
        _hash_path(h, root / rel, root)
    for dep in stage.after:
        h.update(f"{dep}={upstream.get(dep, '')}".encode())
    if stage.uses_shared:
        h.update(shared_sig.encode())
    h.update(json.dumps(stage.kwargs, sort_keys=True).encode())
    return h.hexdigest()[:20]


def _output_path(rel: str) -> Path:
    """A declared output ("reports/…" or "build/…") under the roots ECONT_REPORTS / ECONT_BUILD select."""
    head, _, rest = rel.partition("/")
    env = {"reports": "ECONT_REPORTS", "build": "ECONT_BUILD"}.get(head)
    base = Path(os.environ.get(env, repo_root() / head)) if env else repo_root() / head
    return base / rest if rest else base


def _state_path() -> Path:
    return work_dir("pipeline") / "state.json"


def _load_state() -> dict[str, Any]:
    p = _state_path()
    return json.loads(p.read_text()) if p.is_file() else {}


def run_in_process(name: str, quick: bool) -> dict:
    """Run one stage in this process (what the per-stage subprocess does)."""
    stage = STAGES[name]
    module_name, func_name = stage.entry.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    kwargs = dict(stage.kwargs)
    if quick:
        kwargs["quick"] = True
    return func(**kwargs) or {}


def run_pipeline(targets: list[str], force: bool = False, quick: bool = False) -> dict[str, Any]:
    names: list[str] = []
    for t in targets:
        for n in GROUPS.get(t, [t]):
            if n not in STAGES:
                choices = list(dict.fromkeys(list(GROUPS) + list(STAGES)))
                raise StageError(f"unknown stage or target '{t}'; choose from {', '.join(choices)}.")
            if n not in names:
                names.append(n)
    order = [n for n in STAGES if n in names]
    state = _load_state()
    shared_sig = _shared_signature()
    logs = work_dir("logs")
    root = repo_root()
    timings: dict[str, Any] = {}
    fingerprints = {k: v.get("fingerprint", "") for k, v in state.items()}
    t_total = time.perf_counter()
    for name in order:
        stage = STAGES[name]
        fp = fingerprint(stage, fingerprints, shared_sig) + ("-quick" if quick else "")
        outputs_ok = all(_output_path(o).exists() for o in stage.outputs)
        if not force and state.get(name, {}).get("fingerprint") == fp and outputs_ok:
            print(f"[econt] stage {name}: inputs unchanged, skipped", flush=True)
            timings[name] = {"seconds": 0.0, "skipped": True}
            fingerprints[name] = fp
            continue
        log_path = logs / f"{name}.log"
        print(f"[econt] stage {name}: running (log: {log_path.relative_to(root) if log_path.is_relative_to(root) else log_path})", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "econt.pipeline", name] + (["--quick"] if quick else [])
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # live log lines
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            rc = proc.wait()
        seconds = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        timings[name] = {"seconds": round(seconds, 1), "skipped": False, "peak_rss_mb_so_far": round(peak_mb)}
        if rc != 0:
            _write_timings(timings, time.perf_counter() - t_total, failed=name)
            tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
            raise StageError(
                f"stage '{name}' failed (exit {rc}) after {seconds:.0f} s.\n"
                f"  log: {log_path}\n  likely fix: {stage.fix_hint or 'see the log'}\n"
                f"  last lines of the log:\n{tail}"
            )
        state[name] = {"fingerprint": fp, "seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        fingerprints[name] = fp
        _state_path().write_text(json.dumps(state, indent=2))
        _write_timings(timings, time.perf_counter() - t_total)  # progress survives an interrupted run
    return _write_timings(timings, time.perf_counter() - t_total)


def _write_timings(timings: dict[str, Any], total: float, failed: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"stages": timings, "total_seconds": round(total, 1), "machine": {"cpus": os.cpu_count()}}
    # `make all` measures its setup step (venv, pip, Debian tools) and passes it on
    setup = os.environ.get("ECONT_SETUP_SECONDS")
    if setup is not None:
        try:
            doc["setup_s"] = float(setup)
        except ValueError:
            raise StageError(f"ECONT_SETUP_SECONDS={setup!r} is not a number of seconds; unset it or "
                             "let `make all` set it.") from None
    #: the whole run: the stages plus, when `make all` measured it, its setup
    doc["total_s"] = round(total + doc.get("setup_s", 0.0), 1)
    if failed:
        doc["failed_stage"] = failed
    path = reports_dir() / "timings.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    # keep times of stages not run this time (e.g. `make train` after `make all`)
    merged = dict(previous.get("stages", {}))
    merged.update(timings)
    doc["stages"] = merged
    path.write_text(json.dumps(doc, indent=2))
    return doc


def _main(argv: list[str]) -> int:
    import argparse

    import econt  # noqa: F401

    p = argparse.ArgumentParser(prog="python -m econt.pipeline", description="run one pipeline stage in-process")
    p.add_argument("stage", choices=list(STAGES))
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    result = run_in_process(a.stage, a.quick)
    print(f"[econt] stage {a.stage}: done: " + json.dumps(result, default=str)[:2000], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
