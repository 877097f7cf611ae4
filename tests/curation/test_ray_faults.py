"""Ray faults: a 1-CPU local Ray completes (it used to hang), and a Ray worker killed mid-run is survived."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from curation.config import samples
from curation.pipeline import curate
from vsrcore.reaper import descendants
from vsrcore.samples import sample_path


pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_curate_with_one_cpu_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vsrcore.cli", "curate", str(sample_path("carphone")), "-o", str(out),
           "--preset", "samples", "--num-cpus", "1", "--quiet"]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "RAY_AUTH_MODE": "disabled"})  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(list((out / "state" / "sources").glob("*.json"))) == 1
    assert len(pd.read_parquet(out / "manifest.parquet")) >= 1


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_a_ray_worker_killed_mid_run_is_survived(tmp_path: Path) -> None:
    import ray

    raw = tmp_path / "raw"
    raw.mkdir()
    names = ("bikes", "carphone", "vtest")
    for name in names:
        shutil.copy(sample_path(name), raw)
    out = tmp_path / "out"
    errors: list[BaseException] = []
    killed: list[str] = []

    def run() -> None:
        try:
            curate([str(raw)], out, samples(), backend="ray", num_cpus=2, progress=False)
        except BaseException as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed and thread.is_alive():
            for pid, _ in descendants(os.getpid()):
                if "ray::MapWorker" in _cmdline(pid):  # the analyse actor, busy with a source
                    os.kill(pid, signal.SIGKILL)
                    killed.append(_cmdline(pid) or str(pid))
                    break
            time.sleep(0.2)
        thread.join(timeout=600)
    finally:
        ray.shutdown()
    assert killed, "no Ray worker was found to kill"
    assert not thread.is_alive() and not errors, errors
    done = {p.stem for p in (out / "state" / "sources").glob("*.json")}
    quarantined = {p.stem for p in (out / "state" / "quarantine").glob("*.json")}
    assert len(done) == len(names) and not quarantined
    assert pd.read_parquet(out / "manifest.parquet")["id"].is_unique
