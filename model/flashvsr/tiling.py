"""Spatial layout of FlashVSR's output canvas: LR frames upsampled and padded to the model's multiple of 128 px,
optional overlapping tiles run as independent streams, and their outputs feathered together.

Each tile is its own stream (`TileStream`): its own LQ-projection and decoder state and KV cache. Tile 0 runs on
the model's modules; every further tile on a copy that shares their weights (`weight_sharing_copy`), so tiles
never swap state in and out of one module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import TypeVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.dit_inputs import KVCache


M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class Tile:
    """A tile of the padded output canvas: rows y0:y1, columns x0:x1 (output pixels, multiples of 128)."""

    y0: int
    y1: int
    x0: int
    x1: int


def plan_tiles(height: int, width: int, tile: int | None, overlap: int, multiple: int) -> list[Tile]:
    """Tiles covering a (height, width) canvas (multiples of `multiple`); tile / overlap rounded to the multiple."""
    if not tile or (tile >= height and tile >= width):
        return [Tile(0, height, 0, width)]
    size = max(multiple, tile // multiple * multiple)
    ov = min(overlap // multiple * multiple, size - multiple)

    def starts(n: int) -> list[int]:
        if size >= n:
            return [0]
        out = list(range(0, n - size, size - ov))
        return out + [n - size]

    return [Tile(y, min(y + size, height), x, min(x + size, width)) for y in starts(height) for x in starts(width)]


def _ramp(n: int, lo: bool, hi: bool, ov: int) -> Tensor:
    w = torch.ones(n)
    if ov > 0:
        r = (torch.arange(ov, dtype=torch.float32) + 0.5) / ov
        if lo:
            w[:ov] = torch.minimum(w[:ov], r)
        if hi:
            w[-ov:] = torch.minimum(w[-ov:], r.flip(0))
    return w


def run_tiles(
    tiles: list[Tile], hr_lq: Tensor, hr_out: Tensor, overlap: int, run: Callable[[int, Tensor, Tensor], Tensor]
) -> Tensor:
    """`run(k, tile's hr_lq, tile's hr_out)` per tile, feathered over `overlap` px into one (t, C, Hp, Wp) output.

    hr_lq, hr_out: the padded HR canvas frames (t, C, Hp, Wp) the LQ projection and the decoder read."""
    if len(tiles) == 1:
        return run(0, hr_lq, hr_out)
    hp, wp = hr_out.shape[-2:]
    out = torch.zeros(hr_out.shape[0], 3, hp, wp, device=hr_out.device)
    weight = torch.zeros(1, 1, hp, wp, device=hr_out.device)
    for k, t in enumerate(tiles):
        sl = (slice(None), slice(None), slice(t.y0, t.y1), slice(t.x0, t.x1))
        y = run(k, hr_lq[sl], hr_out[sl])
        wy = _ramp(t.y1 - t.y0, t.y0 > 0, t.y1 < hp, overlap)
        wx = _ramp(t.x1 - t.x0, t.x0 > 0, t.x1 < wp, overlap)
        wt = (wy[:, None] * wx[None, :]).to(hr_out.device)
        out[sl] += y * wt
        weight[sl] += wt
    return out / weight


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Pad frames (T, C, H, W) bottom/right to multiples of `multiple`: reflect where possible, else replicate."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not ph and not pw:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def upsample_lr(frames: Tensor, scale: int) -> Tensor:
    """Bicubic x`scale` of LR frames (T, C, h, w) in [0, 1] -> (T, C, scale*h, scale*w), clamped to [0, 1]."""
    if scale == 1:
        return frames.float()
    return F.interpolate(frames.float(), scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def weight_sharing_copy(module: M) -> M:
    """A copy of `module` whose parameters and buffers are the original's tensors (no memory for weights) and whose
    streaming state is its own."""
    shared = {id(t): t for t in chain(module.parameters(), module.buffers())}
    return copy.deepcopy(module, memo=shared)


@dataclass
class TileStream:
    """One tile's stream: the LQ projection and decoder it runs through (reset at the start) and its KV cache."""

    lq_proj: nn.Module | None  # None in a decoder-only model
    decoder: nn.Module
    cache: KVCache


def tile_streams(
    n: int, lq_proj: nn.Module | None, decoder: nn.Module, kv_ratio: float, kv_bits: int = 16
) -> list[TileStream]:
    """Fresh streams for `n` tiles: the first on `lq_proj` / `decoder` themselves (reset), the others on
    weight-sharing copies of them; each with its own KV cache of `kv_bits` (16, or 8 on the fast path). A
    decoder-only model has no `lq_proj` (None)."""
    if lq_proj is not None:
        lq_proj.reset()  # type: ignore[operator]
    decoder.reset()  # type: ignore[operator]
    streams = [TileStream(lq_proj, decoder, KVCache.from_ratio(kv_ratio, bits=kv_bits))]
    for _ in range(1, n):
        proj = None if lq_proj is None else weight_sharing_copy(lq_proj)
        streams.append(TileStream(proj, weight_sharing_copy(decoder), KVCache.from_ratio(kv_ratio, bits=kv_bits)))
    return streams
