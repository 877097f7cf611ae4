"""Done-means: `flashvsr bench --suite paper` on a small REDS folder laid out by prepare-data; the leaderboard
shows the paper's published rows beside the measured ones, with measured - published deltas."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.prepare import prepare
from leaderboard.board import load_records
from leaderboard.published import published_records
from tests.benchmark.test_prepare import _clips, _zip
from vsrcore.cli import main


# A cheap stand-in for a published method: ffmpeg's Lanczos x4, registered as a command method under the name the
# published DOVE row is compared with ("dove"), so the pairing and the deltas are exercised end to end. Its numbers
# are Lanczos numbers, not DOVE's.
STAND_IN = (
    "dove={ffmpeg} -loglevel error -y -i {input}/%08d.png -vf scale=iw*{scale}:ih*{scale}:flags=lanczos "
    "-start_number 0 {output}/%08d.png"
)


def test_paper_suite_on_a_prepared_reds_folder_shows_published_beside_measured(tmp_path: Path, capsys) -> None:
    src = tmp_path / "download"
    _clips(src / "val" / "val_sharp", [f"{i:03d}" for i in range(30)], frames=2, size=192)
    root = tmp_path / "data"
    prepare("reds30", [_zip(src, tmp_path / "val_sharp.zip")], root)  # GT only: the paper variant degrades it

    out = tmp_path / "results"
    args = ["bench", "--suite", "paper", "--datasets", "reds30+realbasicvsr", "--methods", "bicubic"]
    args += ["--command-method", STAND_IN, "--metrics", "psnr,pyiqa_ssim,niqe,musiq"]
    args += ["--data-root", str(root), "-o", str(out), "--device", "cpu", "--weights-dir", str(tmp_path / "none")]
    assert main(args) == 0, capsys.readouterr().err

    records = [r for r in load_records(out) if r["dataset"] == "reds30+realbasicvsr"]
    assert {r["protocol"]["lq_source"] for r in records} == {"ours:realbasicvsr:seed=0"}
    assert {r["clip"] for r in records} == {f"{i:03d}" for i in range(30)}
    dove = [r["value"] for r in records if r["method"] == "dove" and r["metric"] == "psnr"]
    assert len(dove) == 30 and all(v is not None for v in dove)
    musiq = {r["status"] for r in records if r["metric"] == "musiq"}
    assert musiq == {"missing-weights"}  # no weights here: stated, never a number

    md = (out / "leaderboard" / "leaderboard.md").read_text()
    section = md[md.index("## reds30+realbasicvsr") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    lines = section.splitlines()
    head = next(line for line in lines if line.startswith("| # |")).split(" | ")
    assert head[1:4] == ["Method", "Source", "PSNR (RGB) ↑"] and head[4] == "Δ PSNR (RGB)"
    rows = {tuple(c.strip() for c in line.split("|")[2:4]): line.split("|") for line in lines if line.startswith("| ")}
    assert ("dove", "measured") in rows and ("bicubic", "measured") in rows
    published = {
        (r["method"], r["metric"]): r["value"] for r in published_records() if r["dataset"] == "reds30+realbasicvsr"
    }
    for method in ("FlashVSR-Tiny", "STAR", "SeedVR2-3B"):  # the paper's rows, in the same table
        assert any(m == method and s.startswith("published") for m, s in rows), method
    dove_pub = rows[("DOVE", "published<sup>c1</sup>, Δ vs dove")]
    expected = sum(dove) / len(dove) - published[("DOVE", "psnr")]
    assert float(dove_pub[4].strip()) == published[("DOVE", "psnr")]
    assert float(dove_pub[5].strip()) == pytest.approx(expected, abs=5e-3)  # printed with 2-4 decimals
    assert "Δ vs" not in "".join(line for line in lines if "| STAR |" in line)  # no measured STAR: no delta
