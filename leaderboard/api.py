"""Build and write the leaderboard from result files (and the transcribed published rows)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leaderboard.board import Section, build_board, load_records
from leaderboard.published import published_records
from leaderboard.render import to_html, to_markdown


def build_sections(records: list[dict[str, Any]], *, published: bool = True) -> list[Section]:
    """Sections of ranked rows from measured records plus (optionally) the published rows."""
    return build_board(list(records) + (published_records() if published else []))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_leaderboard(
    results: Sequence[str | Path], out_dir: str | Path, *, published: bool = True, title: str = "FlashVSR leaderboard"
) -> dict[str, Path]:
    """Read result files, write `leaderboard.md` and `index.html` into `out_dir` atomically; returns the paths."""
    records: list[dict[str, Any]] = []
    for r in results:
        records += load_records(r)
    sections = build_sections(records, published=published)
    out = Path(out_dir)
    paths = {"markdown": out / "leaderboard.md", "html": out / "index.html"}
    _write_atomic(paths["markdown"], to_markdown(sections, title))
    _write_atomic(paths["html"], to_html(sections, title))
    return paths
