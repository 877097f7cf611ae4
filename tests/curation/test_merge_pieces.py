"""Clips cut to `merge.max_frames` shorter than a segment (the corpus build's `--set merge.max_frames=20`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from curation.config import samples
from curation.ops.segments import MergeConfig, merge_segments
from curation.pipeline import decide


def _segments(n: int, length: int) -> list[dict]:
    seg = {"source_id": "v1", "path": "x.mp4", "shot": 0, "shot_span": [0, n * length], "meta": {}}
    return [
        {**seg, "segment_id": str(i), "start": i * length, "end": (i + 1) * length, "scores": {"motion": float(i)}}
        for i in range(n)
    ]


def test_decide_cuts_clips_inside_one_segment() -> None:
    from dataclasses import replace

    cfg = replace(samples(), merge=MergeConfig(min_frames=17, max_frames=20), thresholds={})
    _, clips = decide(cfg, _segments(2, 50))  # two 50-frame segments -> 20-frame clips, some inside one segment
    assert [(c["start"], c["end"]) for c in clips] == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    assert [c["segment_ids"] for c in clips] == [["0"], ["0"], ["0", "1"], ["1"], ["1"]]
    assert [c["scores"]["motion"] for c in clips] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert len({c["id"] for c in clips}) == 5


@given(
    lengths=st.lists(st.integers(1, 120), min_size=1, max_size=6),
    kept=st.lists(st.booleans(), min_size=6, max_size=6),
    lo=st.integers(1, 60),
    extra=st.integers(0, 80),
)
def test_pieces_stay_within_min_and_max(lengths: list[int], kept: list[bool], lo: int, extra: int) -> None:
    cfg = MergeConfig(min_frames=lo, max_frames=lo + extra)
    segs, t = [], 0
    for n, k in zip(lengths, kept, strict=False):
        segs.append((0, t, t + n, k))
        t += n
    pieces = merge_segments(segs, cfg)
    assert all(cfg.min_frames <= e - s <= cfg.max_frames for _, s, e in pieces)
    assert all(a[2] <= b[1] for a, b in zip(pieces, pieces[1:], strict=False))  # in order, disjoint
    for _, s, e in pieces:  # inside one run of kept segments
        assert all(k for _, a, b, k in segs if a < e and b > s)
