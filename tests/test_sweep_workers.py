"""Sweep workers against a real PostgreSQL server (Debian's postgresql, installed by `make setup`).

The server is initialised and started in a temporary folder (as the ``postgres`` user when the
tests run as root) and stopped after. Two real ``econt sweep worker`` processes share one study:
each claims its own trial and starts the real chain (training of the tiny encoder); both are then
SIGKILLed mid-trial, and Optuna's heartbeat marks their trials failed and queues one retry each,
so the study goes on. A full trial of the chain takes minutes (see tests/test_sweep.py), so
these tests stop at the kill and do not complete trials.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from econt.paths import kit_data

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL 15 server in a temporary folder; yields its SQLAlchemy URL, stops it after."""
    assert (PG_BIN / "initdb").is_file(), f"{PG_BIN}/initdb missing: run `make setup` (installs postgresql)"
    root = Path(tempfile.mkdtemp(prefix="econt_pg_"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, port = root / "data", _free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root}"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                                 "-o", opts, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _tiny_study(tmp_path: Path) -> Path:
    doc = yaml.safe_load(kit_data("configs", "sweep", "tiny.yaml").read_text())
    doc.update(heartbeat_s=1, grace_s=3)
    p = tmp_path / "tiny_pg.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_two_workers_share_a_postgres_study_and_killed_trials_fail_and_retry(tmp_path, postgres_url):
    import optuna
    from optuna.trial import TrialState

    from econt.sweep.config import load_study_config
    from econt.sweep.study import open_study

    cfg_path = _tiny_study(tmp_path)
    cfg = load_study_config(cfg_path)
    env = {**os.environ, "ECONT_WORKDIR": str(tmp_path), "PYTHONPATH": str(kit_data().parent)}
    workers = [subprocess.Popen([sys.executable, "-m", "econt.cli.main", "sweep", "worker", str(cfg_path),
                                 "--storage", postgres_url, "--study", "pg_two"],
                                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 150
        running = []
        while time.monotonic() < deadline:
            assert all(w.poll() is None for w in workers), workers[0].stderr.read().decode()[-2000:]
            running = [t for t in open_study(cfg, storage=postgres_url, study_name="pg_two").trials
                       if t.state == TrialState.RUNNING]
            # both workers in the chain: each trial's work folder holds its written model config
            if len(running) == 2 and all((tmp_path / "build" / "sweep" / "pg_two" / f"trial_{t.number:04d}"
                                          / "model_config.yaml").is_file() for t in running):
                break
            time.sleep(1)
        assert len(running) == 2, f"two workers should each run a trial; running: {running}"
        assert {t.number for t in running} == {0, 1}
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
            w.wait()
    assert [w.returncode for w in workers] == [-signal.SIGKILL] * 2
    time.sleep(cfg.grace_s + 1)
    study = open_study(cfg, storage=postgres_url, study_name="pg_two")
    optuna.storages.fail_stale_trials(study)   # what the next worker does on its first trial
    states = [t.state for t in study.trials]
    assert states[:2] == [TrialState.FAIL, TrialState.FAIL], states
    # RetryHeartbeatStaleTrialCallback: one waiting copy of each killed trial, same parameters
    retries = [t for t in study.trials if t.state == TrialState.WAITING]
    assert len(retries) == 2
    assert sorted(str(t.params) for t in retries) == sorted(str(t.params) for t in study.trials[:2])
