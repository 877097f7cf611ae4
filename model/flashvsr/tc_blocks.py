"""The TCDecoder's building blocks (soft clamp, 3x3 conv, identity conv, MemBlock, TGrow), shared by the module
(`tc_decoder`) and its CPU inference path (`cpu_decoder`)."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor


class Clamp(nn.Module):
    """Soft clamp to (-3, 3): tanh(x / 3) * 3."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(x / 3) * 3


def conv3x3(n_in: int, n_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, bias=bias)


class IdentityConv2d(nn.Conv2d):
    """Bias-free 3x3 conv initialised to the identity (Dirac), the decoder's "deepening" layers."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__(channels, channels, kernel_size, padding=kernel_size // 2, bias=False)
        with torch.no_grad():
            nn.init.dirac_(self.weight)


class MemBlock(nn.Module):
    """relu(conv(cat[x, past]) + skip(x)). x, past: (N, C, H, W), past = the same layer's previous-frame input."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            conv3x3(n_in * 2, n_out), nn.ReLU(), conv3x3(n_out, n_out), nn.ReLU(), conv3x3(n_out, n_out)
        )
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: Tensor, past: Tensor) -> Tensor:
        return self.act(self.conv(torch.cat([x, past], 1)) + self.skip(x))


class TGrow(nn.Module):
    """Temporal x`stride` upsampling: 1x1 conv to stride*C channels, split into `stride` frames (in order)."""

    def __init__(self, n_f: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(n_f, n_f * stride, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        nt, c, h, w = x.shape
        return self.conv(x).reshape(nt * self.stride, c, h, w)
