"""The HTML leaderboard in a real browser (headless Chromium from Debian): ranking, sorting, filtering,
escaping. `.ci/run` installs Chromium; elsewhere the test is skipped when no Chromium is on the PATH."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from leaderboard.api import write_leaderboard


DATA = Path(__file__).parent / "data"
HOSTILE = "<script>alert('x')</script>|**evil**"


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs the Debian package 'chromium'")
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    return exe


def _dom(page: Path, fragment: str, tmp: Path) -> str:
    """The DOM after the page's scripts ran (file://, no network)."""
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'profile'}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        page.as_uri() + fragment,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


class _Tables(html.parser.HTMLParser):
    """Collects, per table, the rows' method names (data-method), cell data-v values and display style."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[dict]] = []
        self.scripts = 0
        self._row: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and "data-method" in a:
            self._row = {"method": a["data-method"], "values": [], "hidden": "none" in (a.get("style") or "")}
            self.tables[-1].append(self._row)
        elif tag == "td" and self._row is not None:
            self._row["values"].append(a.get("data-v"))


def _parse(dom: str) -> _Tables:
    p = _Tables()
    p.feed(dom)
    return p


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("board")
    return write_leaderboard([DATA / "records.jsonl"], out, published=False)["html"]


def test_ranking_and_escaping_in_the_browser(page: Path, tmp_path: Path) -> None:
    parsed = _parse(_dom(page, "", tmp_path))
    assert parsed.scripts == 1  # the hostile method name did not become an element
    (rows,) = parsed.tables
    methods = [r["method"] for r in rows]
    assert HOSTILE in methods and methods[-1] == HOSTILE
    ranks = [r["values"][0] for r in rows if r["values"][0]]
    assert ranks == sorted(ranks, key=int)  # rendered in rank order


@pytest.mark.parametrize("direction", ["", ":desc"])
def test_sorting_by_a_column(page: Path, tmp_path: Path, direction: str) -> None:
    rows = _parse(_dom(page, f"#sort=0:3{direction}", tmp_path)).tables[0]
    values = [float(r["values"][3]) for r in rows if r["values"][3]]
    assert len(values) >= 2
    assert values == sorted(values, reverse=bool(direction))
    assert all(not r["values"][3] for r in rows[len(values) :])  # missing values sort last


def test_filtering(page: Path, tmp_path: Path) -> None:
    rows = _parse(_dom(page, "#filter=lanczos", tmp_path)).tables[0]
    assert [r["method"] for r in rows if not r["hidden"]] == ["lanczos"]
