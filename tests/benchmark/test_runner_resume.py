"""Resume: a run killed with SIGKILL finishes to the uninterrupted table; weights added later turn missing cells into
numbers; nothing is ever listed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.records import KEY, part_files, read_results
from benchmark.runner import BenchConfig, run
from tests.benchmark.user_folders import make_folder
from vsrcore.cli import main


# A real command method that takes a while per clip (a slow external tool): sleep, then ffmpeg's bicubic x4.
SLOW = (
    "slow=sleep 0.6 && {ffmpeg} -loglevel error -i {input}/%08d.png -vf scale=iw*{scale}:ih*{scale}:flags=bicubic "
    "-start_number 0 {output}/%08d.png"
)
CLIPS = {"a": (48, 64), "b": (64, 96), "c": (48, 48), "d": (32, 64)}


def _table(out: Path) -> pd.DataFrame:
    df = read_results(out)
    assert not df.duplicated(list(KEY)).any()
    return df[[*KEY, "status", "value"]].sort_values(list(KEY)).reset_index(drop=True)


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(tmp_path / "mine", CLIPS)
    args = ["bench", "--dataset", f"mine={folder}", "--methods", "bicubic", "--command-method", SLOW]
    args += ["--metrics", "psnr,ssim", "--quiet", "--no-leaderboard"]
    killed, full = tmp_path / "killed", tmp_path / "full"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsrcore.cli", *args, "-o", str(killed)], start_new_session=True, env=os.environ
    )
    # 4 bicubic cells + 1 slow one flushed: 3 slow cells (>= 1.8 s of sleep) are still to come
    deadline = time.monotonic() + 300
    while len(part_files(killed / "records")) < 5:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its command method's processes, mid-cell
    assert proc.wait() == -signal.SIGKILL
    assert not (killed / "results.parquet").exists()  # never compacted: only parts
    partial = _table(killed)
    finished = partial.groupby(["method", "clip"]).size()
    # whole cells only: psnr, ssim, fps together (+ peak_rss_gb for the command method)
    per_cell = finished.index.get_level_values("method").map({"bicubic": 3, "slow": 4})
    assert 5 <= len(finished) < 8 and (finished.to_numpy() == per_cell.to_numpy()).all()

    loud = [a for a in args if a != "--quiet"]  # --quiet prints nothing but errors; the resume line is progress
    assert main([*loud, "-o", str(killed)]) == 0
    assert f"{len(finished)} clips already done" in capsys.readouterr().out
    assert main([*args, "-o", str(full)]) == 0
    resumed, uninterrupted = _table(killed), _table(full)
    assert len(uninterrupted) == 4 * 3 + 4 * 4 and (uninterrupted["status"] == "ok").all()
    timing = resumed["metric"].isin(
        ["fps", "peak_rss_gb"]
    )  # measured times and RSS differ between runs; the rest is bit-identical
    pd.testing.assert_frame_equal(resumed[~timing], uninterrupted[~timing])
    pd.testing.assert_frame_equal(resumed[timing].drop(columns="value"), uninterrupted[timing].drop(columns="value"))
    assert (resumed[timing]["value"] > 0).all()
    assert part_files(killed / "records") == []  # compacted into results.parquet, whose rows are unique
    assert not pd.read_parquet(killed / "results.parquet").duplicated(list(KEY)).any()


def test_weights_added_after_a_run_turn_missing_cells_into_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from torchvision.models import alexnet

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no weights in ~/.cache/flashvsr/weights
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    folder = make_folder(tmp_path / "mine")
    cfg = BenchConfig(
        methods=["bicubic"],
        datasets=[],
        metrics=["psnr", "lpips"],
        out=tmp_path / "out",
        device="cpu",
        progress=False,
        user_datasets={"mine": folder},
    )
    first = run(cfg)
    assert first.exit_code == 0 and first.statuses == {"ok": 4, "missing-weights": 2}
    before = read_results(cfg.out)
    lpips = before[before["metric"] == "lpips"]
    assert lpips["value"].isna().all()
    assert lpips["reason"].str.contains("alexnet-owt-7be5be79.pth not found").all()

    # the weights arrive: a real AlexNet state dict in torchvision's format, which LPIPS loads as its backbone (the
    # values are not the ImageNet ones, which cannot be downloaded here: the numbers test the plumbing, not LPIPS)
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    torch.save(alexnet(weights=None).state_dict(), weights / "alexnet-owt-7be5be79.pth")
    # the pinned table guards the real file's hash; this stand-in gets its own pin (docs/reliability.md)
    from dataclasses import replace as with_field

    from vsrcore.hashing import file_sha256
    from vsrcore.pinned_weights import PINNED

    name = "alexnet-owt-7be5be79.pth"
    monkeypatch.setitem(PINNED, name, with_field(PINNED[name], sha256=file_sha256(weights / name)[:8], size=None))
    second = run(replace(cfg, weights_dir=str(weights)))
    assert second.exit_code == 0 and second.records == 2 and second.skipped_clips == 0
    after = read_results(cfg.out)
    lpips = after[after["metric"] == "lpips"]
    assert (lpips["status"] == "ok").all() and np.isfinite(lpips["value"]).all() and (lpips["value"] > 0).all()
    kept = after[after["metric"] != "lpips"].reset_index(drop=True)
    assert kept.equals(before[before["metric"] != "lpips"].reset_index(drop=True))  # not recomputed, not re-timed
    assert run(replace(cfg, weights_dir=str(weights))).skipped_clips == 2  # now everything is done


def test_kill_9_then_resume_with_several_lq_protocols_lists_each_cell_once(tmp_path: Path) -> None:
    """The reliability matrix's bench row: a gt-only set scored under several LQ protocols (as the samples suite
    is), killed with SIGKILL mid-run, then resumed, read back as the leaderboard reads a results folder. Each cell
    appears once per protocol, never twice; the matrix's old check keyed records without the protocol and so
    counted the protocols as duplicates (60 of 90), in an uninterrupted run too."""
    from leaderboard.board import load_records

    folder = make_folder(tmp_path / "mine", CLIPS, lq=False)
    args = ["bench", "--dataset", f"mine={folder}", "--methods", "bicubic", "--command-method", SLOW,
            "--lq", "bi,bd", "--metrics", "psnr", "--quiet", "--no-leaderboard"]  # fmt: skip
    killed, full = tmp_path / "killed", tmp_path / "full"
    proc = subprocess.Popen([sys.executable, "-m", "vsrcore.cli", *args, "-o", str(killed)], start_new_session=True)
    deadline = time.monotonic() + 300
    while len(part_files(killed / "records")) < 3:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert main([*args, "-o", str(killed)]) == 0
    assert main([*args, "-o", str(full)]) == 0
    for out in (killed, full):
        recs = pd.DataFrame(load_records(out))
        assert not recs.duplicated(list(KEY)).any()
        per_cell = recs.groupby(["method", "dataset", "clip", "metric"])["protocol"].apply(
            lambda ps: sorted(p["lq"] for p in ps)
        )
        assert len(per_cell) == 2 * 4 * 2 + 1 * 4 * 1  # (psnr, fps) x clips x methods + the slow one's peak RSS
        assert all(lqs == ["bd", "bi"] for lqs in per_cell), per_cell
    timing = ["fps", "peak_rss_gb"]
    resumed, uninterrupted = _table(killed), _table(full)
    keep = ~resumed["metric"].isin(timing)
    pd.testing.assert_frame_equal(resumed[keep], uninterrupted[~uninterrupted["metric"].isin(timing)])


def test_changed_weights_recompute_the_method_not_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A results folder resumed after the model's weights file changed (a re-trained bundle in the same place) must
    not keep the old model's numbers or its cached outputs: its cells are recomputed, the baseline's are kept."""
    import shutil

    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLASHVSR_WEIGHTS", raising=False)
    bundled = Path(__file__).resolve().parents[2] / "model" / "flashvsr" / "bundled" / "flashvsr-tiny.safetensors"
    weights = tmp_path / "weights" / "flashvsr-tiny"
    weights.mkdir(parents=True)
    shutil.copy(bundled, weights / bundled.name)
    folder = make_folder(tmp_path / "mine", {"a": (32, 32)})
    cfg = BenchConfig(methods=["bicubic", "flashvsr-tiny"], datasets=[], metrics=["psnr"], out=tmp_path / "out",
                      device="cpu", progress=False, user_datasets={"mine": folder},
                      weights_dir=str(weights.parent))  # fmt: skip
    assert run(cfg).exit_code == 0
    before = read_results(cfg.out).set_index(["method", "metric"])
    assert run(cfg).skipped_clips == 2  # same weights: everything kept

    state = load_file(weights / bundled.name)
    last = sorted(k for k, v in state.items() if v.dtype.is_floating_point and "decoder" in k)[-1]
    state[last] = state[last] + 0.05  # another model in the same file
    save_file(state, weights / bundled.name)
    second = run(cfg)
    assert second.skipped_clips == 1 and second.records == 2  # flashvsr-tiny's psnr and fps, computed again
    after = read_results(cfg.out).set_index(["method", "metric"])
    assert after.loc[("bicubic", "psnr"), "provenance"] == before.loc[("bicubic", "psnr"), "provenance"]  # kept
    assert after.loc[("flashvsr-tiny", "psnr"), "value"] != before.loc[("flashvsr-tiny", "psnr"), "value"]
    assert after.loc[("flashvsr-tiny", "psnr"), "provenance"] != before.loc[("flashvsr-tiny", "psnr"), "provenance"]
