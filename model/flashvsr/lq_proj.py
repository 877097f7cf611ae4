"""The LQ projection: x4-upsampled LR frames -> DiT-token features, streaming with a 2-frame causal cache.

Official classes: `Causal_LQ4x_Proj` (v1.1, `variant="causal"`) and `Buffer_LQ4x_Proj` (v1, `variant="buffer"`),
`examples/WanVSR/utils/utils.py`. Keys: `conv1.{weight,bias}`, `norm1.gamma`, `conv2.{weight,bias}`,
`norm2.gamma`, `linear_layers.N.{weight,bias}` (the released `LQ_proj_in.ckpt` has layer_num = 1).

Pipeline per 4-frame step: pixel-unshuffle (1, 16, 16) -> CausalConv3d(k=(4,3,3), stride (2,1,1)) -> RMS norm ->
SiLU -> CausalConv3d(same) -> RMS norm -> SiLU -> Linear(hidden2 -> dim): 4 frames in, one latent frame of tokens
out. The very first step takes 1 frame (repeated to 4) and only fills the caches.

The two variants differ only in which frames each conv's 2-frame temporal cache holds:
- causal (v1.1): the previous step's last 2 input frames (a causal convolution over the whole stream);
- buffer (v1): the *current* step's last 2 input frames, written before the conv runs.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.config import FlashVSRConfig


CACHE_T = 2


class PixelUnshuffle3d(nn.Module):
    """(B, C, F, H, W) -> (B, C*t*h*w, F/t, H/h, W/w); output channel index ((c*t + i)*h + j)*w + k."""

    def __init__(self, t: int, h: int, w: int) -> None:
        super().__init__()
        self.factors = (t, h, w)

    def forward(self, x: Tensor) -> Tensor:
        b, c, f, hh, ww = x.shape
        t, h, w = self.factors
        x = x.reshape(b, c, f // t, t, hh // h, h, ww // w, w)
        x = x.permute(0, 1, 3, 5, 7, 2, 4, 6)
        return x.reshape(b, c * t * h * w, f // t, hh // h, ww // w)


class CausalConv3d(nn.Conv3d):
    """Conv3d padded causally in time (2 * pad_t frames in front) and replicate-padded everywhere.

    forward(x (B, C, T, H, W), cache (B, C, Tc, H, W) | None): cached frames replace that much front padding.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        pt, ph, pw = self.padding  # type: ignore[misc]
        self._pad = (pw, pw, ph, ph, 2 * pt, 0)
        self.padding = (0, 0, 0)

    def forward(self, x: Tensor, cache: Tensor | None = None) -> Tensor:  # type: ignore[override]
        pad = list(self._pad)
        if cache is not None and pad[4] > 0:
            x = torch.cat([cache.to(x.device, x.dtype), x], dim=2)
            pad[4] -= cache.shape[2]
        return super().forward(F.pad(x, pad, mode="replicate"))


