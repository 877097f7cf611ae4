"""The Tiny Conditional Decoder (TCDecoder): a TAEHV-style, decoder-only VAE conditioned on the LR video.

Official: `examples/WanVSR/utils/TCDecoder.py` (`TAEHV` built by `build_tcdecoder([512, 256, 128, 128],
new_latent_channels=16 + 768)`). The state-dict keys are the indices of one `nn.Sequential` named `decoder`
(IdentityConv2d + ReLU pairs inserted after each top-level ReLU), e.g. `decoder.1` = first conv,
`decoder.5.conv.{0,2,4}` = a MemBlock, `decoder.9.conv` = a TGrow, `decoder.26` = the RGB conv.

Input per latent frame: the LR video (upsampled to output size, in [-1, 1]) pixel-unshuffled by (4, 8, 8) into
3*4*8*8 = 768 channels, concatenated *in front of* the 16 latent channels. Each latent frame becomes 4 output frames
(two temporal x2 TGrows), 8x larger spatially. MemBlocks see the previous frame's input at their depth, so the
decoder streams: memory carries over between `decode` calls, and the first call drops the first 3 frames.
Output is roughly in [0, 1] (no clamp, as upstream). With `residual=True` (the bundled `flashvsr-tiny`, not the
release) the decoder predicts a correction added to the conditioning frames mapped to [0, 1]; its RGB conv starts at
zero, so an untrained residual decoder outputs the upsampled LR. With `cond_skip=k` (also not the release) the
conditioning frames also enter at full resolution: three k-channel 3x3 convs, added to the last stage's output.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.tc_blocks import Clamp, IdentityConv2d, MemBlock, TGrow, conv3x3


def cond_unshuffle(video: Tensor, factors: tuple[int, int, int] = (4, 8, 8)) -> Tensor:
    """LR conditioning (B, C, F, H, W) -> (B, ceil(F/t), C*t*h*w, H/h, W/w), front-padding with the first frame
    to a multiple of t frames (21 frames -> 3 copies of frame 0 + 21 = 24 -> 6 latent frames)."""
    t, h, w = factors
    b, c, f, hh, ww = video.shape
    if f % t:
        video = torch.cat([video[:, :, :1].expand(-1, -1, t - f % t, -1, -1), video], dim=2)
        f = video.shape[2]
    x = video.reshape(b, c, f // t, t, hh // h, h, ww // w, w).permute(0, 2, 1, 3, 5, 7, 4, 6)
    return x.reshape(b, f // t, c * t * h * w, hh // h, ww // w)


class TCDecoder(nn.Module):
    """Latents (B, T, C_lat, h, w) + LR cond (B, C, F, 8h, 8w) -> frames (B, 4T (- 3 on the first call), 3, 8h, 8w).

    `decode` streams: call it chunk after chunk; `reset()` starts a new video.
    """

    def __init__(
        self,
        channels: tuple[int, int, int, int] = (512, 256, 128, 128),
        latent_channels: int = 16 + 768,
        time_upscale: tuple[bool, bool] = (True, True),
        space_upscale: tuple[bool, bool, bool] = (True, True, True),
        cond_unshuffle: tuple[int, int, int] = (4, 8, 8),
        residual: bool = False,
        cond_skip: int = 0,
    ) -> None:
        super().__init__()
        n = channels
        self.cond_factors = cond_unshuffle
        self.residual = residual
        self.frames_to_trim = 2 ** sum(time_upscale) - 1

        def deepen(c: int) -> list[nn.Module]:
            return [nn.ReLU(), IdentityConv2d(c), nn.ReLU()]

        def stage(c_in: int, c_out: int, space: bool, time: int) -> list[nn.Module]:
            return [
                MemBlock(c_in, c_in),
                MemBlock(c_in, c_in),
                MemBlock(c_in, c_in),
                nn.Upsample(scale_factor=2 if space else 1),
                TGrow(c_in, time),
                conv3x3(c_in, c_out, bias=False),
            ]

        layers: list[nn.Module] = [Clamp(), conv3x3(latent_channels, n[0]), *deepen(n[0])]
        layers += stage(n[0], n[1], space_upscale[0], 1)
        layers += stage(n[1], n[2], space_upscale[1], 2 if time_upscale[0] else 1)
        layers += stage(n[2], n[3], space_upscale[2], 2 if time_upscale[1] else 1)
        layers += [*deepen(n[3]), conv3x3(n[3], 3)]
        self.decoder = nn.Sequential(*layers)
        self.skip_at = len(layers) - 5  # the last stage's conv3x3: its output is the first full-resolution feature
        self.cond_skip = (
            nn.Sequential(
                conv3x3(3, cond_skip), nn.ReLU(), conv3x3(cond_skip, cond_skip), nn.ReLU(), conv3x3(cond_skip, n[3])
            )
            if cond_skip
            else None
        )
        if residual:
            nn.init.zeros_(layers[-1].weight)
            nn.init.zeros_(layers[-1].bias)
        self.reset()

    @classmethod
    def from_config(cls, cfg: FlashVSRConfig) -> TCDecoder:
        """Sizes from a FlashVSRConfig preset."""
        return cls(
            tuple(cfg.tc_channels),
            cfg.tc_latent_channels,
            tuple(cfg.tc_time_upscale),
            tuple(cfg.tc_space_upscale),
            tuple(cfg.tc_cond_unshuffle),
            cfg.tc_residual,
            cfg.tc_cond_skip,
        )

    compiled = False  # GPU fast path: run the layers through torch.compile (fast_convs.compile_decoder)
    # CPU inference path (cpu_decoder.cpu_layers, float32 input, autograd off): False runs the module code;
    # cpu_dtype torch.bfloat16 runs its convolutions in bfloat16 (not the reference numerics; see docs/model.md)
    cpu_fast = True
    cpu_dtype: torch.dtype = torch.float32

    def reset(self) -> None:
        """Forget the stream: the next `decode` is the first chunk of a new video."""
        self._mem: dict[int, Tensor] = {}
        self._started = False

    def _run(self, x: Tensor, frames_hr: Tensor | None = None) -> Tensor:
        """x (B, T, C, h, w) -> (B, T', 3, H, W), all frames of each layer at once; MemBlock memory carried over.
        frames_hr (B, T', 3, H, W): the conditioning frames for the full-resolution branch (when it exists).
        With `compiled` set and x on CUDA, the layers run as one torch.compile'd graph (fused elementwise work);
        float32 on CPU without autograd, `cpu_fast` runs them through `cpu_decoder.cpu_layers` (in `cpu_dtype`)."""
        if self.cpu_fast and x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled():
            from model.flashvsr.cpu_decoder import cpu_layers

            y, self._mem = cpu_layers(self, x, self._mem, frames_hr, self.cpu_dtype)
            return y
        fn = _compiled_layers() if self.compiled and x.is_cuda else _layers
        y, self._mem = fn(self, x, self._mem, frames_hr)
        return y

    def decode(self, latents: Tensor, cond: Tensor | None = None) -> Tensor:
        """Decode the next latent frames (B, T, C_lat, h, w); cond: the matching LR frames (B, 3, F, 8h, 8w)
        in [-1, 1] (F = 4T, or 4T - 3 on the first call). Returns (B, frames, 3, 8h, 8w), roughly in [0, 1]."""
        frames_hr = None
        if cond is not None:
            latents = torch.cat([cond_unshuffle(cond, self.cond_factors).to(latents.dtype), latents], dim=2)
            pad = (-cond.shape[2]) % self.cond_factors[0]  # cond_unshuffle's front padding
            # output frame i <-> padded cond frame i
            frames_hr = torch.cat([cond[:, :, :1].expand(-1, -1, pad, -1, -1), cond], dim=2) if pad else cond
            frames_hr = frames_hr.transpose(1, 2)
        elif self.residual or self.cond_skip is not None:
            raise ValueError("a residual or full-resolution-conditioned TCDecoder needs the LR conditioning frames")
        first = not self._started
        self._started = True
        out = self._run(latents, frames_hr)
        if self.residual:
            assert frames_hr is not None
            out = out + ((frames_hr + 1) / 2).to(out.dtype)
        return out[:, self.frames_to_trim :] if first else out

    def forward(self, latents: Tensor, cond: Tensor | None = None) -> Tensor:
        """Whole clip: reset, then `decode`."""
        self.reset()
        return self.decode(latents, cond)


def _layers(
    dec: TCDecoder, x: Tensor, mem: dict[int, Tensor], frames_hr: Tensor | None
) -> tuple[Tensor, dict[int, Tensor]]:
    """`TCDecoder._run` as a pure function of (x, MemBlock memory) -> (frames, new memory)."""
    b = x.shape[0]
    y = x.flatten(0, 1)
    new_mem: dict[int, Tensor] = {}
    for i, layer in enumerate(dec.decoder):
        if isinstance(layer, MemBlock):
            frames = y.unflatten(0, (b, -1))
            prev = mem.get(i)
            first = torch.zeros_like(frames[:, :1]) if prev is None else prev.to(frames.dtype)[:, None]
            past = torch.cat([first, frames[:, :-1]], dim=1)
            new_mem[i] = frames[:, -1].detach()
            y = layer(y, past.flatten(0, 1))
        else:
            y = layer(y)
        if i == dec.skip_at and dec.cond_skip is not None:
            assert frames_hr is not None
            y = y + dec.cond_skip(frames_hr.flatten(0, 1).to(y.dtype))
    return y.unflatten(0, (b, -1)), new_mem


_COMPILED: dict[str, object] = {}


def _compiled_layers():  # noqa: ANN202
    if "layers" not in _COMPILED:
        _COMPILED["layers"] = torch.compile(_layers, dynamic=False)
    return _COMPILED["layers"]
