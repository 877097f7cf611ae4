"""GPU fast paths of the FlashVSR convolutions: the LQ projection's causal Conv3d as one channels-last Conv2d, and
channels-last TCDecoder weights and its compiled layers. All compute the same function as the module code
(tests/model/test_fast_dit.py).

LQ projection. `CausalConv3d` (kernel (4, 3, 3), temporal stride 2) over T frames gives To = (T - 4) / 2 + 1 output
frames; output frame o reads input frames 2o .. 2o + 3. Stacking those 4 frames along channels turns it into a 2D
convolution with 4 * C_in input channels on a batch of To frames: cuDNN's channels-last 2D kernels run it faster
than its 3D ones (model.bench --ceilings measures both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor


if TYPE_CHECKING:  # lq_proj imports this module to dispatch to it
    from model.flashvsr.lq_proj import CausalConv3d


_FOLDED: dict[int, tuple[Tensor, Tensor]] = {}  # id(conv) -> (its weight tensor, the folded 2D weight)


def _folded_weight(conv: CausalConv3d) -> Tensor:
    """(C_out, C_in, kt, kh, kw) -> (C_out, kt * C_in, kh, kw), channels-last; cached per conv and weight."""
    hit = _FOLDED.get(id(conv))
    if hit is not None and hit[0] is conv.weight:
        return hit[1]
    w = conv.weight
    co, ci, kt, kh, kw = w.shape
    w2 = w.permute(0, 2, 1, 3, 4).reshape(co, kt * ci, kh, kw).contiguous(memory_format=torch.channels_last)
    _FOLDED[id(conv)] = (w, w2)
    return w2


def causal_conv3d_as_2d(conv: CausalConv3d, x: Tensor, cache: Tensor | None = None) -> Tensor:
    """`conv(x, cache)` for x (B, C, T, H, W) as a 2D convolution over stacked frames -> (B, C_out, To, H, W)."""
    kt, _, _ = conv.kernel_size
    st = conv.stride[0]
    if conv.stride[1:] != (1, 1) or conv.dilation != (1, 1, 1) or conv.groups != 1:
        raise ValueError("causal_conv3d_as_2d handles spatial stride 1, no dilation, one group")
    pad = list(conv._pad)
    if cache is not None and pad[4] > 0:
        x = torch.cat([cache.to(x.device, x.dtype), x], dim=2)
        pad[4] -= cache.shape[2]
    x = F.pad(x, pad, mode="replicate")  # (B, C, T', H', W')
    b, c, t, h, w = x.shape
    to = (t - kt) // st + 1
    frames = x.unfold(2, kt, st)  # (B, C, To, H', W', kt)
    stacked = frames.permute(0, 2, 5, 1, 3, 4).reshape(b * to, kt * c, h, w)
    stacked = stacked.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(stacked, _folded_weight(conv), conv.bias)  # (B*To, C_out, H, W)
    return y.unflatten(0, (b, to)).transpose(1, 2)


def channels_last_decoder(decoder: torch.nn.Module) -> torch.nn.Module:
    """Put a TCDecoder's 4D weights in channels-last layout (in place): cuDNN then runs its convolutions NHWC."""
    return decoder.to(memory_format=torch.channels_last)


def compile_decoder(decoder: torch.nn.Module, on: bool = True) -> torch.nn.Module:
    """Run a TCDecoder's layers on CUDA as one torch.compile'd graph per step shape (Inductor fuses the ReLUs,
    concatenations, upsampling and reshapes around the cuDNN convolutions); off the GPU it stays eager."""
    decoder.compiled = on  # type: ignore[assignment]
    return decoder