class ChannelRMSNorm(nn.Module):
    """x / ||x||_channels * sqrt(C) * gamma over dim 1 of (B, C, T, H, W); gamma shape (C, 1, 1, 1)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = dim**0.5
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(x, dim=1) * self.scale * self.gamma


class LQProjection(nn.Module):
    """Streaming LR-video projection into DiT token space.

    step(clip (B, C, T, H, W)) with T = 1 + 4k on the first call and 4k afterwards (H, W multiples of 16) ->
    `layer_num` tensors (B, k' * H/16 * W/16, out_dim) for the k' new latent frames, or None while nothing is out.
    forward(video (B, C, 1 + 4n, H, W)) resets the caches and returns the n latent frames' tokens.
    """

    def __init__(
        self,
        in_dim: int = 3,
        out_dim: int = 1536,
        layer_num: int = 1,
        hidden: tuple[int, int] = (2048, 3072),
        unshuffle: tuple[int, int, int] = (1, 16, 16),
        variant: Literal["causal", "buffer"] = "causal",
    ) -> None:
        super().__init__()
        if variant not in ("causal", "buffer"):
            raise ValueError(f"variant must be 'causal' (v1.1) or 'buffer' (v1), got {variant!r}")
        self.variant = variant
        self.layer_num = layer_num
        c_in = in_dim * unshuffle[0] * unshuffle[1] * unshuffle[2]
        self.pixel_shuffle = PixelUnshuffle3d(*unshuffle)
        self.conv1 = CausalConv3d(c_in, hidden[0], (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1))
        self.norm1 = ChannelRMSNorm(hidden[0])
        self.act1 = nn.SiLU()
        self.conv2 = CausalConv3d(hidden[0], hidden[1], (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1))
        self.norm2 = ChannelRMSNorm(hidden[1])
        self.act2 = nn.SiLU()
        self.linear_layers = nn.ModuleList([nn.Linear(hidden[1], out_dim) for _ in range(layer_num)])
        self.fast_convs = False  # convolutions as channels-last 2D ones (fast_convs.causal_conv3d_as_2d)
        self.reset()

    @classmethod
    def from_config(cls, cfg: FlashVSRConfig) -> LQProjection:
        """Sizes from a FlashVSRConfig preset."""
        return cls(
            cfg.lq_in_dim, cfg.dim, cfg.lq_layer_num, tuple(cfg.lq_hidden), tuple(cfg.lq_unshuffle), cfg.lq_variant
        )

    def reset(self) -> None:
        """Forget the stream (the next `step` is a first call)."""
        self._cache1: Tensor | None = None
        self._cache2: Tensor | None = None
        self._started = False

    def _conv(self, conv: CausalConv3d, x: Tensor, cache: Tensor | None) -> tuple[Tensor, Tensor]:
        tail = x[:, :, -CACHE_T:].clone()
        if self.variant == "buffer":
            cache = tail
        if self.fast_convs:  # GPU fast path (model/flashvsr/fast_convs.py), same function
            from model.flashvsr.fast_convs import causal_conv3d_as_2d

            return causal_conv3d_as_2d(conv, x, cache), tail
        return conv(x, cache), tail

    def _step4(self, clip: Tensor) -> Tensor | None:
        x = self.pixel_shuffle(clip)
        x, self._cache1 = self._conv(self.conv1, x, self._cache1)
        x = self.act1(self.norm1(x))
        if not self._started:
            self._cache2 = x[:, :, -CACHE_T:].clone()
            self._started = True
            return None
        x, self._cache2 = self._conv(self.conv2, x, self._cache2)
        return self.act2(self.norm2(x))

    def step(self, clip: Tensor) -> list[Tensor] | None:
        """Feed the next frames of the stream; see the class docstring for T."""
        if not self._started:
            if (clip.shape[2] - 1) % 4:
                raise ValueError(f"the first LQ step needs 1 + 4k frames, got {clip.shape[2]}")
            clip = torch.cat([clip[:, :, :1].expand(-1, -1, 3, -1, -1), clip], dim=2)
        elif clip.shape[2] % 4:
            raise ValueError(f"LQ steps after the first need 4k frames, got {clip.shape[2]}")
        outs = [y for i in range(0, clip.shape[2], 4) if (y := self._step4(clip[:, :, i : i + 4])) is not None]
        if not outs:
            return None
        feats = torch.cat(outs, dim=2).flatten(2).transpose(1, 2)  # (B, f*h*w, hidden2)
        return [layer(feats) for layer in self.linear_layers]

    def forward(self, video: Tensor) -> list[Tensor]:
        """Whole clip (B, C, 1 + 4n, H, W) -> `layer_num` tensors (B, n * H/16 * W/16, out_dim)."""
        if video.shape[2] < 5 or (video.shape[2] - 1) % 4:
            raise ValueError(f"the LQ projection needs 1 + 4n frames (n >= 1), got {video.shape[2]}")
        self.reset()
        self.step(video[:, :, :1])
        out = self.step(video[:, :, 1:])
        assert out is not None
        return out
