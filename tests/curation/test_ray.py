"""The same pipeline on Ray: local 2-CPU Ray, SIGINT then resume, and a worker node killed mid-run."""

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
from vsrcore import testing
from vsrcore.samples import sample_path


pytestmark = [pytest.mark.ray, pytest.mark.slow]
INPUTS = ("bikes", "carphone", "vtest", "flower", "mate_greenmeadow")


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    src = tmp_path / "raw"
    src.mkdir()
    for name in INPUTS:
        shutil.copy(sample_path(name), src)
    return src


def _accounted(out: Path) -> tuple[set[str], set[str], pd.DataFrame]:
    manifest = pd.read_parquet(out / "manifest.parquet")
    done = {p.stem for p in (out / "state" / "sources").glob("*.json")}
    quarantined = {p.stem for p in (out / "state" / "quarantine").glob("*.json")}
    return done, quarantined, manifest


def test_local_ray_matches_in_process(raw: Path, tmp_path: Path) -> None:
    import ray

    try:
        curate([str(raw)], tmp_path / "ray", samples(), backend="ray", num_cpus=2, progress=False)
    finally:
        ray.shutdown()
    curate([str(raw)], tmp_path / "local", samples(), backend="local", progress=False)
    a = pd.read_parquet(tmp_path / "ray" / "manifest.parquet").sort_values("id")
    b = pd.read_parquet(tmp_path / "local" / "manifest.parquet").sort_values("id")
    assert list(a["id"]) == list(b["id"]) and list(a["cut_mode"]) == list(b["cut_mode"])
    assert len(a) >= 6


def test_sigint_then_rerun_completes_without_duplicates(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "vsrcore.cli",
        "curate",
        str(raw),
        "--out",
        str(out),
        "--preset",
        "samples",
        "--num-cpus",
        "2",
        "--quiet",
    ]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=testing.ctrl_c_reaches_child)  # fmt: skip
    deadline = time.monotonic() + 180
    staging = out / "state" / "staging"
    while time.monotonic() < deadline and proc.poll() is None and not list(staging.glob("*.json")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    interrupted = proc.returncode != 0
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    done, quarantined, manifest = _accounted(out)
    reasons = [p.read_text()[:300] for p in (out / "state" / "quarantine").glob("*.json")]
    assert len(done) == len(INPUTS) and not quarantined, (sorted(done), reasons, r.stdout[-500:])
    assert manifest["id"].is_unique
    assert interrupted or len(manifest) > 0  # the first run was cut short (or had already finished)


def test_worker_node_killed_mid_run(raw: Path, tmp_path: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    out = tmp_path / "out"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            curate([str(raw)], out, samples(), backend="ray", address=cluster.address, progress=False)
        except BaseException as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and ray.is_initialized() is False:
            time.sleep(0.2)
        time.sleep(6)  # let work start on the worker node
        cluster.remove_node(worker)
        thread.join(timeout=600)
        assert not thread.is_alive() and not errors, errors
    finally:
        ray.shutdown()
        cluster.shutdown()
    done, quarantined, manifest = _accounted(out)
    assert len(done | quarantined) == len(INPUTS) and not (done & quarantined)
    assert manifest["id"].is_unique and len(manifest) >= 6
