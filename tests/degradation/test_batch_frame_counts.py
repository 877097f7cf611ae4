"""`degrade` plans clips on the counted frames, not the header's, records any mismatch, and keeps VFR timing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from degradation.batch import DegradeSettings, run
from tests.hostile_inputs import VFR_TIMES, mpeg1_declaring_one_frame, truncated_avi, vfr_video
from vsrcore.video.decode import read_timed_frames


def _records(out: Path) -> dict[str, dict]:
    return {p.stem.split("-")[0]: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def test_lying_headers_and_vfr(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    mpeg1_declaring_one_frame(src / "one.mpg", height=64, width=64)
    truncated_avi(src / "cut.avi", height=64, width=64)
    vfr_video(src / "vfr.mkv", height=64, width=64)
    out = tmp_path / "out"
    summary = run(src, out, DegradeSettings("bicubic", 0, {"scale": 4}), clip_frames=100, progress=False)
    assert summary["failed"] == 0 and summary["done"] == 3
    rec = _records(out)
    one = rec["one"]
    assert one["output"]["frames"] == 79  # all 79 frames, not the 1 the header declares
    assert one["source_frames"]["declared_frames"] == 1 and one["source_frames"]["mismatch"] is True
    cut = rec["cut"]
    assert cut["output"]["frames"] == 68 and cut["source_frames"]["declared_frames"] == 444
    assert cut["source_frames"]["clip_decoded"] == cut["source_frames"]["clip_planned"] == 68
    vfr = rec["vfr"]
    assert vfr["source_frames"]["vfr"] is True
    assert vfr["source_frames"]["timestamps"]["mode"] == "source times"
    assert vfr["source_frames"]["timestamps"]["max_shift_s"] <= 0.0005
    _, times = read_timed_frames(out / vfr["lq_path"])
    np.testing.assert_allclose(times, VFR_TIMES, atol=1e-3)
