"""`curate` applies the shared pixel cap: an over-cap video and a decompression-bomb photo are quarantined with a
one-line reason before any frame is decoded, and the rest of the run finishes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from curation.config import samples
from curation.pipeline import curate
from tests.hostile_inputs import bomb_png
from vsrcore import testing
from vsrcore.limits import MAX_PIXELS_ENV
from vsrcore.samples import sample_path
from vsrcore.video.write import write_video


def test_over_cap_inputs_are_quarantined_and_the_rest_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "raw"
    src.mkdir()
    shutil.copy(sample_path("carphone"), src / "small.mp4")  # 176 x 144 = 25,344 pixels
    write_video(src / "big.mkv", testing.moving_texture(30, 160, 192, dx=2), fps=25, codec="ffv1")  # 30,720 pixels
    (src / "bomb.png").write_bytes(bomb_png(100_000, 100_000))
    monkeypatch.setenv(MAX_PIXELS_ENV, "30000")
    out = tmp_path / "out"
    curate([str(src)], out, samples(), backend="local", progress=False)
    q = pd.read_parquet(out / "quarantine.parquet")
    reasons = {Path(p).name: r for p, r in zip(q["path"], q["reason"], strict=True)}
    assert sorted(reasons) == ["big.mkv", "bomb.png"]
    assert "declared frame size 192x160 (0.0 MP) is above the pixel cap of 0.03 MP" in reasons["big.mkv"]
    assert "above the pixel cap" in reasons["bomb.png"]
    assert all("\n" not in r for r in reasons.values())
    kept = {Path(p).name for p in pd.read_parquet(out / "manifest.parquet")["source_path"]}
    assert kept == {"small.mp4"}


def test_curate_has_the_shared_max_pixels_option(tmp_path: Path) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "vsrcore.cli", "curate", str(tmp_path), "--out", str(tmp_path / "o"), "--local"]
    r = subprocess.run([*cmd, "--max-pixels", "lots"], capture_output=True, text=True)
    assert r.returncode == 2 and "--max-pixels: not a pixel count: 'lots'" in r.stderr
