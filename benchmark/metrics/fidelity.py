"""PSNR, SSIM and MS-SSIM in RGB or BT.601 Y, with MATLAB/BasicSR conventions.

- Y is BT.601 studio-swing luma (`vsrcore.tensors.rgb_to_y`), not rounded (BasicSR `test_y_channel`).
- PSNR is per frame, 10 log10(1 / MSE) on [0, 1] data, averaged over frames; identical frames give +inf.
- SSIM uses an 11x11 Gaussian window (sigma 1.5), 'valid' filtering, data range 255, computed in float64;
  RGB SSIM is the mean of the per-channel SSIMs (BasicSR).
- MS-SSIM follows Wang's `msssim.m`: 5 scales, weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), product form;
  between scales a 2x2 mean (MATLAB `imfilter(ones(2)/4, 'symmetric')`, so an odd last row/column is averaged
  with itself) keeping every other pixel from the first. The contrast-structure map is not clamped per pixel
  (pyiqa clamps it, which departs from MATLAB on heavily distorted images); only a negative scale mean, where
  MATLAB would return a complex number, is clamped to 0. Needs frames at least 176 px on the short side.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from benchmark.metrics.base import Metric
from vsrcore.tensors import rgb_to_y


_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def to_space(x: torch.Tensor, space: str) -> torch.Tensor:
    """(N, 3, H, W) RGB [0, 1] -> the scored channels: 'rgb' unchanged, 'y' BT.601 luma (N, 1, H, W)."""
    if space == "rgb":
        return x
    if space == "y":
        return rgb_to_y(x, channel_axis=-3) if x.shape[-3] == 3 else x
    raise ValueError(f"unknown colour space '{space}' (known: rgb, y)")


def psnr(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of (N, C, H, W) frames in [0, 1] -> (N,); +inf where identical."""
    mse = (pred.double() - ref.double()).pow(2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(1.0 / mse)


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised 1-D Gaussian (size,) as MATLAB fspecial('gaussian') separably."""
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    # separable 'valid' filtering as windowed matrix-vector products: in float64 this is ~2.4x faster than a
    # depthwise conv2d on CPU (same sums, different order: ~1e-13 apart)
    k = g.numel()
    return x.unfold(2, k, 1).matmul(g).unfold(3, k, 1).matmul(g)


def ssim_components(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSIM, contrast-structure) per image and channel, (N, C) each, of (N, C, H, W) float64 images."""
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs frames of at least 11x11 pixels, got {x.shape[-2]}x{x.shape[-1]}")
    g = gaussian_window(dtype=x.dtype).to(x.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu1, mu2 = _filter_valid(x, g), _filter_valid(y, g)
    s11 = _filter_valid(x * x, g) - mu1**2
    s22 = _filter_valid(y * y, g) - mu2**2
    s12 = _filter_valid(x * y, g) - mu1 * mu2
    cs = (2 * s12 + c2) / (s11 + s22 + c2)
    ssim_map = (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1) * cs
    return ssim_map.mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def ssim(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """SSIM of (N, C, H, W) frames in [0, 1] (channel mean) -> (N,)."""
    s, _ = ssim_components(pred.double() * 255, ref.double() * 255)
    return s.mean(dim=1)


def ms_ssim(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of (N, C, H, W) frames in [0, 1] (channel mean) -> (N,)."""
    need = 11 * 2 ** (len(_MS_WEIGHTS) - 1)
    if min(pred.shape[-2:]) < need:
        raise ValueError(
            f"MS-SSIM needs frames of at least {need}x{need} pixels, got {pred.shape[-2]}x{pred.shape[-1]}"
        )
    x, y = pred.double() * 255, ref.double() * 255
    out = torch.ones(x.shape[:2], dtype=x.dtype, device=x.device)
    for level, weight in enumerate(_MS_WEIGHTS):
        s, cs = ssim_components(x, y)
        if level == len(_MS_WEIGHTS) - 1:
            out = out * s.clamp(min=0) ** weight
        else:
            out = out * cs.clamp(min=0) ** weight
            x, y = _halve_matlab(x), _halve_matlab(y)
    return out.mean(dim=1)


def _halve_matlab(x: torch.Tensor) -> torch.Tensor:
    """MATLAB `im = imfilter(im, ones(2)/4, 'symmetric'); im = im(1:2:end, 1:2:end)` on (N, C, H, W)."""
    x = F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


class _Fidelity(Metric):
    def __init__(self, *, space: str = "rgb", **kw: Any) -> None:
        super().__init__(**kw)
        to_space(torch.zeros(1, 3, 1, 1), space)  # validate early
        self.space = space


class PSNR(_Fidelity):
    """Peak signal-to-noise ratio (dB), per frame then averaged; `space` 'rgb' or 'y' (BT.601)."""

    name = "psnr"

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        assert ref is not None
        return psnr(to_space(pred, self.space), to_space(ref, self.space))


class SSIM(_Fidelity):
    """Structural similarity (MATLAB-style), per frame then averaged; `space` 'rgb' or 'y' (BT.601)."""

    name = "ssim"

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        assert ref is not None
        return ssim(to_space(pred, self.space), to_space(ref, self.space))


class MSSSIM(_Fidelity):
    """Multi-scale SSIM, per frame then averaged; `space` 'rgb' or 'y' (BT.601)."""

    name = "ms_ssim"

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        assert ref is not None
        return ms_ssim(to_space(pred, self.space), to_space(ref, self.space))


def psnr_from_mse(mse: float) -> float:
    """10 log10(1 / mse) for data in [0, 1] (+inf at 0)."""
    return math.inf if mse == 0 else -10 * math.log10(mse)
