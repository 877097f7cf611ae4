"""Stage 0: the tiny causal video autoencoder that gives `flashvsr-tiny` its latent space.

Same compression as the Wan2.1 VAE: 4x in time (causally: latent 0 <- frame 0, latent j >= 1 <- frames 4j-3..4j)
and 8x in space, so 1 + 4n frames <-> 1 + n latents. The decoder *is* the Wan2.1 decoder of `model.flashvsr.vae`
(`WanVAEDecoder.from_config(cfg)`, the "full" mode decoder of the preset), so stage 0's decoder loads straight into
`FlashVSRModel(mode="full")`. The encoder mirrors it with the same blocks (causal residual blocks, per-frame
attention) and stateless strided downsamplers: spatial stride-2 3x3 convs, and temporal stride-2 (3, 1, 1) convs
padded one frame in front, so a latent never sees a later group of frames.

Latents are meant to be roughly N(0, 1) (flow matching starts from unit noise): the encoder predicts (mu, logvar)
and training adds a small KL term plus a penalty on the per-channel mean and log-std of mu.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.vae import AttentionBlock, CausalConv3d, ResidualBlock, RMSNorm, WanVAEDecoder


class Downsample(nn.Module):
    """Spatial /2 (3x3 conv, stride 2, per frame), then optionally temporal /2 (causal (3, 1, 1) conv, stride 2,
    one frame of replicate padding in front, so output k sees input frames 2k-1 .. 2k+1).
    (B, C, T, H, W) -> (B, C, T or T/2, H/2, W/2)."""

    def __init__(self, dim: int, temporal: bool) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(dim, dim, 3, stride=2, padding=1)
        self.time_conv = nn.Conv3d(dim, dim, (3, 1, 1), stride=(2, 1, 1)) if temporal else None

    def forward(self, x: Tensor) -> Tensor:
        b, c, t = x.shape[:3]
        y = self.spatial(x.transpose(1, 2).flatten(0, 1)).unflatten(0, (b, t)).transpose(1, 2)
        if self.time_conv is not None:
            if t % 2:
                raise ValueError(f"temporal downsampling needs an even frame count, got {t}")
            y = self.time_conv(F.pad(y, (0, 0, 0, 0, 1, 0), mode="replicate"))
        return y


class Encoder3d(nn.Module):
    """Frames (B, 3, 1 + 4n, H, W) in [-1, 1] -> (mu, logvar), each (B, z_dim, 1 + n, H/8, W/8)."""

    def __init__(
        self,
        dim: int = 96,
        z_dim: int = 16,
        dim_mult: tuple[int, ...] = (1, 2, 4, 4),
        num_res_blocks: int = 2,
        temporal_downsample: tuple[bool, ...] = (False, True, True),
    ) -> None:
        super().__init__()
        dims = [dim * u for u in (1, *dim_mult)]
        self.conv1 = CausalConv3d(3, dims[0], 3, padding=1)
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            for _ in range(num_res_blocks):
                layers.append(ResidualBlock(c_in, c_out))
                c_in = c_out
            if i != len(dim_mult) - 1:
                layers.append(Downsample(c_out, temporal=temporal_downsample[i]))
        self.downsamples = nn.Sequential(*layers)
        c = dims[-1]
        self.middle = nn.Sequential(ResidualBlock(c, c), AttentionBlock(c), ResidualBlock(c, c))
        self.head = nn.Sequential(RMSNorm(c, images=False), nn.SiLU(), CausalConv3d(c, 2 * z_dim, 3, padding=1))
        self.time_factor = 2 ** sum(temporal_downsample)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        for m in self.modules():  # the borrowed causal convs keep a streaming cache: start a new stream
            if isinstance(m, CausalConv3d):
                m.reset()
        if (x.shape[2] - 1) % self.time_factor:
            raise ValueError(f"the encoder needs 1 + {self.time_factor}n frames, got {x.shape[2]}")
        pad = self.time_factor - 1  # frame 0 alone forms the first group (as Wan: 1 frame -> 1 latent)
        x = torch.cat([x[:, :, :1].expand(-1, -1, pad, -1, -1), x], dim=2) if pad else x
        h = self.head(self.middle(self.downsamples(self.conv1(x))))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)


class TinyVideoAE(nn.Module):
    """Encoder3d + the Wan2.1 decoder of the preset (`decoder`, keys as `vae_decoder` of the bundle).

    encode(frames (B, 3, 1 + 4n, H, W) in [-1, 1]) -> (mu, logvar) (B, z, 1 + n, H/8, W/8);
    decode(latents (B, z, T, h, w)) -> frames (B, 3, 4T - 3, 8h, 8w) in [-1, 1].
    """

    def __init__(self, cfg: FlashVSRConfig) -> None:
        super().__init__()
        self.encoder = Encoder3d(cfg.vae_dim, cfg.out_dim, tuple(cfg.vae_dim_mult), cfg.vae_num_res_blocks,
                                 (False, *tuple(cfg.vae_temporal_upsample)[::-1][1:]))  # fmt: skip
        self.decoder = WanVAEDecoder.from_config(cfg)

    def encode(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        return self.encoder(frames)

    def decode(self, latents: Tensor) -> Tensor:
        return self.decoder(latents)

    @staticmethod
    def frames_of_latent(j: int) -> tuple[int, int]:
        """Frame range [a, b) that latent j decodes to (0 -> [0, 1), j -> [4j - 3, 4j + 1))."""
        return (0, 1) if j == 0 else (4 * j - 3, 4 * j + 1)

    def forward(self, frames: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Training pass: reconstruction (B, 3, T, H, W), mu, logvar; latents sampled with `generator`."""
        mu, logvar = self.encode(frames)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def latent_regulariser(mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
    """(KL to N(0, 1) per element, penalty on per-channel mean^2 + log(std)^2 of mu). mu, logvar (B, z, T, h, w)."""
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
    m = mu.transpose(0, 1).flatten(1)
    moments = (m.mean(1).pow(2) + torch.log(m.std(1) + 1e-6).pow(2)).mean()
    return kl, moments
