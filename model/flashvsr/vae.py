"""The Wan2.1 causal 3D VAE *decoder*, used by FlashVSR's Full mode, streaming with per-conv temporal caches.

Weight-compatible with the decoder side of the released `Wan2.1_VAE.pth` (keys `conv2.*` and `decoder.*`; the
encoder side `encoder.*` / `conv1.*` is not built): `decoder.conv1`, `decoder.middle.{0,2}` residual blocks around
`decoder.middle.1` (single-head spatial attention), `decoder.upsamples.N` (residual blocks and `Resample`s), and
`decoder.head.{0,2}`. Residual blocks are `residual.{0: RMS norm, 1: SiLU, 2: conv, 3: RMS norm, 4: SiLU,
5: dropout, 6: conv}` plus an optional 1x1x1 `shortcut`, so the indices match the released file.

Temporal behaviour (Wan2.1): every 3D conv is causal (2 frames of zero padding in front of the stream) and keeps
the last 2 input frames between calls, so decoding latent frames one at a time or all at once gives the same
frames. Each temporal upsampler passes the stream's *first* frame through unchanged (one frame out) and doubles
every later frame with a causal (3, 1, 1) conv whose stream starts after that first frame. T latent frames
therefore decode to 4T - 3 frames: 1 for the first latent, 4 for each later one.

Latents are FlashVSR's normalised latents; `decode` un-normalises them with the Wan2.1 per-channel mean / std
(constants of the release, not stored in the file) before `conv2`. Output frames are in [-1, 1] (clamped).
Shapes: latents (B, C=z_dim, T, h, w); frames (B, 3, T', 8h, 8w).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.config import FlashVSRConfig


# Wan2.1 VAE latent statistics (z_dim 16), as hard-coded by the release (`WanVideoVAE.mean` / `.std`).
WAN21_LATENT_MEAN = (
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
)  # fmt: skip
WAN21_LATENT_STD = (
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
)  # fmt: skip
CACHE_T = 2


class CausalConv3d(nn.Conv3d):
    """Conv3d, zero-padded causally in time (2 * pad_t frames in front) and symmetrically in space, with a
    streaming cache: the last 2 * pad_t input frames of the previous call replace the zero padding.

    x (B, C, T, H, W) -> (B, C', T, H', W'); `reset()` starts a new stream.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        pt, ph, pw = self.padding  # type: ignore[misc]
        self._front = 2 * pt
        self._spatial = (pw, pw, ph, ph)
        self.padding = (0, 0, 0)
        self._cache: Tensor | None = None

    def reset(self) -> None:
        self._cache = None

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if self._front:
            if self._cache is None:
                self._cache = x.new_zeros(*x.shape[:2], self._front, *x.shape[3:])
            x = torch.cat([self._cache.to(x.dtype), x], dim=2)
            self._cache = x[:, :, -self._front :].detach().clone()
        return super().forward(F.pad(x, (*self._spatial, 0, 0)))


class RMSNorm(nn.Module):
    """x / ||x||_channels * sqrt(C) * gamma over dim 1; gamma (C, 1, 1, 1) for (B, C, T, H, W) input
    (`images=False`) or (C, 1, 1) for (N, C, H, W) input (`images=True`)."""

    def __init__(self, dim: int, images: bool = True) -> None:
        super().__init__()
        self.scale = dim**0.5
        self.gamma = nn.Parameter(torch.ones(dim, *((1, 1) if images else (1, 1, 1))))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(x, dim=1) * self.scale * self.gamma


class ResidualBlock(nn.Module):
    """(RMS norm, SiLU, causal 3x3x3 conv) x 2 plus a (1x1x1 conv) shortcut. (B, C, T, H, W) -> (B, C', T, H, W)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            RMSNorm(in_dim, images=False),
            nn.SiLU(),
            CausalConv3d(in_dim, out_dim, 3, padding=1),
            RMSNorm(out_dim, images=False),
            nn.SiLU(),
            nn.Dropout(0.0),
            CausalConv3d(out_dim, out_dim, 3, padding=1),
        )
        self.shortcut = CausalConv3d(in_dim, out_dim, 1) if in_dim != out_dim else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class AttentionBlock(nn.Module):
    """Single-head self-attention over the pixels of each frame (no temporal mixing). (B, C, T, H, W) -> same."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = RMSNorm(dim)
        self.to_qkv = nn.Conv2d(dim, dim * 3, 1)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        y = x.transpose(1, 2).flatten(0, 1)  # (B*T, C, H, W)
        q, k, v = self.to_qkv(self.norm(y)).flatten(2).transpose(1, 2).chunk(3, dim=-1)  # (B*T, HW, C) each
        y = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]
        y = self.proj(y.transpose(1, 2).reshape(b * t, c, h, w))
        return x + y.unflatten(0, (b, t)).transpose(1, 2)


