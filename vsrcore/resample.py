"""Separable resampling as explicit weight matrices, shared by the numpy reference and the torch path.

`resize_matrix(n_in, n_out, mode)` returns W (n_out, n_in) with out = W @ in along one axis, so both paths
compute the same function by construction. Modes:
- "bilinear", "bicubic" (a = -0.75), "area": OpenCV `cv2.resize` semantics (INTER_LINEAR / INTER_CUBIC /
  INTER_AREA, half-pixel centres, replicated border), which equal torch `F.interpolate(align_corners=False,
  antialias=False)` for bilinear and bicubic. Tests check them against cv2.
- "matlab_bicubic": MATLAB `imresize` bicubic (a = -0.5) with its antialiasing (kernel widened by 1/scale
  when shrinking) and symmetric border: the "BI" degradation of the VSR literature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


MODES = ("bilinear", "bicubic", "area", "matlab_bicubic")


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    ax = np.abs(x)
    return np.where(
        ax <= 1,
        (a + 2) * ax**3 - (a + 3) * ax**2 + 1,
        np.where(ax < 2, a * ax**3 - 5 * a * ax**2 + 8 * a * ax - 4 * a, 0.0),
    )


def _interp(n_in: int, n_out: int, taps: int, kernel: str) -> np.ndarray:
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = (o + 0.5) * scale - 0.5
        if kernel == "linear":
            src = max(src, 0.0)  # OpenCV and torch clamp the left edge for linear interpolation
        base = int(np.floor(src))
        frac = src - base
        if kernel == "linear":
            idx = np.array([base, base + 1])
            coef = np.array([1 - frac, frac])
        else:
            idx = np.arange(base - 1, base + taps - 1)
            coef = _cubic(idx - src, -0.75)
        np.add.at(w[o], np.clip(idx, 0, n_in - 1), coef)
    return w


def _area(n_in: int, n_out: int) -> np.ndarray:
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    if scale >= 1:  # shrinking: exact overlap of the output cell [o*scale, (o+1)*scale) with input pixels
        for o in range(n_out):
            lo, hi = o * scale, (o + 1) * scale
            for i in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
                w[o, i] = min(hi, i + 1) - max(lo, i)
        return w / w.sum(axis=1, keepdims=True)
    inv = n_out / n_in  # enlarging: OpenCV's INTER_AREA uses this piecewise-linear rule
    for o in range(n_out):
        sx = int(np.floor(o * scale))
        fx = (o + 1) - (sx + 1) * inv
        fx = 0.0 if fx <= 0 else fx - np.floor(fx)
        w[o, min(max(sx, 0), n_in - 1)] += 1 - fx
        w[o, min(max(sx + 1, 0), n_in - 1)] += fx
    return w


def _matlab_bicubic(n_in: int, n_out: int) -> np.ndarray:
    scale = n_out / n_in
    width = 4.0 / scale if scale < 1 else 4.0
    w = np.zeros((n_out, n_in))
    for o in range(n_out):
        centre = (o + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based, as in MATLAB
        left = int(np.floor(centre - width / 2))
        idx = np.arange(left, left + int(np.ceil(width)) + 2)
        dist = centre - idx
        coef = scale * _cubic(scale * dist, -0.5) if scale < 1 else _cubic(dist, -0.5)
        coef = coef / coef.sum()
        # symmetric border: index 0 -> 1, -1 -> 2, n+1 -> n, ... (1-based)
        mirrored = np.concatenate([np.arange(1, n_in + 1), np.arange(n_in, 0, -1)])
        src = mirrored[np.mod(idx - 1, 2 * n_in)] - 1
        np.add.at(w[o], src, coef)
    return w


@lru_cache(maxsize=256)
def resize_matrix(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """Weights (n_out, n_in), float64, rows summing to 1 (read-only; cached)."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"cannot resize {n_in} -> {n_out} pixels")
    if mode == "bilinear":
        w = _interp(n_in, n_out, 2, "linear")
    elif mode == "bicubic":
        w = _interp(n_in, n_out, 4, "cubic")
    elif mode == "area":
        w = _area(n_in, n_out)
    elif mode == "matlab_bicubic":
        w = _matlab_bicubic(n_in, n_out)
    else:
        raise ValueError(f"unknown resize mode '{mode}' (known: {', '.join(MODES)})")
    w.setflags(write=False)
    return w


@lru_cache(maxsize=256)
def _sparse(n_in: int, n_out: int, mode: str) -> object:
    from scipy.sparse import csr_matrix

    return csr_matrix(resize_matrix(n_in, n_out, mode).astype(np.float32))


def resize_frames(frames: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """Reference path: resize float32 (T, H, W, C) frames to (T, height, width, C).

    The weights are banded, so they are applied as sparse matrices (cost ~ taps x pixels).
    """
    t, h, w, c = frames.shape
    x = np.ascontiguousarray(frames.transpose(1, 0, 2, 3)).reshape(h, t * w * c)
    x = (_sparse(h, height, mode) @ x).reshape(height, t, w, c)  # rows resampled
    x = np.ascontiguousarray(x.transpose(2, 0, 1, 3)).reshape(w, height * t * c)
    x = (_sparse(w, width, mode) @ x).reshape(width, height, t, c)  # columns resampled
    return np.ascontiguousarray(x.transpose(2, 1, 0, 3)).astype(np.float32, copy=False)
