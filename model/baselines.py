"""Interpolation baselines with the VSRModel interface: bicubic (a = -0.75, as PyTorch / OpenCV) and Lanczos-3.

Both are per frame, so streaming output equals whole-clip output exactly. Upscaling only (integer scale >= 1).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from model.base import VSRModel


class Bicubic(VSRModel):
    """Bicubic upscaling (`torch.nn.functional.interpolate`, align_corners=False), clamped to [0, 1]."""

    name = "bicubic"

    def __init__(self, scale: int = 4, device: str = "cpu", **_: object) -> None:
        self.scale = int(scale)
        self.device = torch.device(device)

    def push(self, frames: Tensor) -> list[Tensor]:
        x = frames.to(self.device, torch.float32)
        return [F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False).clamp(0, 1).cpu()]


@lru_cache(maxsize=16)
def lanczos_matrix(n_in: int, scale: int, a: int = 3) -> Tensor:
    """(scale*n_in, n_in) float64 Lanczos-a resampling matrix, pixel centres aligned, edge-clamped, rows sum to 1."""
    n_out = n_in * scale
    centres = (torch.arange(n_out, dtype=torch.float64) + 0.5) / scale - 0.5
    taps = torch.arange(-a + 1, a + 1, dtype=torch.float64)
    base = torch.floor(centres)[:, None] + taps[None]  # (n_out, 2a) source positions
    d = centres[:, None] - base
    w = torch.where(d.abs() < a, torch.sinc(d) * torch.sinc(d / a), torch.zeros_like(d))
    w = w / w.sum(dim=1, keepdim=True)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m.scatter_add_(1, base.long().clamp(0, n_in - 1), w)
    return m


class Lanczos(VSRModel):
    """Separable Lanczos-3 upscaling (edge-clamped), clamped to [0, 1]."""

    name = "lanczos"

    def __init__(self, scale: int = 4, device: str = "cpu", a: int = 3, **_: object) -> None:
        self.scale = int(scale)
        self.a = a
        self.device = torch.device(device)

    def push(self, frames: Tensor) -> list[Tensor]:
        x = frames.to(self.device, torch.float32)
        mh = lanczos_matrix(x.shape[-2], self.scale, self.a).to(self.device, torch.float32)
        mw = lanczos_matrix(x.shape[-1], self.scale, self.a).to(self.device, torch.float32)
        return [torch.einsum("yh,tchw,xw->tcyx", mh, x, mw).clamp(0, 1).cpu()]
