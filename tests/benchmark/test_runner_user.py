"""`flashvsr bench --dataset NAME=DIR`: user folders end to end, exit codes, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.records import KEY, read_results
from tests.benchmark.user_folders import add_broken_clips, make_folder
from vsrcore.cli import main


def _bench(folder: Path, out: Path, *extra: str) -> int:
    return main(["bench", "--dataset", f"mine={folder}", "--methods", "bicubic", "-o", str(out), "--quiet", *extra])


def test_a_gt_lq_folder_of_videos_of_different_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path / "mine")
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr,ssim,ewarp_dis") == 0
    df = read_results(tmp_path / "out")
    assert sorted(set(df["clip"])) == ["a", "b"] and set(df["dataset"]) == {"mine"}
    assert (df["status"] == "ok").all() and len(df) == 2 * 4  # psnr, ssim, ewarp_dis, fps per clip
    assert df[df["metric"] == "psnr"]["value"].between(15, 40).all()
    protocol = json.loads(df["protocol"].iloc[0])
    assert protocol["lq_source"] == "given (lq/)" and protocol["scale"] == 4 and protocol["lq"] == "given"
    md = (tmp_path / "out" / "leaderboard" / "leaderboard.md").read_text()
    assert "## mine (LQ: given (lq/))" in md and "| bicubic |" in md
    assert (tmp_path / "out" / "outputs" / "bicubic" / "mine" / "given" / "b.mkv").is_file()
    assert capsys.readouterr().out == ""  # --quiet: no summary table or line, only errors (on stderr)


def test_a_broken_clip_is_an_error_row_exit_3_and_the_rest_is_scored(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "mine")
    add_broken_clips(folder)
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr,ssim") == 3
    df = read_results(tmp_path / "out")
    ok = df[df["clip"].isin(["a", "b"])]
    assert (ok["status"] == "ok").all() and len(ok) == 6
    junk, switch = (df[df["clip"] == c] for c in ("junk", "switch"))
    assert (junk["status"] == "error").all() and len(junk) == 3 and junk["value"].isna().all()
    assert junk["reason"].str.contains("lq/junk.mp4: not a readable media file").all()
    assert (switch["status"] == "error").all() and len(switch) == 3
    assert switch["reason"].str.contains(r"lq/switch.mpg: frame 2 is 24x16 but frame 0 is 16x12", regex=False).all()
    md = (tmp_path / "out" / "leaderboard" / "leaderboard.md").read_text()
    assert "error: " in md  # footnoted, never averaged in

    # a resume retries the errors (and only those): fixed clips become numbers, exit 0
    (folder / "gt" / "junk.mp4").unlink()
    (folder / "lq" / "junk.mp4").unlink()
    (folder / "gt" / "switch.mp4").unlink()
    (folder / "lq" / "switch.mpg").unlink()
    make_folder(folder, {"junk": (48, 64), "switch": (48, 64)})
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr,ssim") == 0
    again = read_results(tmp_path / "out")
    assert (again["status"] == "ok").all() and len(again) == 12
    assert not again.duplicated(list(KEY)).any()
    kept = again[again["clip"].isin(["a", "b"])].reset_index(drop=True)
    assert kept.equals(ok.reset_index(drop=True))  # finished cells untouched (same values, same provenance)


def test_lq_only_folder_records_reference_metrics_as_not_applicable(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "mine", gt=False)
    # flashvsr-v1.1's weights are absent here: its cells are missing with the reason (a stated reason: exit 0)
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr,ewarp_dis", "--methods", "bicubic,flashvsr-v1.1") == 0
    df = read_results(tmp_path / "out")
    psnr = df[df["metric"] == "psnr"]
    assert len(psnr) == 4 and (psnr["status"] == "not-applicable").all() and psnr["value"].isna().all()
    assert psnr["reason"].str.contains("no gt").all()
    rest = df[df["metric"] != "psnr"]
    assert (rest[rest["method"] == "bicubic"]["status"] == "ok").all()
    assert (rest[rest["method"] == "flashvsr-v1.1"]["status"] == "missing-weights").all()


def test_gt_only_folder_synthesises_lq_with_the_named_preset_and_seed(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "mine", lq=False)
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr", "--lq", "bd", "--set", "seed=3") == 0
    df = read_results(tmp_path / "out")
    assert (df["status"] == "ok").all() and sorted(set(df["clip"])) == ["a", "b"]
    for protocol, prov in zip(df["protocol"].map(json.loads), df["provenance"].map(json.loads), strict=True):
        assert protocol["lq"] == "bd" and protocol["lq_source"] == "bd (ours, seed 3)"
        assert prov["lq_preset"] == "bd" and prov["lq_seed"] == 3


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--metrics", "msuiq"], "unknown metric 'msuiq'; did you mean 'musiq'"),
        (["--methods", "bicubc"], "unknown method 'bicubc'; did you mean 'bicubic'"),
        (["--datasets", "samplse"], "unknown dataset 'samplse'; did you mean 'samples'"),
    ],
)
def test_unknown_names_give_one_line_with_the_closest_names_and_exit_2(
    tmp_path: Path, args: list[str], named: str
) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "bench", *args, "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and named in r.stderr
    assert not (tmp_path / "out").exists()  # checked before any work


def test_bad_folders_and_options_exit_2_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path / "mine")
    (folder / "gt" / "b.mp4").unlink()
    assert _bench(folder, tmp_path / "out", "--metrics", "psnr") == 2
    assert "lq/b.mp4: lq clip with no gt partner" in capsys.readouterr().err
    assert _bench(tmp_path / "mine", tmp_path / "out", "--set", "scael=2") == 2
    assert "did you mean 'scale'" in capsys.readouterr().err
    assert main(["bench", "--dataset", "mine", "-o", str(tmp_path / "out")]) == 2
    assert "--dataset needs NAME=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_registered_folder_set_is_scored_once_on_its_own_lq(tmp_path: Path) -> None:
    from benchmark.runner import BenchConfig, run
    from tests.benchmark.user_folders import hr_clip
    from vsrcore.video.write import write_image_sequence

    for clip in ("calendar", "city", "foliage", "walk"):
        hr = hr_clip(clip, 32, 48, 2)
        write_image_sequence(tmp_path / "Vid4/GT" / clip, hr)
        write_image_sequence(tmp_path / "Vid4/BIx4" / clip, hr[:, ::4, ::4])
    cfg = BenchConfig(
        methods=["bicubic"],
        datasets=["vid4"],
        metrics=["psnr"],
        out=tmp_path / "out",
        lq=["bi", "bd"],  # the suite's synthetic variants do not apply to a set with its own LQ
        data_root=str(tmp_path),
        device="cpu",
        progress=False,
    )
    assert run(cfg).exit_code == 0
    df = read_results(cfg.out)
    assert len(df) == 4 * 2 and (df["status"] == "ok").all()
    protocols = {p["lq_source"] + " / " + p["lq"] for p in df["protocol"].map(json.loads)}
    assert protocols == {"official BIx4 / official"}