class Resample(nn.Module):
    """Spatial x2 upsampling (nearest, then a 3x3 conv halving the channels), optionally preceded by temporal x2
    upsampling (`temporal=True`): a causal (3, 1, 1) conv to 2C channels whose halves become two frames.

    The stream's first frame skips the temporal conv and stays one frame. (B, C, T, H, W) -> (B, C/2, T', 2H, 2W).
    """

    def __init__(self, dim: int, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        self.resample = nn.Sequential(nn.Upsample(scale_factor=(2.0, 2.0), mode="nearest-exact"),
                                      nn.Conv2d(dim, dim // 2, 3, padding=1))  # fmt: skip
        if temporal:
            self.time_conv = CausalConv3d(dim, dim * 2, (3, 1, 1), padding=(1, 0, 0))
        self._started = False

    def reset(self) -> None:
        self._started = False

    def _double(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        y = self.time_conv(x).reshape(b, 2, c, t, h, w)
        return torch.stack([y[:, 0], y[:, 1]], dim=3).reshape(b, c, 2 * t, h, w)

    def forward(self, x: Tensor) -> Tensor:
        if self.temporal:
            parts = []
            if not self._started:
                parts.append(x[:, :, :1])
                x = x[:, :, 1:]
                self._started = True
            if x.shape[2]:
                parts.append(self._double(x))
            x = torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]
        b, c, t = x.shape[:3]
        y = self.resample[0](x.transpose(1, 2).flatten(0, 1).float()).to(x.dtype)  # nearest x2 in fp32 (bf16-safe)
        y = self.resample[1](y)
        return y.unflatten(0, (b, t)).transpose(1, 2)


class Decoder3d(nn.Module):
    """Wan2.1 `Decoder3d`: latents (B, z_dim, T, h, w) -> frames (B, 3, 4T - 3, 8h, 8w) (first call; 4T after)."""

    def __init__(
        self,
        dim: int = 96,
        z_dim: int = 16,
        dim_mult: tuple[int, ...] = (1, 2, 4, 4),
        num_res_blocks: int = 2,
        temporal_upsample: tuple[bool, ...] = (True, True, False),
    ) -> None:
        super().__init__()
        dims = [dim * u for u in (dim_mult[-1], *dim_mult[::-1])]
        self.conv1 = CausalConv3d(z_dim, dims[0], 3, padding=1)
        self.middle = nn.Sequential(ResidualBlock(dims[0], dims[0]), AttentionBlock(dims[0]),
                                    ResidualBlock(dims[0], dims[0]))  # fmt: skip
        ups: list[nn.Module] = []
        for i, (in_dim, out_dim) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            if i > 0:
                in_dim //= 2  # the previous Resample halved the channels
            for _ in range(num_res_blocks + 1):
                ups.append(ResidualBlock(in_dim, out_dim))
                in_dim = out_dim
            if i != len(dim_mult) - 1:
                ups.append(Resample(out_dim, temporal=temporal_upsample[i]))
        self.upsamples = nn.Sequential(*ups)
        self.head = nn.Sequential(RMSNorm(dims[-1], images=False), nn.SiLU(),
                                  CausalConv3d(dims[-1], 3, 3, padding=1))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.upsamples(self.middle(self.conv1(x))))


class WanVAEDecoder(nn.Module):
    """Streaming Wan2.1 VAE decoder (Full mode).

    decode(latents (B, z_dim, T, h, w)) -> frames (B, 3, T', 8h, 8w) in [-1, 1]; T' = 4T - 3 on the first call
    after `reset()` and 4T afterwards, and the concatenated output never depends on how the latents were split.
    """

    def __init__(
        self,
        dim: int = 96,
        z_dim: int = 16,
        dim_mult: tuple[int, ...] = (1, 2, 4, 4),
        num_res_blocks: int = 2,
        temporal_upsample: tuple[bool, ...] = (True, True, False),
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.conv2 = CausalConv3d(z_dim, z_dim, 1)
        self.decoder = Decoder3d(dim, z_dim, dim_mult, num_res_blocks, temporal_upsample)
        mean = torch.tensor(WAN21_LATENT_MEAN) if z_dim == 16 else torch.zeros(z_dim)
        std = torch.tensor(WAN21_LATENT_STD) if z_dim == 16 else torch.ones(z_dim)
        self.register_buffer("latent_mean", mean, persistent=False)
        self.register_buffer("latent_std", std, persistent=False)

    @classmethod
    def from_config(cls, cfg: FlashVSRConfig) -> WanVAEDecoder:
        """Sizes from a FlashVSRConfig preset (latent channels = the DiT's out_dim)."""
        return cls(
            cfg.vae_dim, cfg.out_dim, tuple(cfg.vae_dim_mult), cfg.vae_num_res_blocks, tuple(cfg.vae_temporal_upsample)
        )

    def reset(self) -> None:
        """Forget the stream: the next `decode` starts a new video."""
        for m in self.modules():
            if isinstance(m, (CausalConv3d, Resample)):
                m.reset()

    def decode(self, latents: Tensor) -> Tensor:
        """Decode the next latent frames of the stream; see the class docstring."""
        shape = (1, self.z_dim, 1, 1, 1)
        z = latents * self.latent_std.to(latents).view(shape) + self.latent_mean.to(latents).view(shape)
        return self.decoder(self.conv2(z)).clamp(-1, 1)

    def forward(self, latents: Tensor) -> Tensor:
        """Whole clip: reset, then `decode`."""
        self.reset()
        return self.decode(latents)
