"""Leaderboard: committed records fixture -> golden Markdown; ranking, missing cells, escaping, HTML, CLI."""

from __future__ import annotations

import html.parser
import subprocess
import sys
from pathlib import Path

import pytest

from leaderboard.api import build_sections, write_leaderboard
from leaderboard.board import build_board, load_records
from leaderboard.published import published_records
from leaderboard.render import to_html, to_markdown


DATA = Path(__file__).parent / "data"
HOSTILE = "<script>alert('x')</script>|**evil**"


def test_fixture_renders_the_golden_markdown() -> None:
    md = to_markdown(build_sections(load_records(DATA / "records.jsonl")), "Fixture leaderboard")
    assert md == (DATA / "golden.md").read_text()


def test_ranking_direction_best_and_missing() -> None:
    (s,) = build_board(load_records(DATA / "records.jsonl"))
    by = {r.method: r for r in s.rows}
    assert by["lanczos"].cells["psnr"].best and not by["bicubic"].cells["psnr"].best
    assert by["flashvsr-tiny"].cells["niqe"].best  # lower is better
    assert by["lanczos"].cells["ssim_y"].value is None  # one failed clip -> no partial average
    assert "frames too small" in by["lanczos"].cells["ssim_y"].reason
    assert all(r.cells["lpips"].value is None and "missing-weights" in r.cells["lpips"].reason for r in s.rows)
    assert s.rows[-1].method == HOSTILE


def test_published_rows_are_reported_and_cited() -> None:
    rows = published_records()
    assert rows and all(r["reported"] and r["citation"] and r["status"] == "ok" for r in rows)
    methods = {r["method"] for r in rows}
    assert {
        "FlashVSR-Full",
        "FlashVSR-Tiny",
        "DOVE",
        "SeedVR2-3B",
        "STAR",
        "Upscale-A-Video",
        "RealViformer",
    } <= methods
    tiny = {(r["dataset"], r["metric"]): r["value"] for r in rows if r["method"] == "FlashVSR-Tiny"}
    assert tiny[("reds", "psnr")] == 24.11 and tiny[("speed-768x1408", "fps")] == 16.92


def test_measured_and_reported_rows_are_separated() -> None:
    recs = load_records(DATA / "records.jsonl")
    recs += [dict(r, dataset="samples", protocol=recs[0]["protocol"]) for r in published_records()[:7]]
    (s,) = [x for x in build_board(recs) if x.dataset == "samples"]
    flags = [r.reported for r in s.rows]
    assert flags == sorted(flags)  # measured first
    md = to_markdown([s])
    assert "*reported in papers*" in md


class _Collect(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.scripts += tag == "script"


def test_html_is_self_contained_and_escapes_hostile_names() -> None:
    page = to_html(build_sections(load_records(DATA / "records.jsonl")))
    p = _Collect()
    p.feed(page)
    assert p.scripts == 1  # only our inline script; the hostile name is text
    assert "&lt;script&gt;alert(" in page and HOSTILE not in page
    assert "http://" not in page and "https://" not in page.split("<body>")[0]
    assert page.count("<table>") == len(build_sections(load_records(DATA / "records.jsonl")))
    assert "<svg" in page  # speed-vs-quality scatter for sections with FPS


def test_missing_cells_are_dashes_with_footnotes() -> None:
    md = (DATA / "golden.md").read_text()
    assert "—<sup>2</sup>" in md and "<sup>2</sup> missing-weights: weights 'lpips-alex' missing" in md
    assert "&lt;script&gt;" in md and "<script>" not in md


def test_write_and_cli(tmp_path: Path) -> None:
    paths = write_leaderboard([DATA / "records.jsonl"], tmp_path / "a", published=False)
    assert paths["markdown"].read_text().count("## ") == 1 and paths["html"].exists()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vsrcore.cli",
            "leaderboard",
            str(DATA / "records.jsonl"),
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "leaderboard.md").exists() and (tmp_path / "b" / "index.html").exists()
    r = subprocess.run(
        [sys.executable, "-m", "vsrcore.cli", "leaderboard", str(tmp_path / "nope.parquet"), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "not found" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_parquet_records_from_benchmark_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from benchmark.records import Record, append_records

    append_records(tmp_path, [Record("m", "samples", "c", "psnr", 30.0, protocol={"lq_source": "bi"})])
    (s,) = build_board(load_records(tmp_path))  # a results folder: results.parquet + records/part-N.parquet
    assert s.rows[0].cells["psnr"].value == 30.0 and s.lq_source == "bi"


def test_leaderboard_imports_nothing_heavy() -> None:
    code = (
        "import sys, leaderboard, leaderboard.cli, leaderboard.render\n"
        "bad = {'torch', 'ray', 'av', 'benchmark', 'degradation', 'model', 'curation'} & set(sys.modules)\n"
        "assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
