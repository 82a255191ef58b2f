"""The main job: run the stages in order, skipping those whose inputs have not changed.

Each stage runs in its own Python process (so TensorFlow / simulator memory is returned
between stages) through its ``run_stage(**kwargs) -> dict`` entry point, with its output
teed to ``build/logs/<stage>.log``. A stage's *fingerprint* is a content hash of

* the source files it runs: its entry module and every ``econt`` module that module imports,
  transitively (:func:`module_sources`: an ``ast`` walk over every ``import`` statement,
  function-level ones included, plus string literals naming an ``econt`` module, such as the
  cocotb test module handed to the simulator) — never a hand-written list, so a stage is
  rerun when any file it imports changes and only then;
* non-Python files it reads (``extra_sources``: the Tcl flows) and its configuration files;
* what it consumes from earlier stages: the content of the artifacts it declares
  (``inputs``, e.g. ``build/rtl/index.json``, which lists the designs with their Verilog
  hashes) or, for stages that consume an earlier stage's outputs as a whole, that stage's
  fingerprint (``uses``; by default every stage in ``after``);
* the reference data it reads (file sizes and modification times under ../shared),

and a stage is skipped when its fingerprint equals the one recorded after its last
successful run (``build/pipeline/state.json``) and its declared outputs exist. ``after`` only
orders the stages. Measured stage times go to ``reports/timings.json``.
"""
from __future__ import annotations

import ast
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
from econt.paths import kit_data, output_path, reports_dir, shared_dir, shown, work_dir, workdir


@dataclass(frozen=True)
class Stage:
    name: str
    entry: str  # "module:function", called as function(**kwargs) -> dict
    configs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # stages that run first
    outputs: tuple[str, ...] = ()  # "build/…", "reports/…" paths that must exist to skip
    uses_shared: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    fix_hint: str = ""
    #: non-Python files/folders/globs the stage reads, relative to :func:`source_root` (its Python
    #: sources are derived)
    extra_sources: tuple[str, ...] = ()
    #: artifacts of earlier stages ("build/…", "reports/…") whose content the stage consumes
    inputs: tuple[str, ...] = ()
    #: earlier stages whose fingerprint enters this one (None → every stage in ``after``)
    uses: tuple[str, ...] | None = None

    @property
    def module(self) -> str:
        return self.entry.split(":")[0]

    @property
    def upstream(self) -> tuple[str, ...]:
        return self.after if self.uses is None else self.uses


STAGES: dict[str, Stage] = {
    s.name: s
    for s in [
        Stage("data", "econt.data.stage:run_stage", ("econt/configs/data",),
              outputs=("reports/data/summary.json",), uses_shared=True,
              fix_hint="check econt/configs/data/*.yaml and that ../shared/econt-vectors is readable"),
        # the bad-input test count is its own stage: an edit of those tests reruns this count and
        # the dashboard, not the data stage and everything trained on its output. It follows the data
        # stage (a rerun of that stage rewrites the summary the count is merged into).
        Stage("bad-inputs", "econt.data.bad_inputs:run_stage", (), after=("data",),
              extra_sources=("tests/test_bad_inputs*.py",), outputs=("reports/data/summary.json",),
              fix_hint="the count collects tests/test_bad_inputs*.py with pytest; run that collection to see the error"),
        Stage("emd", "econt.emd.stage:run_stage", ("econt/configs/emd",), after=("data",),
              outputs=("reports/emd/summary.json",), uses_shared=True,
              fix_hint="see econt/configs/emd/*.yaml; delete build/emd to force pair regeneration"),
        Stage("train", "econt.train.stage:run_stage", ("econt/configs/train", "econt/configs/model"), after=("data", "emd"),
              outputs=("reports/train/summary.json",), uses_shared=True,
              fix_hint="see econt/configs/train/*.yaml (epochs, samples); the EMD-CNN model must exist (stage emd)"),
        Stage("export", "econt.export.stage:run_stage", ("econt/configs/model",),
              after=("train",), outputs=("build/export",),
              fix_hint="the trained models must exist (stage train); a weight that does not fit its width is named in the log"),
        # the rtl stage verifies every design with the trained exports: it uses the export stage
        Stage("rtl", "econt.rtl.stage:run_stage", ("econt/configs/rtl", "econt/configs/model"), after=("export",),
              outputs=("reports/rtl/summary.json", "build/rtl/index.json"), uses_shared=True,
              fix_hint="iverilog/verilator must be installed (make setup); see the log for the first mismatching sample"),
        # conformance and asic consume the rtl stage's designs (build/rtl/index.json: configs and
        # Verilog hashes), not the trained weights: a training edit that leaves the Verilog alone
        # does not rerun them
        Stage("conformance", "econt.verify.conformance.run:run_stage", ("econt/configs/model", "econt/configs/rtl"),
              after=("rtl",), uses=(), inputs=("build/rtl/index.json",),
              outputs=("reports/conformance/summary.json",), uses_shared=True,
              fix_hint="needs ../shared/econt-vectors; the log names the first crossing and stage that diverged"),
        Stage("asic", "econt.asic.stage:run_stage", ("econt/asic/pdk_configs", "econt/configs/rtl", "econt/configs/model"),
              after=("rtl",), uses=(), inputs=("build/rtl/index.json",), extra_sources=("econt/asic/tools",),
              outputs=("reports/asic/summary.json",), uses_shared=True,
              fix_hint="PDK libraries are looked up via the env var, ../shared/pdk, or lambdapdk (see econt/asic/pdk_configs/)"),
        Stage("report", "econt.report.dashboard:run_stage", (),
              after=("data", "bad-inputs", "emd", "train", "export", "rtl", "asic", "conformance"),
              outputs=("reports/index.html",),
              fix_hint="run the stages it summarises first (make all)"),
    ]
}

