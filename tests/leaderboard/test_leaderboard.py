"""Leaderboard: committed records fixture -> golden Markdown; ranking, missing cells, escaping, HTML, CLI."""

from __future__ import annotations

import html.parser
import re
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
    assert tiny[("reds30+realbasicvsr", "psnr")] == 24.11 and tiny[("speed-768x1408", "fps")] == 16.92
    # FlashVSR Table 1: 25 (dataset, metric) rows of 7 methods
    t1 = {(r["dataset"], r["metric"]) for r in rows if r["citation"].endswith("Table 1")}
    assert len(t1) == 25


def test_measured_and_reported_rows_are_separated() -> None:
    recs = load_records(DATA / "records.jsonl")
    recs += [dict(r, dataset="samples", protocol=recs[0]["protocol"]) for r in published_records()[:7]]
    (s,) = [x for x in build_board(recs) if x.dataset == "samples"]
    flags = [r.reported for r in s.rows]
    assert flags == sorted(flags)  # measured first
    md = to_markdown([s])
    assert "| Source |" in md and "| measured |" in md and "| published<sup>c1</sup> |" in md


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


def _measured(method: str, metric: str, value: float, dataset: str = "reds30+realbasicvsr", **kw) -> dict:
    label = {"psnr": "PSNR (RGB)", "pyiqa_ssim": "SSIM (pyiqa default, YIQ-Y)", "fps": "FPS"}.get(metric, metric)
    return {
        "method": method,
        "dataset": dataset,
        "clip": kw.get("clip", "000"),
        "metric": metric,
        "value": value,
        "status": "ok",
        "higher_is_better": True,
        "metric_label": label,
        "protocol": {"lq_source": "ours:realbasicvsr:seed=0", "scale": 4},
        "protocol_key": kw.get("protocol_key", "k1"),
    }


def test_published_and_measured_rows_share_one_table_with_deltas() -> None:
    recs = [
        _measured("flashvsr-v1", "psnr", 23.0, clip="000"),
        _measured("flashvsr-v1", "psnr", 24.0, clip="001"),
        _measured("flashvsr-v1", "pyiqa_ssim", 0.70),
        _measured("bicubic", "psnr", 22.0),
    ]
    sections = build_sections(recs)
    (reds,) = [s for s in sections if s.dataset == "reds30+realbasicvsr"]
    assert reds.lq_source == "ours:realbasicvsr:seed=0"  # the measured LQ names the table
    by = {(r.method, r.source): r for r in reds.rows}
    assert ("flashvsr-v1", "measured") in by and ("FlashVSR-Tiny", "published") in by
    assert [c.key for c in reds.columns][:2] == ["psnr", "pyiqa_ssim"]  # one column per metric, shared
    assert reds.columns[1].label == "SSIM (pyiqa default, YIQ-Y)"  # the measured metric names the column
    tiny = by[("FlashVSR-Tiny", "published")]
    assert tiny.compared_to == "flashvsr-v1"
    assert tiny.delta["psnr"] == pytest.approx(23.5 - 24.11)
    assert tiny.delta["pyiqa_ssim"] == pytest.approx(0.70 - 0.6511)
    assert "lpips" not in tiny.delta  # measured row has no LPIPS
    assert not by[("DOVE", "published")].delta and not by[("flashvsr-v1", "measured")].delta
    md = to_markdown([reds])
    head = next(line for line in md.splitlines() if line.startswith("| # |"))
    assert head.startswith(
        "| # | Method | Source | PSNR (RGB) ↑ | Δ PSNR (RGB) | SSIM (pyiqa default, YIQ-Y) ↑ | Δ SSIM"
    )
    row = next(line for line in md.splitlines() if "| FlashVSR-Tiny |" in line)
    assert "published<sup>c1</sup>, Δ vs flashvsr-v1" in row and "| 24.11 | -0.6100 |" in row
    page = to_html([reds])
    assert "Δ vs flashvsr-v1" in page and "Δ PSNR (RGB)</th>" in page
    deltas = [float(v) for v in re.findall(r'<td data-v="(-[0-9.e-]+)">', page)]
    assert pytest.approx(23.5 - 24.11) in deltas
    # a section of published rows only (no run on that set) keeps its own table
    assert any(s.dataset == "youhq40" and all(r.reported for r in s.rows) for s in sections)


def test_published_rows_take_their_own_column_when_a_metric_has_several_protocols() -> None:
    recs = [_measured("flashvsr-v1", "psnr", 23.0), _measured("flashvsr-v1", "psnr", 23.2, protocol_key="k2")]
    (reds,) = [s for s in build_sections(recs) if s.dataset == "reds30+realbasicvsr"]
    keys = [c.key for c in reds.columns if c.key.startswith("psnr")]
    assert keys == ["psnr@k1", "psnr@k2", "psnr@published"]


def test_ticks_are_round_numbers_covering_the_range() -> None:
    from leaderboard.render import log_ticks, nice_ticks

    assert nice_ticks(24.0, 24.16) == pytest.approx([24.0, 24.05, 24.1, 24.15])
    assert nice_ticks(0.61, 0.72) == pytest.approx([0.62, 0.64, 0.66, 0.68, 0.70, 0.72])
    assert log_ticks(-1.0, 1.5) == pytest.approx([0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
    assert log_ticks(-1.0, 3.2) == pytest.approx([0.1, 1, 10, 100, 1000])


def test_quality_vs_speed_plot_has_numbered_axes() -> None:
    recs = [_measured("a", "psnr", 24.01, dataset="x"), _measured("a", "fps", 2.0, dataset="x")]
    recs += [_measured("b", "psnr", 24.16, dataset="x"), _measured("b", "fps", 30.0, dataset="x")]
    page = to_html(build_sections(recs, published=False))
    svg = page[page.index("<svg") : page.index("</svg>")]
    xs = re.findall(r'<text class="xtick"[^>]*>([^<]+)</text>', svg)
    ys = re.findall(r'<text class="ytick"[^>]*>([^<]+)</text>', svg)
    assert xs == ["2", "5", "10", "20"]
    assert [float(y) for y in ys] == pytest.approx([24.05, 24.1, 24.15])  # a 0.15 dB spread, labelled
