"""The runner end to end on the sample set: records, missing weights, command methods, cache, resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.method_catalogue import make_method
from benchmark.methods import CommandMethod, MethodError
from benchmark.runner import BenchConfig, run
from vsrcore import testing


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    cfg = BenchConfig(
        methods=["bicubic", "ffmpeg-lanczos", "flashvsr-tiny", "flashvsr-v1.1"],
        datasets=["samples"],
        metrics=["psnr", "lpips"],
        out=out,
        lq=["bi"],
        progress=False,
    )
    run(cfg)
    return out


def test_records_cover_every_method_clip_and_metric(bench_out: Path) -> None:
    df = pd.read_parquet(bench_out / "results.parquet")
    assert set(df["method"]) == {"bicubic", "ffmpeg-lanczos", "flashvsr-tiny", "flashvsr-v1.1"}
    # peak GPU memory: CUDA only; peak RSS: of the command method's child process (ffmpeg-lanczos)
    assert set(df["metric"]) == {"psnr", "lpips", "fps", "peak_rss_gb"}
    assert df.groupby(["method", "clip", "metric"]).size().max() == 1
    # flashvsr-tiny runs from its bundled weights; the official model's weights are absent here
    psnr = df[(df["metric"] == "psnr") & (df["method"] != "flashvsr-v1.1")]
    assert (psnr["status"] == "ok").all() and psnr["value"].between(15, 50).all()
    official = df[df["method"] == "flashvsr-v1.1"]
    assert (official["status"] == "missing-weights").all() and official["value"].isna().all()
    # weights absent: a status and the reason, never a number
    lpips = df[(df["metric"] == "lpips") & (df["method"] != "flashvsr-v1.1")]
    assert (lpips["status"] == "missing-weights").all() and lpips["value"].isna().all()
    assert lpips["reason"].str.contains("alexnet-owt-7be5be79.pth").all()
    fps = df[(df["metric"] == "fps") & (df["status"] == "ok")]
    assert len(fps) == 15 and (fps["value"] > 0).all()  # 3 methods x 5 held-out clips


def test_records_carry_protocol_and_provenance(bench_out: Path) -> None:
    import json

    row = pd.read_parquet(bench_out / "results.parquet").iloc[0]
    protocol, prov = json.loads(row["protocol"]), json.loads(row["provenance"])
    assert protocol["scale"] == 4 and protocol["lq"] == "bi" and "psnr" in protocol["metric_options"]
    assert {"git_commit", "versions", "device", "lq_seed", "date", "method"} <= set(prov)


def test_outputs_are_cached_losslessly_and_rerun_resumes(bench_out: Path) -> None:
    from vsrcore.video.probe import probe

    cached = sorted((bench_out / "outputs" / "bicubic" / "samples" / "bi").glob("*.mkv"))
    assert len(cached) == 5 and probe(cached[0]).codec == "ffv1"
    assert sorted(p.name for p in cached[0].parent.glob("*.json")) == [p.with_suffix(".json").name for p in cached]
    outputs = {p: p.stat().st_mtime_ns for p in (bench_out / "outputs").rglob("*.mkv")}
    before = pd.read_parquet(bench_out / "results.parquet")
    summary = run(
        BenchConfig(
            methods=["bicubic", "ffmpeg-lanczos", "flashvsr-tiny", "flashvsr-v1.1"],
            datasets=["samples"],
            metrics=["psnr", "lpips"],
            out=bench_out,
            lq=["bi"],
            progress=False,
        )
    )
    # missing weights are tried again (they may have arrived): LPIPS of the 3 runnable methods x 5 clips, and every
    # record of flashvsr-v1.1 (psnr, lpips, fps x 5 clips); scored records are kept, methods are not re-run
    assert summary.records == 15 + 15 and summary.skipped_clips == 0 and summary.exit_code == 0
    after = pd.read_parquet(bench_out / "results.parquet")
    assert len(after) == len(before) and not after.duplicated(["method", "clip", "metric"]).any()
    ok = before["status"] == "ok"
    pd.testing.assert_frame_equal(after[ok], before[ok])
    assert {p: p.stat().st_mtime_ns for p in outputs} == outputs


def test_command_method_runs_ffmpeg_and_checks_its_output() -> None:
    lq = testing.moving_texture(3, 16, 24)
    sr = make_method("ffmpeg-lanczos", 4)(lq)
    assert sr.shape == (3, 64, 96, 3)
    broken = CommandMethod("broken", "exit 3", 4)
    with pytest.raises(MethodError, match="exited 3"):
        broken(lq)
    wrong = CommandMethod("copy", "cp {input}/*.png {output}/", 4)
    with pytest.raises(MethodError, match="expected"):
        wrong(lq)


def test_cli_writes_results_and_leaderboard(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vsrcore.cli",
            "bench",
            "--out",
            str(tmp_path),
            "--methods",
            "bicubic",
            "--metrics",
            "psnr",
            "--lq",
            "bd",
            "--quiet",
            "--command-method",
            "ffmpeg-bicubic={ffmpeg} -loglevel error -i {input}/%08d.png "
            "-vf scale=iw*{scale}:ih*{scale}:flags=bicubic -start_number 0 {output}/%08d.png",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "leaderboard" / "leaderboard.md").read_text()
    assert "samples (LQ: bd (ours, seed 0))" in md and "ffmpeg-bicubic" in md and "bicubic" in md
    assert (tmp_path / "leaderboard" / "index.html").exists()


def test_temporal_metrics_skip_photos(tmp_path: Path) -> None:
    run(
        BenchConfig(
            methods=["bicubic"], datasets=["samples"], metrics=["ewarp_dis"], out=tmp_path, lq=["bi"], progress=False
        )
    )
    df = pd.read_parquet(tmp_path / "results.parquet")
    ewarp = df[df["metric"] == "ewarp_dis"]
    videos = ewarp["clip"].isin(["bikes", "city"])
    assert videos.sum() == 2 and (ewarp[videos]["status"] == "ok").all()
    # photos: a record that says why there is no number (not an error, not averaged in)
    assert (ewarp[~videos]["status"] == "not-applicable").all() and len(ewarp[~videos]) == 3
    assert ewarp[~videos]["reason"].str.contains("needs >= 2 frames; this clip has 1").all()
    from leaderboard.board import build_board, load_records

    (section,) = build_board(load_records(tmp_path))
    cell = section.rows[0].cells["ewarp_dis"]
    assert cell.n_clips == 2 and cell.value == pytest.approx(ewarp[videos]["value"].mean())
