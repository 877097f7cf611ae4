"""curate's probe stage decides on the counted frames and duration, and records the header's beside them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from curation.config import samples
from curation.stages import ProbeStage
from tests.hostile_inputs import mpeg1_declaring_one_frame, truncated_avi


def _stage(min_duration_s: float) -> ProbeStage:
    return ProbeStage(config=dataclasses.replace(samples(), min_short_side=32, min_duration_s=min_duration_s))


def test_header_duration_does_not_reject(tmp_path: Path) -> None:
    path = mpeg1_declaring_one_frame(tmp_path / "one.mpg")  # header: 0.04 s; holds 79 frames, 3.16 s
    item = _stage(2.0).process({"path": str(path), "kind": "video", "status": "ok"})
    assert item["status"] == "ok"
    meta = item["meta"]
    assert meta["frame_count"] == 79 and meta["duration_s"] == pytest.approx(3.16)
    assert meta["declared"]["frame_count"] == 1 and meta["declared"]["mismatch"] is True


def test_counted_duration_rejects_a_cut_file(tmp_path: Path) -> None:
    path = truncated_avi(tmp_path / "cut.avi")  # header: 444 frames; holds 68 (2.72 s)
    item = _stage(3.0).process({"path": str(path), "kind": "video", "status": "ok"})
    assert item["status"] == "rejected" and item["reason"] == "duration 2.72 s < 3.0 s"
    assert item["meta"]["declared"]["frame_count"] == 444 and item["meta"]["frame_count"] == 68
