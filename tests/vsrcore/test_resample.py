"""Resampling matrices against OpenCV and MATLAB imresize semantics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vsrcore.resample import resize_frames, resize_matrix


CV2 = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "area"])
@pytest.mark.parametrize("size", [(37, 53), (12, 20), (80, 100), (45, 61), (30, 30)])
def test_matches_cv2_resize(mode: str, size: tuple[int, int], rng: np.random.Generator) -> None:
    img = rng.random((40, 60, 3)).astype(np.float32)
    ref = cv2.resize(img, (size[1], size[0]), interpolation=CV2[mode])
    ours = resize_frames(img[None], *size, mode)[0]
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_rows_sum_to_one() -> None:
    for mode in ("bilinear", "bicubic", "area", "matlab_bicubic"):
        for n_in, n_out in ((17, 5), (5, 17), (64, 16), (16, 16)):
            np.testing.assert_allclose(resize_matrix(n_in, n_out, mode).sum(axis=1), 1.0, atol=1e-12)


def test_matlab_bicubic_x4_known_values() -> None:
    # MATLAB imresize(x, 1/4) of a ramp is the ramp sampled at the antialiased centres, away from borders.
    w = resize_matrix(32, 8, "matlab_bicubic")
    ramp = np.arange(32, dtype=np.float64)
    np.testing.assert_allclose((w @ ramp)[2:-2], 4 * np.arange(8)[2:-2] + 1.5, atol=1e-9)
    # symmetric border: a constant stays constant, and the kernel spans 16 taps when shrinking by 4
    np.testing.assert_allclose(w @ np.ones(32), 1.0)
    assert np.count_nonzero(w[4]) == 16


def test_matlab_bicubic_upscale_is_interpolating() -> None:
    w = resize_matrix(8, 32, "matlab_bicubic")
    ramp = np.arange(8, dtype=np.float64)
    np.testing.assert_allclose((w @ ramp)[8:-8], ((np.arange(32) + 0.5) / 4 - 0.5)[8:-8], atol=1e-9)
