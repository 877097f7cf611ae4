"""NIQE (Mittal et al. 2012) implemented from the formula, with the pristine model shipped beside it.

The parameters (`data/niqe_pris_params.npz`: mu 1x36, cov 36x36, the 7x7 Gaussian window) are taken
unchanged from BasicSR 1.4.2 (Apache-2.0; see data/PROVENANCE.md), the model BasicSR validated against
the official MATLAB release. The procedure follows it: BT.601 Y rounded to integers in [0, 255], 96x96
blocks without overlap, two scales (the second by MATLAB bicubic x0.5 with antialiasing), 18 AGGD
features per block and scale, then the distance between the two multivariate Gaussians. MSCN values of flat
neighbourhoods (|value| < `FLAT_TOL`) are set to exactly 0: in exact arithmetic they are 0, but the Gaussian
filter leaves rounding noise of either sign there, which would enter the AGGD left/right spreads and move the
score by several percent on images with saturated areas (4.5 % on pyiqa's calibration image I19). Used by the
benchmark metric `niqe` and by the curation technical scores; numpy and scipy only.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np


PARAMS_PATH = Path(__file__).parent / "data" / "niqe_pris_params.npz"
FLAT_TOL = 1e-9
# MATLAB rgb2gray: the first row of inv of the NTSC YIQ matrix (what the reference NIQE script is fed).
GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


@cache
def pristine_params() -> dict[str, np.ndarray]:
    """mu (36,), cov (36, 36), gaussian_window (7, 7) of the shipped pristine model."""
    with np.load(PARAMS_PATH) as d:
        return {
            "mu": d["mu_pris_param"].reshape(-1).astype(np.float64),
            "cov": d["cov_pris_param"].astype(np.float64),
            "window": d["gaussian_window"].astype(np.float64),
        }


@cache
def _gamma_table() -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import gamma

    gam = np.arange(0.2, 10.001, 0.001)
    r = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))
    return gam, r


def aggd_params(x: np.ndarray) -> tuple[float, float, float]:
    """(alpha, beta_left, beta_right) of an asymmetric generalised Gaussian fitted to the values of `x`."""
    alpha, left, right = aggd_params_batch(x.reshape(1, -1))
    return float(alpha[0]), float(left[0]), float(right[0])


def aggd_params_batch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`aggd_params` of each row of `x` (N, M) at once: (alpha, beta_left, beta_right), each (N,)."""
    from scipy.special import gamma

    gam, r_gam = _gamma_table()
    neg, pos = x < 0, x > 0
    sq = x * x
    # An empty side (a flat block) gives NaN features, which the MVG fit skips (as the reference does).
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt(np.where(neg, sq, 0.0).sum(axis=1) / neg.sum(axis=1))
        right = np.sqrt(np.where(pos, sq, 0.0).sum(axis=1) / pos.sum(axis=1))
        ghat = left / right
        rhat = np.abs(x).mean(axis=1) ** 2 / sq.mean(axis=1)
        rnorm = rhat * (ghat**3 + 1) * (ghat + 1) / (ghat**2 + 1) ** 2
    finite = np.isfinite(rnorm)
    # the table is strictly increasing, so the nearest entry is one of the two around the insertion point; of
    # equal distances the lower wins (argmin's first); a non-finite rnorm picks the first entry, as argmin does
    r = np.where(finite, rnorm, r_gam[0])
    hi = np.clip(np.searchsorted(r_gam, r), 1, len(r_gam) - 1)
    lo = hi - 1
    alpha = gam[np.where((r_gam[lo] - r) ** 2 <= (r_gam[hi] - r) ** 2, lo, hi)]
    k = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, np.where(finite, left * k, np.nan), np.where(finite, right * k, np.nan)


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one MSCN-normalised block (H, W)."""
    return [float(v) for v in blocks_features(block[None])[0]]


def blocks_features(blocks: np.ndarray) -> np.ndarray:
    """The 18 NIQE features of each MSCN-normalised block of `blocks` (N, H, W): (N, 18)."""
    from scipy.special import gamma

    n = len(blocks)
    alpha, bl, br = aggd_params_batch(blocks.reshape(n, -1))
    feats = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a, bl, br = aggd_params_batch((blocks * np.roll(blocks, shift, axis=(1, 2))).reshape(n, -1))
        feats += [a, (br - bl) * gamma(2 / a) / gamma(1 / a), bl, br]
    return np.stack(feats, axis=1)


def _blur(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """`scipy.ndimage.convolve(img, window, mode="nearest")` for the symmetric, separable Gaussian window, as two
    1-D passes (7x fewer operations; equal to the 2-D filter to rounding)."""
    from scipy.ndimage import correlate1d

    g = window.sum(axis=1)
    return correlate1d(correlate1d(img, g, axis=0, mode="nearest"), g, axis=1, mode="nearest")


def _half(img: np.ndarray) -> np.ndarray:
    from vsrcore.resample import resize_matrix

    h, w = img.shape
    rh = resize_matrix(h, math.ceil(h / 2), "matlab_bicubic")
    rw = resize_matrix(w, math.ceil(w / 2), "matlab_bicubic")
    return rh @ img @ rw.T


def niqe_y(y255: np.ndarray, block: int = 96) -> float:
    """NIQE of one luma image (H, W) in [0, 255] (already rounded); lower is better."""
    p = pristine_params()
    h, w = y255.shape
    nh, nw = h // block, w // block
    if nh * nw < 2:  # the feature covariance of a single block is undefined
        raise ValueError(f"NIQE needs at least two {block}x{block} blocks, got a {w}x{h} frame")
    img = y255[: nh * block, : nw * block].astype(np.float64)
    feats = []
    for scale in (1, 2):
        mu = _blur(img, p["window"])
        sigma = np.sqrt(np.abs(_blur(img**2, p["window"]) - mu**2))
        mscn = (img - mu) / (sigma + 1)
        mscn[np.abs(mscn) < FLAT_TOL] = 0.0
        b = block // scale
        # blocks in column-major order (j outer, i inner), as the reference walks them
        blocks = mscn[: nh * b, : nw * b].reshape(nh, b, nw, b).transpose(2, 0, 1, 3).reshape(nh * nw, b, b)
        feats.append(blocks_features(blocks))
        if scale == 1:
            img = _half(img / 255.0) * 255.0
    dist = np.concatenate(feats, axis=1)
    mu_d = np.nanmean(dist, axis=0)
    cov_d = np.cov(dist[~np.isnan(dist).any(axis=1)], rowvar=False)
    diff = p["mu"] - mu_d
    q = diff @ np.linalg.pinv((p["cov"] + cov_d) / 2) @ diff
    return float(np.sqrt(q))


def rgb_to_gray255(frame: np.ndarray) -> np.ndarray:
    """MATLAB `rgb2gray` of RGB (..., H, W, 3) in [0, 255]: luma rounded to integers (..., H, W)."""
    return np.clip(np.round(frame.astype(np.float64) @ GRAY_WEIGHTS), 0, 255)


def niqe_rgb(frame: np.ndarray, block: int = 96) -> float:
    """NIQE of one uint8 RGB frame (H, W, C): BT.601 Y rounded to integers, then `niqe_y`."""
    from vsrcore.tensors import rgb_to_y

    y = rgb_to_y(frame.astype(np.float64) / 255.0, channel_axis=-1)[..., 0]
    return niqe_y(np.clip(np.round(y * 255), 0, 255), block)
