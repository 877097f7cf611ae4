"""DOVER's aesthetic backbone: ConvNeXt-T inflated to 3D ("conv_tiny").

Layout and parameter names follow the official `dover/models/conv_backbone.py:convnext_3d_tiny()`, so
`aesthetic_backbone.*` of `DOVER.pth` loads strictly: a 2x4x4 stem, 1x2x2 downsampling between stages, depths
3-3-9-3, widths 96-192-384-768, depthwise kernels k x 7 x 7 with k cycling 1, 3, 1 within each stage (upstream's
inflate strategy '131'), layer scale, and a final LayerNorm over channels applied to the spatial map (no pooling,
no classifier).

Shapes: input (B, 3, T, H, W) normalised frames; output (B, 768, T / 2, H / 32, W / 32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


INFLATE = "131"


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over dim 1 of (B, C, ...), written out as upstream does (biased variance, eps inside the sqrt)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        shape = (-1,) + (1,) * (x.ndim - 2)
        return self.weight.view(shape) * x + self.bias.view(shape)


class ChannelsLastLayerNorm(nn.Module):
    """LayerNorm over the last dim, with upstream's parameter names (weight, bias) and eps 1e-6."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Block3D(nn.Module):
    """Depthwise k x 7 x 7 conv -> LayerNorm -> Linear(4C) -> GELU -> Linear(C) -> layer scale, residual."""

    def __init__(self, dim: int, inflate_len: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv3d(dim, dim, (inflate_len, 7, 7), padding=(inflate_len // 2, 3, 3), groups=dim)
        self.norm = ChannelsLastLayerNorm(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 4, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 4, 1, 2, 3)


class ConvNeXt3D(nn.Module):
    """Inflated ConvNeXt (DOVER's aesthetic backbone)."""

    def __init__(self, depths: tuple[int, ...] = (3, 3, 9, 3), dims: tuple[int, ...] = (96, 192, 384, 768)) -> None:
        super().__init__()
        stem = nn.Sequential(nn.Conv3d(3, dims[0], (2, 4, 4), stride=(2, 4, 4)), ChannelsFirstLayerNorm(dims[0]))
        downs = [
            nn.Sequential(
                ChannelsFirstLayerNorm(dims[i]), nn.Conv3d(dims[i], dims[i + 1], (1, 2, 2), stride=(1, 2, 2))
            )
            for i in range(len(dims) - 1)
        ]
        self.downsample_layers = nn.ModuleList([stem, *downs])
        self.stages = nn.ModuleList(
            nn.Sequential(*(Block3D(dims[i], int(INFLATE[j % len(INFLATE)])) for j in range(depths[i])))
            for i in range(len(depths))
        )
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, 768, T/2, H/32, W/32)."""
        for down, stage in zip(self.downsample_layers, self.stages, strict=True):
            x = stage(down(x))
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
