"""`python -m curation.bench --generate-1080p N`: the generated sources are real 1080p x264 files."""

from __future__ import annotations

from pathlib import Path

from curation.bench import generate_1080p
from vsrcore.video.probe import probe


def test_generated_sources_are_distinct_1080p_videos(tmp_path: Path) -> None:
    paths = generate_1080p(tmp_path, 2, frames=4)
    metas = [probe(p) for p in paths]
    assert all((m.width, m.height, m.codec) == (1920, 1080, "h264") for m in metas)
    assert Path(paths[0]).read_bytes() != Path(paths[1]).read_bytes()
