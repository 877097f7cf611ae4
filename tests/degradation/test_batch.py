"""`flashvsr degrade` end to end: sample media, shard input, resume after a kill, bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from degradation.batch import DegradeSettings, run
from degradation.pipeline import replay
from vsrcore import testing
from vsrcore.atomic import finished_files
from vsrcore.samples import sample_path
from vsrcore.shards import ShardWriter
from vsrcore.video.decode import read_frames
from vsrcore.video.write import write_video


def test_sample_media_folder(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_path("carphone"), src)
    shutil.copy(sample_path("mate_freshflower"), src)
    summary = run(
        src, tmp_path / "out", DegradeSettings("realbasicvsr", 0, {"scale": 4}), clip_frames=60, progress=False
    )
    assert summary == {"clips": 3, "done": 3, "new": 3, "failed": 0}
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert sorted(df["frames"]) == [1, 60, 60] and set(df["height"]) == {36, 300}
    # the stored LQ is exactly what the record reproduces from the source frames
    row = df[df["frames"] == 60].sort_values("start_frame").iloc[1]
    rec = json.loads(row["record"])
    hq = read_frames(sample_path("carphone"), start=60, end=120)
    np.testing.assert_array_equal(read_frames(tmp_path / "out" / row["lq_path"]), replay(hq, rec).lq)


def test_shard_input_and_rerun_without_duplicates(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "c.mp4", testing.moving_texture(12, 64, 96), fps=25, codec="x264rgb-lossless")
    with ShardWriter(tmp_path / "shards") as w:
        base = {
            "source_path": "x",
            "source_hash": "h",
            "start_frame": 0,
            "end_frame": 12,
            "width": 96,
            "height": 64,
            "fps": 25.0,
            "frame_count": 12,
            "codec": "h264",
            "kind": "clip",
        }
        w.add({**base, "id": "clipa"}, clip, "mp4")
        w.add({**base, "id": "photob", "kind": "image", "frame_count": 1}, sample_path("coffee"), "png")
    settings = DegradeSettings("bd", 1, {"scale": 4})
    first = run(tmp_path / "shards", tmp_path / "out", settings, progress=False)
    again = run(tmp_path / "shards", tmp_path / "out", settings, progress=False)
    assert first["done"] == again["done"] == 2 and again["new"] == 0
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert sorted(df["id"]) == ["clipa", "photob"]
    assert read_frames(tmp_path / "out" / "lq" / "clipa.mkv").shape == (12, 16, 24, 3)
    assert sorted(p.name for p in (tmp_path / "out" / "lq").iterdir()) == ["clipa.mkv", "photob.png"]


def test_killed_run_resumes_without_duplicates(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        write_video(src / f"v{i}.mkv", testing.moving_texture(16, 96, 128, seed=i), fps=25, codec="ffv1")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vsrcore.cli", "degrade", str(src), str(out), "--quiet", "--clip-frames", "8"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(finished_files(out / "records", ".json")) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = {p.name for p in finished_files(out / "records", ".json")}
    assert 2 <= len(finished_before) < 8
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    df = pd.read_parquet(out / "manifest.parquet")
    assert len(df) == 8 and df["id"].is_unique
    assert len(list((out / "lq").iterdir())) == 8  # no temporary leftovers, no duplicates


def test_bad_inputs_are_listed_and_the_rest_finishes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_video(src / "good.mkv", testing.moving_texture(4, 64, 64), fps=25, codec="ffv1")
    (src / "broken.mp4").write_bytes(b"not a video")
    (src / "tiny.mkv").write_bytes(b"")
    tiny = src / "one_pixel.mkv"
    write_video(tiny, np.zeros((2, 1, 1, 3), np.uint8), fps=25, codec="ffv1")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vsrcore.cli",
            "degrade",
            str(src),
            str(tmp_path / "out"),
            "--quiet",
            "--preset",
            "bicubic",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3
    failed = [json.loads(line) for line in (tmp_path / "out" / "failed.jsonl").read_text().splitlines()]
    assert sorted(Path(f["path"]).name for f in failed) == ["broken.mp4", "one_pixel.mkv", "tiny.mkv"]
    (small,) = [f["error"] for f in failed if "too small" in f["error"]]
    assert small.startswith(f"{tiny}: frames of 1x1 are too small for x4")  # the file first
    assert f"flashvsr degrade: {tiny}: frames of 1x1" in r.stderr
    assert "broken.mp4: not a readable media file" in r.stderr or "broken.mp4" in json.dumps(failed)
    assert len(pd.read_parquet(tmp_path / "out" / "manifest.parquet")) == 1


def test_single_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_text("nope")
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "degrade", str(bad), str(tmp_path / "o"), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert "x.mp4" in (tmp_path / "o" / "failed.jsonl").read_text()


@pytest.mark.parametrize("bad", ["--set", "--set=scale"])
def test_set_needs_key_value(tmp_path: Path, bad: str) -> None:
    args = [bad, "drift"] if bad == "--set" else [bad]
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "degrade", str(tmp_path), str(tmp_path / "o"), *args],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
