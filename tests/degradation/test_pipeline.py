from __future__ import annotations

import json

import numpy as np
import pytest

from degradation import PRESETS
from degradation.pipeline import DegradationError, degrade, replay
from vsrcore import testing


@pytest.fixture(scope="module")
def hq() -> np.ndarray:
    return testing.moving_texture(6, 64, 96, dx=2)


@pytest.mark.parametrize("preset", PRESETS.names())
def test_preset_shapes_and_determinism(hq: np.ndarray, preset: str) -> None:
    a = degrade(hq, preset, seed=1, clip_id="c0")
    b = degrade(hq, preset, seed=1, clip_id="c0")
    assert a.lq.dtype == np.uint8 and a.lq.shape == (6, 16, 24, 3)
    assert a.gt.shape == hq.shape
    np.testing.assert_array_equal(a.lq, b.lq)
    assert json.dumps(a.record, sort_keys=True) == json.dumps(b.record, sort_keys=True)
    np.testing.assert_array_equal(replay(hq, json.loads(json.dumps(a.record))).lq, a.lq)


def test_seed_and_clip_id_change_the_draw(hq: np.ndarray) -> None:
    base = degrade(hq, "realbasicvsr", seed=0, clip_id="a").record["ops"]
    assert degrade(hq, "realbasicvsr", seed=1, clip_id="a").record["ops"] != base
    assert degrade(hq, "realbasicvsr", seed=0, clip_id="b").record["ops"] != base


def test_record_is_complete(hq: np.ndarray) -> None:
    rec = degrade(hq, "realbasicvsr", seed=3, clip_id="x", drift=True).record
    assert {"version", "preset", "options", "seed", "clip_id", "fps", "input", "output", "gt_ops", "ops"} <= set(rec)
    assert rec["options"]["drift"] is True and rec["options"]["bitrate_per_frame"] is True
    names = [op["op"] for op in rec["ops"]]
    assert names[0] == "blur" and names[1] == "resize" and names[-1] == "quantize"
    assert names.count("video_compression") == 2 and names.count("jpeg") == 2
    assert rec["gt_ops"] == [{"op": "unsharp_mask", "kernel_size": 51, "weight": 0.5, "threshold": 10.0}]
    for op in rec["ops"]:
        if op["op"] == "video_compression":
            assert op["codec"] in ("libx264", "h264", "mpeg4") and 10_000 <= op["bitrate"] < 100_000
            assert op["fps"] == 1.0


def test_drift_gives_per_frame_values(hq: np.ndarray) -> None:
    found = False
    for seed in range(6):
        rec = degrade(hq, "realbasicvsr", seed=seed, clip_id="d", drift=True).record
        blur = rec["ops"][0]
        if blur["kernels"][0]["type"] in ("iso", "aniso"):
            assert len(blur["kernels"]) == 6
            found = True
    assert found


def test_options_override_and_scale(hq: np.ndarray) -> None:
    res = degrade(hq, "bicubic", scale=2)
    assert res.lq.shape == (6, 32, 48, 3)
    assert degrade(hq, "realbasicvsr", usm_gt=False).record["gt_ops"] == []
    with pytest.raises(TypeError):
        degrade(hq, "bicubic", no_such_option=1)


def test_bicubic_matches_matlab_style_downscale() -> None:
    # a smooth ramp: MATLAB-bicubic x4 keeps the ramp (interior), up to 8-bit rounding
    ramp = np.tile(np.linspace(0, 255, 64)[None, None, :, None], (1, 32, 1, 3)).astype(np.uint8)
    lq = degrade(ramp, "bicubic").lq[0, :, 2:-2, 0].astype(float)
    expected = ramp[0, 0, :, 0].astype(float).reshape(16, 4).mean(axis=1)[2:-2]
    assert np.abs(lq - expected).max() <= 1.0


def test_bd_is_blur_then_subsample() -> None:
    import cv2

    hq = testing.moving_texture(2, 64, 64)
    lq = degrade(hq, "bd").lq
    k = cv2.getGaussianKernel(13, 1.6)
    ref = cv2.sepFilter2D(hq[0].astype(np.float32) / 255, -1, k, k, borderType=cv2.BORDER_REPLICATE)[::4, ::4]
    assert np.abs(lq[0].astype(float) - np.round(ref * 255)).max() <= 1


@pytest.mark.parametrize(
    "frames,problem",
    [
        (np.zeros((2, 1, 1, 3), np.uint8), "too small"),
        (np.zeros((2, 12, 200, 3), np.uint8), "too small"),
        (np.zeros((2, 64, 64, 3), np.float32), "uint8"),
        (np.zeros((64, 64), np.uint8), "(T, H, W, 3)"),
    ],
)
def test_bad_input_is_a_clear_error(frames: np.ndarray, problem: str) -> None:
    with pytest.raises(DegradationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        degrade(frames, "bicubic")


def test_gray_and_odd_sizes_are_handled(hq: np.ndarray) -> None:
    gray = hq[..., 0]
    res = degrade(gray, "realbasicvsr", seed=0)
    assert res.lq.shape == (6, 16, 24, 3)
    odd = testing.moving_texture(4, 67, 99)
    for preset in PRESETS.names():
        assert degrade(odd, preset, seed=0).lq.shape[1:3] in ((16, 24), (17, 25))
