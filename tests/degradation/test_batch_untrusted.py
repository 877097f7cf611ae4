"""`flashvsr degrade` on hostile input: malicious shard members and decompression-bomb images are recorded as failed
items with one line each, nothing lands outside the output folder, and the rest of the batch completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from degradation.batch import DegradeSettings, run
from tests.hostile_inputs import CASES, OVERSIZE_CAP, bomb_png, malicious_shard, png_bytes, snapshot
from vsrcore.untrusted import MAX_MEMBER_BYTES_ENV


@pytest.mark.parametrize("case", CASES)
def test_degrade_over_a_malicious_shard_refuses_the_member_and_finishes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setenv(MAX_MEMBER_BYTES_ENV, str(OVERSIZE_CAP))
    shard = tmp_path / "a" / "b" / "shard"
    escape = tmp_path / "escaped.png"
    tar_path, member = malicious_shard(shard, case, escape)
    out = tmp_path / "a" / "b" / "out"
    before = snapshot(tmp_path)
    summary = run(shard, out, DegradeSettings("bicubic", 0, {"scale": 2}), progress=False)
    assert summary["done"] == 1 and summary["failed"] == 1
    (failure,) = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    assert failure["path"] in (str(tar_path), str(shard))  # refused at discovery (the tar) or when read (the shard)
    error = failure["error"]
    assert "\n" not in error and error.startswith(f"{tar_path}: member {member!r} refused: ")
    assert not os.path.lexists(escape)
    new = {k for k in snapshot(tmp_path) if k not in before}
    assert new and all(k.startswith("a/b/out/") for k in new), sorted(new)
    assert list(pd.read_parquet(out / "manifest.parquet")["id"]) == ["good"]


def test_degrade_cli_prints_one_line_for_a_refused_member(tmp_path: Path) -> None:
    shard = tmp_path / "shard"
    tar_path, member = malicious_shard(shard, "dotdot", tmp_path / "escaped.png")
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "degrade", str(shard), "-o", str(tmp_path / "out"), "--quiet",
         "--preset", "bicubic"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert "Traceback" not in r.stderr
    # one line per refused item (the closing summary, which names failed.jsonl, aside)
    lines = [line for line in r.stderr.splitlines() if "refused" in line and "failed.jsonl" not in line]
    assert len(lines) == 1 and str(tar_path) in lines[0] and repr(member) in lines[0]
    assert not (tmp_path / "escaped.png").exists()


def test_a_decompression_bomb_is_a_failed_item_and_the_batch_completes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.png").write_bytes(png_bytes())
    (src / "bomb.png").write_bytes(bomb_png(100_000, 100_000))  # 10 gigapixels declared, 82 bytes on disk
    (src / "over_cap.png").write_bytes(bomb_png(9000, 8000))  # 72 MP: under PIL's own guard, over our 64 MP cap
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "degrade", str(src), "-o", str(tmp_path / "out"), "--quiet",
         "--preset", "bicubic"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert "Traceback" not in r.stderr and r.returncode != 0
    failed = {Path(f["path"]).name: f["error"] for f in map(json.loads, (tmp_path / "out" / "failed.jsonl").open())}
    assert sorted(failed) == ["bomb.png", "over_cap.png"]
    assert "100000x100000" in failed["bomb.png"] or "above the pixel cap" in failed["bomb.png"]
    assert "9000x8000 (72.0 MP) is above the pixel cap of 64 MP" in failed["over_cap.png"]
    assert all("\n" not in e for e in failed.values())
    items = [line for line in r.stderr.splitlines() if "failed.jsonl" not in line]
    assert sum("above the pixel cap" in line for line in items) == 2
    assert len(pd.read_parquet(tmp_path / "out" / "manifest.parquet")) == 1


def test_max_pixels_raises_and_lowers_the_cap(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.png").write_bytes(png_bytes(24, 32))  # 768 pixels
    base = [sys.executable, "-m", "vsrcore.cli", "degrade", str(src), "--quiet", "--preset", "bicubic"]
    r = subprocess.run([*base, "-o", str(tmp_path / "o1"), "--max-pixels", "700"], capture_output=True, text=True)
    assert "24 (0.0 MP) is above the pixel cap" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*base, "-o", str(tmp_path / "o2"), "--max-pixels", "768"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*base, "-o", str(tmp_path / "o3"), "--max-pixels", "lots"], capture_output=True, text=True)
    assert r.returncode == 2 and "not a pixel count" in r.stderr
