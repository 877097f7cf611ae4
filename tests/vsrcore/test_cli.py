from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from vsrcore.cli import COMMANDS, main
from vsrcore.samples import sample_path
from vsrcore.weights import WEIGHTS


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vsrcore.cli", *args], capture_output=True, text=True, env=env)


def test_help_lists_every_command() -> None:
    r = _cli("--help")
    assert r.returncode == 0
    for name in COMMANDS:
        assert name in r.stdout


def test_info_lists_stack_and_missing_weights(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "FLASHVSR_WEIGHTS": str(tmp_path), "HOME": str(tmp_path)}
    (tmp_path / "flashvsr-v1.1").mkdir()
    for f in WEIGHTS["flashvsr-v1.1"].files:
        (tmp_path / "flashvsr-v1.1" / f).write_bytes(b"x")
    r = _cli("info", env=env)
    assert r.returncode == 0, r.stderr
    for pkg in ("torch", "av", "pyarrow", "ray", "pyiqa", "decord"):
        assert pkg in r.stdout
    assert "MISSING: musiq_koniq_ckpt-e95806b9.pth" in r.stdout
    assert "MISSING: DOVER.pth" in r.stdout
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  ")}
    assert "present" in lines["flashvsr-v1.1"] and "MISSING" in lines["flashvsr-v1"]


def test_probe_command_prints_json(capsys) -> None:
    assert main(["probe", str(sample_path("bikes"))]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert (meta["width"], meta["height"], meta["frame_count"]) == (640, 272, 250)


def test_probe_decode_counts_frames(capsys) -> None:
    assert main(["probe", "--decode", str(sample_path("city"))]) == 0
    assert json.loads(capsys.readouterr().out)["decoded_frames"] == 100


def test_samples_command(capsys) -> None:
    assert main(["samples", "--kind", "video", "--paths"]) == 0
    assert str(sample_path("vtest")) in capsys.readouterr().out