GROUPS: dict[str, list[str]] = {
    "all": ["data", "bad-inputs", "emd", "train", "export", "rtl", "conformance", "asic", "report"],
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


def source_root() -> Path:
    """The folder holding the ``econt`` package (with its configs) whose content is hashed: a source
    checkout (where ``tests/`` is too) or the site-packages folder of an installed kit."""
    return kit_data().parent


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imported_names(path: Path, module: str) -> set[str]:
    """Every module name an ``import`` in ``path`` can load (``from a import b`` → ``a`` and ``a.b``),
    and every string literal that names a module; relative imports resolved against ``module``."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise StageError(f"{path}: line {exc.lineno}: syntax error ({exc.msg}); fix it before running the pipeline.") from exc
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("econt."):
            names.add(node.value.split(":")[0])
    return names


def module_sources(module: str, root: Path | None = None, package: str = "econt") -> list[Path]:
    """Source files of ``module`` and of every ``package`` module it imports, transitively
    (with the ``__init__.py`` of each package on the way, which Python runs on import)."""
    root = Path(root or source_root())
    seen: set[str] = set()
    files: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not (name == package or name.startswith(package + ".")):
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))     # parent packages run first
        path = _module_file(name, root)
        if path is None:
            continue                                                      # an attribute, not a module
        files.add(path)
        todo.extend(_imported_names(path, name))
    if _module_file(module, root) is None:
        raise StageError(f"pipeline: stage module {module} not found under {root}; fix the stage's entry.")
    return sorted(files)


def stage_sources(stage: Stage, root: Path | None = None) -> list[Path]:
    """Every file whose content enters the stage's fingerprint (sources, extra sources, configs)."""
    root = Path(root or source_root())
    files = list(module_sources(stage.module, root))
    for rel in stage.extra_sources + stage.configs:
        if any(ch in rel for ch in "*?["):  # a glob: every matching file
            files.extend(sorted(c for c in root.glob(rel) if c.is_file()))
            continue
        p = root / rel
        files.extend(sorted(c for c in p.rglob("*") if c.is_file() and "__pycache__" not in c.parts)
                     if p.is_dir() else [p] if p.is_file() else [])
    return files


def fingerprint(stage: Stage, upstream: dict[str, str], shared_sig: str, root: Path | None = None) -> str:
    root = Path(root or source_root())
    h = hashlib.sha256(stage.name.encode())
    for f in stage_sources(stage, root):
        _hash_path(h, f, root)
    for dep in stage.upstream:
        h.update(f"{dep}={upstream.get(dep, '')}".encode())
    for rel in stage.inputs:
        p = _output_path(rel)
        h.update(rel.encode())
        if p.is_dir():
            _hash_path(h, p, p)
        elif p.is_file():
            h.update(p.read_bytes())
        else:
            h.update(b"absent")
    if stage.uses_shared:
        h.update(shared_sig.encode())
    h.update(json.dumps(stage.kwargs, sort_keys=True).encode())
    return h.hexdigest()[:20]


def _output_path(rel: str) -> Path:
    """A declared output ("reports/…" or "build/…") under the working folder's roots (econt.paths)."""
    return output_path(rel)


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
    # each stage runs in `python -m` from the folder holding this econt package: it imports this copy
    root = kit_data().parent
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
        print(f"[econt] stage {name}: running (log: {shown(log_path)})", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "econt.pipeline", name] + (["--quick"] if quick else [])
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1", "ECONT_WORKDIR": str(workdir())})  # live log lines
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
    from econt.cli.console import quiet_ml_noise

    quiet_ml_noise()  # TensorFlow start-up noise hidden unless ECONT_VERBOSE=1 (econt --verbose)
    p = argparse.ArgumentParser(prog="python -m econt.pipeline", description="run one pipeline stage in-process")
    p.add_argument("stage", choices=list(STAGES))
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    result = run_in_process(a.stage, a.quick)
    print(f"[econt] stage {a.stage}: done: " + json.dumps(result, default=str)[:2000], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
