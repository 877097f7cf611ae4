"""Colour correction of the decoded frames against the (bicubic-upsampled) LR frames, in float32.

- `adain`: per frame and channel, match the output's mean and standard deviation to the reference's (the
  official pipelines' default, `method='adain'`, eps 1e-5 added to the variance).
- `wavelet`: keep the output's high frequencies and take the reference's low frequencies, from a 5-level
  a-trous decomposition with a dilated 3x3 binomial blur (replicate padding), as in the official code.

Both are per frame, so they stream. Frames (T, C, H, W) in [0, 1] (any leading batch dims are flattened into T);
the result is returned in the input's dtype, clamped to [0, 1].

Domain: the official pipelines colour-correct frames in [-1, 1] (decoder output `* 2 - 1` against the [-1, 1] LR
video) and clamp to [-1, 1]. AdaIN's eps is added to a variance, so the domain matters: on [0, 1] frames eps 1e-5
acts like eps 4e-5 on [-1, 1], up to 0.066 apart on low-contrast frames. `color_fix` therefore maps its [0, 1]
inputs to [-1, 1], corrects there, and maps back. The wavelet fix is linear, so its domain does not matter.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


ColorFix = Literal["adain", "wavelet", "none"]
_BINOMIAL = ((0.0625, 0.125, 0.0625), (0.125, 0.25, 0.125), (0.0625, 0.125, 0.0625))


def _as_frames(x: Tensor) -> Tensor:
    if x.ndim < 3:
        raise ValueError(f"expected frames (..., C, H, W), got {tuple(x.shape)}")
    return x.reshape(-1, *x.shape[-3:]).float()


def adain(content: Tensor, reference: Tensor, eps: float = 1e-5) -> Tensor:
    """Per-frame, per-channel mean/std transfer: (T, C, H, W) content takes (T, C, H', W') reference's statistics."""
    c, r = _as_frames(content), _as_frames(reference)
    c_mean, c_std = c.mean(dim=(2, 3), keepdim=True), (c.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    r_mean, r_std = r.mean(dim=(2, 3), keepdim=True), (r.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return ((c - c_mean) / c_std * r_std + r_mean).reshape(content.shape)


def wavelet_blur(x: Tensor, radius: int) -> Tensor:
    """Dilated 3x3 binomial blur (dilation `radius`, replicate padding) of (N, C, H, W) float frames."""
    c = x.shape[1]
    kernel = torch.tensor(_BINOMIAL, dtype=x.dtype, device=x.device).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(x, (radius,) * 4, mode="replicate"), kernel, dilation=radius, groups=c)


def wavelet_decompose(x: Tensor, levels: int = 5) -> tuple[Tensor, Tensor]:
    """(high, low) frequency parts of (N, C, H, W) frames: high = x - low, low = blur at radii 1, 2, ..., 2^(L-1)."""
    low = x
    for i in range(levels):
        low = wavelet_blur(low, 2**i)
    return x - low, low


def wavelet_fix(content: Tensor, reference: Tensor, levels: int = 5) -> Tensor:
    """content's high frequencies + reference's low frequencies; both (T, C, H, W) of the same size."""
    if content.shape != reference.shape:
        raise ValueError(
            f"wavelet colour fix needs equal shapes, got {tuple(content.shape)} vs {tuple(reference.shape)}"
        )
    high, _ = wavelet_decompose(_as_frames(content), levels)
    _, low = wavelet_decompose(_as_frames(reference), levels)
    return (high + low).reshape(content.shape)


def color_fix(content: Tensor, reference: Tensor, method: ColorFix = "adain") -> Tensor:
    """Colour-correct frames (T, C, H, W) in [0, 1] against reference frames (T, C, H, W) in [0, 1], in float32 and
    in the official [-1, 1] domain (see the module docstring); returns [0, 1] frames in `content`'s dtype."""
    if method not in ("adain", "wavelet", "none"):
        raise ValueError(f"unknown colour fix {method!r} (adain, wavelet, none)")
    c = content.float() * 2 - 1
    if method == "adain":
        c = adain(c, reference.float() * 2 - 1)
    elif method == "wavelet":
        c = wavelet_fix(c, reference.float() * 2 - 1)
    return ((c.clamp(-1, 1) + 1) / 2).to(content.dtype)
