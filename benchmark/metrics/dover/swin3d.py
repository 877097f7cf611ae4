"""DOVER's technical backbone: Video Swin-T with gated relative position biases (FAST-VQA's "swin_tiny_grpb").

Layout and parameter names follow the official `dover/models/swin_backbone.py:SwinTransformer3D()` built with
its defaults, so `technical_backbone.*` of `DOVER.pth` loads strictly: patch 2x4x4, embed 96, depths 2-2-6-2,
heads 3-6-12-24, window 8x7x7, qkv bias, patch norm, and a second bias table (`fragment_position_bias_table`) in
stages 1-3.

The gate: tokens are labelled with the 7x7 fragment they come from (the fragment grid stretched, nearest, over
the token grid, rolled with the window shift). For a token pair whose fragment labels differ by `g` (L1 distance,
0 inside one fragment), the attention bias is `g * relative_bias + (1 - g) * fragment_bias`: `g` is not clipped
to 1, as upstream. Stage 4 has no fragment table and uses the relative bias only.

Shapes: input (B, 3, T, H, W) normalised frames; output (B, 768, T / 2, H / 32, W / 32).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


WindowSize = tuple[int, int, int]


def window_partition(x: torch.Tensor, window: WindowSize) -> torch.Tensor:
    """(B, D, H, W, C) -> (B * windows, wd * wh * ww, C), windows in (d, h, w) order."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // window[0], window[0], h // window[1], window[1], w // window[2], window[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).contiguous().view(-1, math.prod(window), c)


