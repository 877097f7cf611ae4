"""Data parallel on CPU: two torchrun processes (gloo) train one stage; rank 0 alone writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_torchrun_two_processes_train_and_rank0_writes(media_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "vsrcore.cli", "train", "--stage", "0", "--data", str(media_dir), "--split", "all", "--out",
           str(out), "--steps", "2", "--crop", "16", "--latents", "1", "--images", "1", "--degradation", "bicubic",
           "--workers", "0", "--lpips", "off", "--device", "cpu", "--ckpt-every", "2"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parents[2])
    assert r.returncode == 0, r.stderr[-2000:]
    summaries = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 2  # one per rank
    assert sum(s["checkpoint"] is not None for s in summaries) == 1  # rank 0 writes
    meta = json.loads((out / "stage0" / "ckpt-0000002.json").read_text())
    assert meta["world_size"] == 2
    assert summaries[0]["losses"]["loss"] != summaries[1]["losses"]["loss"]  # the ranks saw different samples
