"""Every source is accounted for: a file whose packets demux but do not decode is quarantined before any size
rule sees it, and a file repeating another's content is recorded as such (never silently dropped)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from curation.config import samples
from curation.pipeline import curate
from tests.hostile_inputs import hostile_media
from vsrcore.atomic import finished_files


def _accounted(out: Path) -> dict[str, dict]:
    """path name -> its row, from every state file (done and quarantined)."""
    rows = {}
    for kind in ("sources", "quarantine"):
        for state in finished_files(out / "state" / kind, ".json"):
            for row in json.loads(state.read_text())["rows"]:
                rows[Path(row["path"]).name] = row
    return rows


def test_a_source_that_does_not_decode_is_quarantined_before_the_size_rules(tmp_path: Path) -> None:
    made = hostile_media(tmp_path / "media", ("corrupt-nal", "good"))
    out = tmp_path / "out"
    curate(
        [str(made["corrupt-nal"].parent), str(made["good"].parent)], out, samples(), backend="local", progress=False
    )
    rows = _accounted(out)
    bad = rows["corrupt-nal.mkv"]
    assert bad["status"] == "quarantined" and bad["stage"] == "probe"
    assert bad["reason"].startswith(f"{made['corrupt-nal']}: decoding failed after 1 frames (Invalid data")
    good = rows["good.mp4"]  # 64x48: decodes, then the size rule rejects it
    assert good["status"] == "rejected" and good["reason"] == "short side 48 < 144"
    q = pd.read_parquet(out / "quarantine.parquet")
    assert list(q["path"]) == [str(made["corrupt-nal"])]


def test_a_file_repeating_another_ones_content_is_recorded_as_a_duplicate(tmp_path: Path) -> None:
    made = hostile_media(tmp_path / "media", ("good", "unicode-name"))
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in made.values():
        shutil.copy(p, raw / p.name)
    shutil.copy(made["good"], raw / "copy of good.mp4")
    out = tmp_path / "out"
    for _ in range(2):  # a re-run accounts for the same files once each
        curate([str(raw)], out, samples(), backend="local", progress=False)
        rows = _accounted(out)
        assert sorted(rows) == sorted(p.name for p in raw.iterdir())
        first = rows["clip ünïcode 雪 with spaces.mp4"]  # sorted first: the one whose content is probed
        assert first["status"] == "rejected"
        for name in ("copy of good.mp4", "good.mp4"):
            assert rows[name]["status"] == "duplicate" and rows[name]["stage"] == "discover"
            assert rows[name]["reason"] == f"same content as {raw / 'clip ünïcode 雪 with spaces.mp4'}"
        segments = pd.read_parquet(out / "segments.parquet")
        assert sorted(segments["status"]) == ["duplicate", "duplicate", "rejected"]
        assert len(list((out / "state" / "sources").glob("*.json"))) == 3
