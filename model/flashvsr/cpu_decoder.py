"""CPU fast path of the TCDecoder: `tc_decoder._layers` restructured for oneDNN, optionally in bfloat16.

The module code spends most of its CPU time outside the convolutions (profiled on the bundled flashvsr-tiny,
320x240 -> 1280x960): the temporal split of the last stages (`TGrow`) reshapes a channels-last tensor at full
resolution, which copies it into the channels-first layout, and the following convolutions then run on that
slower layout; the ReLUs allocate a new full-resolution tensor each. Here, with the same arithmetic:
- every activation stays channels-last (NHWC), the layout oneDNN's direct convolutions are fastest on;
- `TGrow` runs *before* the nearest-neighbour upsampling it follows in the module (a 1x1 convolution and a
  nearest upsampling commute exactly), so its convolution and its frame split touch a quarter of the pixels, and
  the split writes channels-last frames directly;
- ReLUs and the residual adds run in place on tensors this function owns.
In float32 this is the module's function to rounding (tests/model/test_cpu_decoder.py). With `dtype=torch.bfloat16`
the convolutions and activations run in bfloat16 (weights cast once and cached), about twice the convolution
throughput on CPUs with native bfloat16 dot products (avx512_bf16, AMX); the input clamp and the output stay
float32. Inference only: callers use it when autograd is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.tc_blocks import Clamp, MemBlock, TGrow


if TYPE_CHECKING:
    from model.flashvsr.tc_decoder import TCDecoder


def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (oneDNN with avx512_bf16 / AMX); elsewhere oneDNN
    emulates them, slower than float32."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


_CAST: dict[tuple[int, torch.dtype, str], tuple[Tensor, int, Tensor]] = {}  # -> (param, its version, result)


def _cached(p: Tensor, dtype: torch.dtype, kind: str, make: Callable[[Tensor], Tensor]) -> Tensor:
    """make(p) in `dtype` (4-D results channels-last), cached until `p` is replaced or changed in place."""
    key = (id(p), dtype, kind)
    hit = _CAST.get(key)
    if hit is not None and hit[0] is p and hit[1] == p._version:
        return hit[2]
    out = make(p.detach()).to(dtype)
    out = out.contiguous(memory_format=torch.channels_last if out.dim() == 4 else torch.contiguous_format)
    _CAST[key] = (p, p._version, out)
    return out


def _cast(p: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """`p` in `dtype` (4-D weights channels-last)."""
    if p is None or p.dtype == dtype and (p.dim() != 4 or p.is_contiguous(memory_format=torch.channels_last)):
        return p
    return _cached(p, dtype, "cast", lambda t: t)


def _subpixel_weight(w: Tensor) -> Tensor:
    """3x3 weight (Co, Ci, 3, 3) -> (4 * Co, Ci, 2, 2), output channels (a, b, co): the conv of a nearest x2
    upsampling as 2x2 convs of the low-resolution input, one per output phase (row parity a, column parity b).
    Phase 0 reads rows i - 1 (kernel row 0) and i (rows 1 + 2); phase 1 rows i (rows 0 + 1) and i + 1 (row 2)."""
    rows = [
        torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),
        torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2),
    ]
    phases = [
        torch.stack([r[..., 0], r[..., 1] + r[..., 2]], -1)
        if b == 0
        else torch.stack([r[..., 0] + r[..., 1], r[..., 2]], -1)
        for r in rows
        for b in (0, 1)
    ]
    return torch.cat(phases, 0)


def _conv(conv: nn.Conv2d, x: Tensor, relu: bool = False) -> Tensor:
    """conv(x) (then ReLU in place) with the weights in x's dtype."""
    y = F.conv2d(
        x, _cast(conv.weight, x.dtype), _cast(conv.bias, x.dtype), conv.stride, conv.padding, conv.dilation,
        conv.groups,
    )  # fmt: skip
    return y.relu_() if relu else y


def _nhwc(x: Tensor, dtype: torch.dtype) -> Tensor:
    return x.to(dtype).contiguous(memory_format=torch.channels_last)


def _sequential(seq: nn.Sequential, x: Tensor) -> Tensor:
    """A Sequential of Conv2d / ReLU layers, each ReLU fused in place after its convolution."""
    layers = list(seq)
    for j, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            x = _conv(layer, x, relu=j + 1 < len(layers) and isinstance(layers[j + 1], nn.ReLU))
        elif not isinstance(layer, nn.ReLU):
            raise TypeError(f"cpu_decoder: unexpected layer {type(layer).__name__} in a conv stack")
    return x


def _memblock(block: MemBlock, x: Tensor, b: int, prev: Tensor | None) -> Tensor:
    """MemBlock on x (B*T, C, H, W): its input [x, past] (past = the previous frame, `prev` (B, C, H, W) before the
    first) is written once, channels-last, instead of two concatenations and a layout conversion."""
    n, c, h, w = x.shape
    xp = torch.empty((n, 2 * c, h, w), dtype=x.dtype, memory_format=torch.channels_last)
    xp[:, :c] = x
    frames, cat = x.unflatten(0, (b, -1)), xp.unflatten(0, (b, -1))
    cat[:, 1:, c:] = frames[:, :-1]
    if prev is None:
        cat[:, 0, c:] = 0
    else:
        cat[:, 0, c:] = prev
    y = _sequential(block.conv, xp)
    y += _conv(block.skip, x) if isinstance(block.skip, nn.Conv2d) else x
    return y.relu_()