def window_reverse(windows: torch.Tensor, window: WindowSize, b: int, d: int, h: int, w: int) -> torch.Tensor:
    """Inverse of `window_partition`: (B * windows, wd, wh, ww, C) -> (B, D, H, W, C)."""
    x = windows.view(b, d // window[0], h // window[1], w // window[2], window[0], window[1], window[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).contiguous().view(b, d, h, w, -1)


def fit_window(size: tuple[int, int, int], window: WindowSize, shift: WindowSize) -> tuple[WindowSize, WindowSize]:
    """Window and shift for a feature map of `size` (D, H, W): a dimension no larger than the window becomes one
    window, unshifted."""
    win, sh = list(window), list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            win[i] = size[i]
            sh[i] = 0
    return (win[0], win[1], win[2]), (sh[0], sh[1], sh[2])


def shift_mask(d: int, h: int, w: int, window: WindowSize, shift: WindowSize, device: torch.device) -> torch.Tensor:
    """Additive mask (windows, N, N) of the shifted windows: -100 between tokens from different regions.

    The three slices per axis are upstream's literally (with shift 0 the last slice covers the whole axis)."""
    img = torch.zeros((1, d, h, w, 1), device=device)
    region = 0
    for ds in (slice(-window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for hs in (slice(-window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            for ws in (slice(-window[2]), slice(-window[2], -shift[2]), slice(-shift[2], None)):
                img[:, ds, hs, ws, :] = region
                region += 1
    labels = window_partition(img, window).squeeze(-1)
    diff = labels.unsqueeze(1) - labels.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def fragment_gate(d: int, h: int, w: int, window: WindowSize, shift: WindowSize, device: torch.device) -> torch.Tensor:
    """(windows, N, N) float: L1 distance between the fragment labels of each token pair of each window.

    Fragment labels: a (1, wh, ww) grid of (d, h, w) indices stretched (nearest) over the (D, H, W) token grid,
    rolled by the shift like the features; upstream uses the window's own size as the fragment count. The
    distances are small integers, exact in float32."""
    counts = (1, window[1], window[2])
    grids = torch.meshgrid(*(torch.arange(n) for n in counts), indexing="ij")
    labels = torch.stack(grids).float()[None].to(device)
    labels = F.interpolate(labels, size=(d, h, w)).permute(0, 2, 3, 4, 1)  # nearest: exact integers
    labels = torch.roll(labels, shifts=(-shift[0], -shift[1], -shift[2]), dims=(1, 2, 3))
    win = window_partition(labels, window)
    return (win[:, None, :] - win[:, :, None]).abs().sum(-1)


class Mlp(nn.Module):
    """Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside 3D windows with relative (and optionally gated fragment) position bias."""

    def __init__(self, dim: int, window: WindowSize, num_heads: int, frag_bias: bool) -> None:
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        table = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table, num_heads))
        if frag_bias:
            self.fragment_position_bias_table = nn.Parameter(torch.zeros(table, num_heads))
        grids = torch.meshgrid(*(torch.arange(n) for n in window), indexing="ij")
        coords = torch.stack(grids).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        for i in range(3):
            rel[:, :, i] += window[i] - 1
        rel[:, :, 0] *= (2 * window[1] - 1) * (2 * window[2] - 1)
        rel[:, :, 1] *= 2 * window[2] - 1
        self.register_buffer("relative_position_index", rel.sum(-1))
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def _bias(self, table: torch.Tensor, n: int) -> torch.Tensor:
        index = self.relative_position_index[:n, :n].reshape(-1)
        return table[index].reshape(n, n, -1).permute(2, 0, 1).contiguous()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, gate: torch.Tensor) -> torch.Tensor:
        """x (B * windows, N, C); mask (windows, N, N) or None; gate (windows, N, N) -> (B * windows, N, C)."""
        bw, n, c = x.shape
        windows = gate.shape[0]
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        relative = self._bias(self.relative_position_bias_table, n)
        if hasattr(self, "fragment_position_bias_table"):
            # upstream: relative * g + fragment * (1 - g), rearranged to touch the (windows, heads, N, N) maps twice
            fragment = self._bias(self.fragment_position_bias_table, n)
            bias = fragment.unsqueeze(0) + gate.unsqueeze(1) * (relative - fragment).unsqueeze(0)
        else:
            bias = relative.unsqueeze(0)
        if mask is not None:
            bias = bias + mask.unsqueeze(1)
        attn = attn.view(bw // windows, windows, self.num_heads, n, n) + bias.unsqueeze(0)
        attn = attn.view(-1, self.num_heads, n, n).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock3D(nn.Module):
    """Pre-norm (shifted) window attention and MLP, both residual; x (B, D, H, W, C)."""

    def __init__(self, dim: int, num_heads: int, window: WindowSize, shift: WindowSize, frag_bias: bool) -> None:
        super().__init__()
        self.window = window
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, window, num_heads, frag_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def _attention(self, x: torch.Tensor, mask: torch.Tensor | None, gate: torch.Tensor) -> torch.Tensor:
        b, d, h, w, c = x.shape
        window, shift = fit_window((d, h, w), self.window, self.shift)
        x = self.norm1(x)
        pads = [(window[i] - s % window[i]) % window[i] for i, s in enumerate((d, h, w))]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        _, dp, hp, wp, _ = x.shape
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=(-shift[0], -shift[1], -shift[2]), dims=(1, 2, 3))
        out = self.attn(window_partition(x, window), mask if shifted else None, gate)
        x = window_reverse(out.view(-1, *window, c), window, b, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        return x[:, :d, :h, :w, :].contiguous()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, gate: torch.Tensor) -> torch.Tensor:
        """x (B, D, H, W, C); mask and gate of this block's (shifted or not) windows, from its stage."""
        x = x + self._attention(x, mask, gate)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 spatial merge: (B, D, H, W, C) -> (B, D, H/2, W/2, 2C)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    """`depth` blocks alternating unshifted / half-window-shifted windows, then an optional patch merge."""

    def __init__(self, dim: int, depth: int, num_heads: int, window: WindowSize, frag_bias: bool, merge: bool) -> None:
        super().__init__()
        self.window = window
        self.shift: WindowSize = (window[0] // 2, window[1] // 2, window[2] // 2)
        self.blocks = nn.ModuleList(
            SwinBlock3D(dim, num_heads, window, (0, 0, 0) if i % 2 == 0 else self.shift, frag_bias)
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if merge else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) -> (B, C', D, H', W'). The shift mask and both fragment gates are built once here."""
        b, c, d, h, w = x.shape
        window, shift = fit_window((d, h, w), self.window, self.shift)
        x = x.permute(0, 2, 3, 4, 1)
        padded = [math.ceil(s / window[i]) * window[i] for i, s in enumerate((d, h, w))]
        mask = shift_mask(*padded, window, shift, x.device) if any(shift) else None
        gates = [fragment_gate(*padded, window, (0, 0, 0), x.device)]
        if len(self.blocks) > 1:
            gates.append(fragment_gate(*padded, window, shift, x.device))
        for i, blk in enumerate(self.blocks):
            x = blk(x, mask if i % 2 else None, gates[i % 2])
        if self.downsample is not None:
            x = self.downsample(x)
        return x.permute(0, 4, 1, 2, 3)


class PatchEmbed3D(nn.Module):
    """Conv3d patchify (2x4x4) + LayerNorm over channels; pads T, H, W up to multiples of the patch."""

    def __init__(self, patch: WindowSize = (2, 4, 4), dim: int = 96) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv3d(3, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, h, w = x.shape[2:]
        p = self.patch
        x = F.pad(x, (0, (-w) % p[2], 0, (-h) % p[1], 0, (-d) % p[0]))
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


class SwinTransformer3D(nn.Module):
    """Video Swin-T with gated relative position bias (DOVER's technical backbone)."""

    def __init__(
        self,
        dim: int = 96,
        depths: tuple[int, ...] = (2, 2, 6, 2),
        num_heads: tuple[int, ...] = (3, 6, 12, 24),
        window: WindowSize = (8, 7, 7),
        frag_biases: tuple[bool, ...] = (True, True, True, False),
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed3D((2, 4, 4), dim)
        last = len(depths) - 1
        self.layers = nn.ModuleList(
            SwinStage(dim * 2**i, depths[i], num_heads[i], window, frag_biases[i], merge=i < last)
            for i in range(len(depths))
        )
        self.norm = nn.LayerNorm(dim * 2**last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, 768, T/2, H/32, W/32)."""
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x.contiguous())
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