def _tgrow(tg: TGrow, x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N * stride, C, H, W), frame n * stride + k = channels k * C .. (k + 1) * C of frame n,
    written channels-last."""
    y = _conv(tg.conv, x)
    if tg.stride == 1:
        return y
    n, sc, h, w = y.shape
    c = sc // tg.stride
    out = torch.empty((n * tg.stride, c, h, w), dtype=y.dtype, memory_format=torch.channels_last)
    out.unflatten(0, (n, tg.stride)).copy_(y.unflatten(1, (tg.stride, c)))
    return out


def _upsample_conv(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """conv(nearest x2 upsampling of x) for a 3x3, padding-1 conv, computed at low resolution: one 2x2 conv
    (padding 1, so output (h + 1, w + 1)) gives all four phases; phase (a, b) at (i, j) is its output at
    (i + a, j + b). 16 / 36 of the multiply-adds, and no upsampled input is written."""
    n, _, h, w = x.shape
    co = conv.out_channels
    y = F.conv2d(x, _cached(conv.weight, x.dtype, "subpixel", _subpixel_weight), padding=1)
    if conv.bias is not None:
        y += _cast(conv.bias, x.dtype).repeat(4)[:, None, None]  # type: ignore[union-attr]
    out = torch.empty((n, co, 2 * h, 2 * w), dtype=x.dtype, memory_format=torch.channels_last)
    dst = out.permute(0, 2, 3, 1).view(n, h, 2, w, 2, co)
    src = y.permute(0, 2, 3, 1).unflatten(3, (2, 2, co))  # (n, h + 1, w + 1, a, b, co)
    for a in (0, 1):
        for b in (0, 1):
            dst[:, :, a, :, b] = src[:, a : a + h, b : b + w, a, b]
    return out


def _doubles(layer: nn.Module) -> bool:
    """A nearest-neighbour x2 upsampling."""
    if not isinstance(layer, nn.Upsample) or layer.mode != "nearest" or layer.size is not None:
        return False
    f = layer.scale_factor
    return all(float(v) == 2 for v in (f if isinstance(f, tuple) else (f, f)))


def _subpixel_ok(layer: nn.Module) -> bool:
    """A plain 3x3 conv with padding 1 (what `_upsample_conv` handles)."""
    return (
        isinstance(layer, nn.Conv2d) and layer.kernel_size == (3, 3) and layer.padding == (1, 1)
        and layer.stride == (1, 1) and layer.dilation == (1, 1) and layer.groups == 1
        and layer.padding_mode == "zeros"
    )  # fmt: skip


def _upsample(up: nn.Upsample, x: Tensor) -> Tensor:
    if up.mode != "nearest" or up.size is not None:
        raise TypeError("cpu_decoder: only nearest upsampling by a scale factor")
    if up.scale_factor in (1, 1.0, (1.0, 1.0)):
        return x
    return F.interpolate(x, scale_factor=up.scale_factor, mode="nearest")


def cpu_layers(
    dec: TCDecoder, x: Tensor, mem: dict[int, Tensor], frames_hr: Tensor | None, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, dict[int, Tensor]]:
    """`tc_decoder._layers` on CPU: x (B, T, C, h, w) -> (frames (B, T', 3, H, W) float32, new MemBlock memory).
    frames_hr (B, T', 3, H, W): the conditioning frames of the full-resolution branch (when it exists)."""
    b = x.shape[0]
    layers = list(dec.decoder)
    y = x.flatten(0, 1)
    new_mem: dict[int, Tensor] = {}
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        fuse_relu = isinstance(nxt, nn.ReLU) and i != dec.skip_at
        if isinstance(layer, Clamp):
            y = _nhwc(layer(y.float()), dtype)
        elif isinstance(layer, MemBlock):
            new_mem[i] = y.unflatten(0, (b, -1))[:, -1]
            y = _memblock(layer, y, b, mem.get(i))
        elif (
            _doubles(layer) and isinstance(nxt, TGrow) and i + 2 < len(layers) and _subpixel_ok(after := layers[i + 2])
        ):
            y = _upsample_conv(after, _tgrow(nxt, y))  # type: ignore[arg-type]
            i += 2
        elif isinstance(layer, nn.Upsample) and isinstance(nxt, TGrow):
            y = _upsample(layer, _tgrow(nxt, y))  # commuted: the 1x1 conv and the split at low resolution
            i += 1
        elif isinstance(layer, nn.Upsample):
            y = _upsample(layer, y)
        elif isinstance(layer, TGrow):
            y = _tgrow(layer, y)
        elif isinstance(layer, nn.Conv2d):
            y = _conv(layer, y, relu=fuse_relu)
            if fuse_relu:
                i += 1
        elif isinstance(layer, nn.ReLU):
            y = y.relu_()
        else:
            raise TypeError(f"cpu_decoder: unexpected layer {type(layer).__name__}")
        if i == dec.skip_at and dec.cond_skip is not None:
            assert frames_hr is not None
            y += _sequential(dec.cond_skip, _nhwc(frames_hr.flatten(0, 1), y.dtype))
        i += 1
    return y.float().unflatten(0, (b, -1)), new_mem
