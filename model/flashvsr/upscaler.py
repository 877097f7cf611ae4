"""FlashVSR as a streaming upscaler (VSRModel): LQ projection -> one-step sparse-causal DiT -> decoder -> colour fix.

The model owns its parts and runs one step of a stream; the step's frame ranges come from the chunk state machine
(model/flashvsr/stream.py), the canvas and tiles from model/flashvsr/tiling.py, and building from a preset with
weights is model/flashvsr/build.py. Unlike the release, nothing is cropped or trimmed: LR frames are
bicubic-upsampled by `scale`, reflect-padded (replicate where the frame is too small) to the model's multiple of
128 px, and cropped back; the end of the video is padded by repeating its last frame and the surplus output
dropped, so the output has exactly the input's frame count (a 1-frame clip works). RoPE positions are computed,
not looked up, so any length works. Noise for step i (and tile k) is drawn from a generator seeded by (seed, i, k):
output does not depend on how the input was chunked.

Modes: "tiny" and "tiny-long" decode each step with the Tiny Conditional Decoder (both stream here; "tiny-long"
is kept as a name for the release's long-video script), "full" with the Wan2.1 VAE decoder. Optional spatial
tiling (`tile`, output pixels) runs independent streams on overlapping tiles and feathers them together.
Colour fix (AdaIN by default) runs on the cropped output frames against the bicubic-upsampled LR, in float32 and in
the official [-1, 1] domain.

`compat="official"` reproduces the released script instead (model/flashvsr/official.py): PIL bicubic and a centre
crop to multiples of 128, F - 4 output frames for F = the largest 8n+1 <= n + 4, one whole-clip noise tensor and
truncation to uint8 (`uint8_rounding`). It needs the clip's frame count before streaming (`expect_frames`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from model.base import VSRModel
from model.flashvsr.colorfix import ColorFix, color_fix
from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.dit_inputs import AttentionSettings
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.memory import MemoryPlan, default_budget, plan_memory
from model.flashvsr.official import (
    OfficialGeometry,
    official_geometry,
    official_noise,
    official_output_frames,
    pil_upscale_crop,
)
from model.flashvsr.stream import ChunkStream, StepPlan, step_plan
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.tiling import Tile, TileStream, pad_to_multiple, plan_tiles, run_tiles, tile_streams, upsample_lr
from model.flashvsr.transformer import WanDiT
from model.flashvsr.vae import WanVAEDecoder
from vsrcore.errors import UserFacingError


MODES = ("tiny", "tiny-long", "full")
COMPAT = ("default", "official")


def _check_arguments(mode: str, compat: str, tile: int | None, scale: int) -> None:
    """One-line errors for a FlashVSRModel's mode, compat, tile and scale."""
    if mode not in MODES:
        raise UserFacingError(f"unknown mode '{mode}' (choose from {', '.join(MODES)})")
    if compat not in COMPAT:
        raise UserFacingError(f"unknown compat '{compat}' (choose from {', '.join(COMPAT)})")
    if compat == "official" and tile:
        raise UserFacingError("--compat official runs untiled, as the release does; drop --tile")
    if scale < 1:
        raise UserFacingError(f"scale must be a positive integer, got {scale}")


class FlashVSRModel(VSRModel):
    """FlashVSR streaming upscaler; see the module docstring. Build with `build.build_flashvsr` (presets, weights)."""

    needs_weights = True

    def __init__(
        self,
        cfg: FlashVSRConfig,
        *,
        scale: int = 4,
        mode: str = "tiny",
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        context: Tensor | None = None,
        sparse_ratio: float | None = None,
        kv_ratio: float | None = None,
        local_range: int | None = None,
        backend: str | None = None,
        tile: int | None = None,
        tile_overlap: int = 128,
        color_fix: ColorFix = "adain",
        seed: int = 0,
        name: str = "flashvsr",
        random_weights: bool = False,
        compat: str = "default",
        max_memory: int | None = None,
    ) -> None:
        _check_arguments(mode, compat, tile, scale)
        self.cfg, self.scale, self.mode, self.name = cfg, int(scale), mode, name
        self.device, self.dtype = torch.device(device), dtype
        self.random_weights = random_weights
        self.multiple = 8 * cfg.patch_size[1] * cfg.attn_block[1]  # VAE x patch x attention block = 128 px
        if cfg.decoder_only and mode == "full":
            raise UserFacingError("a decoder-only model (no DiT) runs in tiny mode only")
        self.dit: WanDiT | None = None if cfg.decoder_only else WanDiT(cfg)
        self.lq_proj: LQProjection | None = None if cfg.decoder_only else LQProjection.from_config(cfg)
        self.decoder: nn.Module = TCDecoder.from_config(cfg) if mode != "full" else WanVAEDecoder.from_config(cfg)
        self.settings = AttentionSettings.from_config(
            cfg,
            **{
                k: v
                for k, v in {"sparse_ratio": sparse_ratio, "local_range": local_range, "backend": backend}.items()
                if v is not None
            },
        )
        self.kv_ratio = cfg.kv_ratio if kv_ratio is None else kv_ratio
        self.tile, self.tile_overlap = tile, tile_overlap
        self.color_fix: ColorFix = color_fix
        self.seed = seed
        self.compat = compat
        self.max_memory = max_memory
        self.plan: MemoryPlan | None = None
        self.uint8_rounding = "truncate" if compat == "official" else "round"
        self._expected: int | None = None  # total LR frames of the next stream (compat official)
        self._clip_noise: Tensor | None = None  # whole-clip noise (1, C, T, H/8, W/8), see set_clip_noise
        self._context_raw = context
        self._context_kv: list[tuple[Tensor, Tensor]] | None = None
        self.timings: dict[str, float] | None = None  # set to {} to accumulate per-component seconds (syncs)
        self.peak_bytes: dict[str, int] = {}  # with timings on CUDA: peak memory allocated during each component
        # True: push/flush return uint8 frames (T, C, H, W), converted on the device with `uint8_rounding`, so the
        # host copy moves a quarter of the bytes (float32 [0, 1] frames otherwise, the VSRModel default)
        self.output_uint8 = False
        self.kv_bits = 16  # 8: int8 KV cache with per-vector scales (fast DiT path only; see dit_inputs.KVCache)
        self._staging: Tensor | None = None  # pinned host buffer of the device -> host output copy
        self.reset()

    # --- module handling ---
    def modules(self) -> dict[str, nn.Module]:
        """The weight-bearing parts: dit, lq_proj (not in a decoder-only model) and the mode's decoder (tcdecoder or
        vae_decoder)."""
        if self.dit is None or self.lq_proj is None:
            return {self.decoder_part: self.decoder}
        return {"dit": self.dit, "lq_proj": self.lq_proj, self.decoder_part: self.decoder}

    @property
    def decoder_part(self) -> str:
        return "vae_decoder" if self.mode == "full" else "tcdecoder"

    def to_device(self) -> FlashVSRModel:
        """Move every part to the configured device and dtype (inference mode)."""
        for m in self.modules().values():
            m.to(self.device, self.dtype).eval().requires_grad_(False)
        if self.device.type == "cpu" and isinstance(self.decoder, TCDecoder):  # oneDNN's 2-D convs: faster on NHWC
            self.decoder.to(memory_format=torch.channels_last)
        self._context_kv = None
        return self

    def set_context(self, context: Tensor) -> None:
        """The prompt context (1, S, text_dim); cross-attention keys/values are computed once from it."""
        self._context_raw = context
        self._context_kv = None

    def _context(self) -> list[tuple[Tensor, Tensor]]:
        if self._context_kv is None:
            if self._context_raw is None:
                raise UserFacingError("FlashVSR needs its prompt context (posi_prompt.pth); none was loaded")
            with torch.no_grad():
                ctx = self._context_raw.to(self.device, self.dtype)
                assert self.dit is not None
                self._context_kv = self.dit.encode_context(ctx)
        return self._context_kv

    # --- streaming state ---
    def reset(self) -> None:
        """Start a new video: an empty stream; geometry and tiles follow from its first frames."""
        self._stream = ChunkStream()
        self._tiles: list[Tile] | None = None
        self._states: list[TileStream] = []
        self._geom: tuple[int, int, int, int] | None = None  # (h, w, padded H, padded W)
        self._out_hw: tuple[int, int] = (0, 0)  # output frame size
        self._official: OfficialGeometry | None = None
        if self.compat == "official":
            self._clip_noise = None  # drawn again for each stream (its length depends on the clip's)

    def expect_frames(self, n: int) -> None:
        """The next stream's total LR frame count; needed by compat "official" (the release's frame rule)."""
        self._expected = int(n)
        if self.compat == "official":  # a too-short clip fails here, before any work
            self._stream.output_frames = official_output_frames(self._expected)

    def set_clip_noise(self, noise: Tensor) -> None:
        """Use one whole-clip latent noise tensor (1, C, T, H/8, W/8) instead of per-step seeded noise: step 0 reads
        latent frames 0..5, step i >= 1 frames 4 + 2i and 5 + 2i (the release's layout). Untiled runs only."""
        if noise.ndim != 5 or noise.shape[:2] != (1, self.cfg.in_dim):
            raise ValueError(f"clip noise must be (1, {self.cfg.in_dim}, T, H/8, W/8), got {tuple(noise.shape)}")
        self._clip_noise = noise

    # --- geometry ---
    def _canvas(self, h: int, w: int) -> tuple[int, int]:
        """The padded (or, in compat official, cropped) output canvas (Hp, Wp) of an (h, w) LR frame."""
        if self.compat == "official":
            g = official_geometry(h, w, self.scale, self.multiple)
            return g.height, g.width
        return -(-h * self.scale // self.multiple) * self.multiple, -(-w * self.scale // self.multiple) * self.multiple

    def memory_plan(self, h: int, w: int) -> MemoryPlan:
        """Estimated peak memory for (h, w) LR frames and the tile that keeps it under `max_memory` (or 80 % of
        the memory available now); an explicit `tile` is kept, compat official never tiles."""
        from model.flashvsr.memory import estimate_bytes

        hp, wp = self._canvas(h, w)
        weights = sum(p.numel() * p.element_size() for m in self.modules().values() for p in m.parameters())
        itemsize = torch.finfo(self.dtype).bits // 8
        budget = self.max_memory if self.max_memory is not None else default_budget(str(self.device))
        if self.tile or self.compat == "official":
            est = estimate_bytes(self.cfg, self.mode, hp, wp, self.tile, weights, itemsize)
            return MemoryPlan(self.tile, est, budget)
        return plan_memory(self.cfg, self.mode, hp, wp, weights, budget, self.multiple, itemsize)

    def _setup(self, h: int, w: int) -> None:
        hp, wp = self._canvas(h, w)
        self._out_hw = (h * self.scale, w * self.scale)
        if self.compat == "official":
            if self._expected is None:
                raise UserFacingError("--compat official needs the clip's frame count first (expect_frames)")
            self._official = official_geometry(h, w, self.scale, self.multiple)
            self._out_hw = (hp, wp)
            n_out = official_output_frames(self._expected)
            self._stream.output_frames = n_out
            if self._clip_noise is None:
                self._clip_noise = official_noise(self.cfg.in_dim, n_out, hp, wp, self.seed, self.device, self.dtype)
        self._geom = (h, w, hp, wp)
        self.plan = self.memory_plan(h, w)
        self._tiles = plan_tiles(hp, wp, self.plan.tile, self.tile_overlap, self.multiple)
        self._states = tile_streams(len(self._tiles), self.lq_proj, self.decoder, self.kv_ratio, self.kv_bits)

    def _hr(self, lr: Tensor) -> Tensor:
        """LR frames (t, C, h, w) -> padded HR canvas (t, C, Hp, Wp) in [0, 1] (float32, on device)."""
        assert self._geom is not None
        if self._official is not None:
            return pil_upscale_crop(lr, self._official).to(self.device)
        up = upsample_lr(lr.to(self.device), self.scale)
        return pad_to_multiple(up, self.multiple)

    def _noise(self, step: int, tile: int, latents: int, h: int, w: int) -> Tensor:
        if self._clip_noise is not None:
            start = 0 if step == 0 else 4 + 2 * step
            noise = self._clip_noise[:, :, start : start + latents]
            if len(self._states) != 1 or noise.shape[2:] != (latents, h, w):
                raise UserFacingError(
                    f"clip noise {tuple(self._clip_noise.shape)} does not cover step {step} ({latents} x {h} x {w})"
                )
            return noise.to(self.device, self.dtype)
        seq = np.random.SeedSequence([self.seed, step, tile])
        g = torch.Generator().manual_seed(int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)))
        noise = torch.randn(1, self.cfg.in_dim, latents, h, w, generator=g)
        return noise.to(self.device, self.dtype)

    # --- one step ---
    def _run_step(self, plan: StepPlan) -> Tensor:
        """Run step `plan` on the buffered frames; returns output frames (t, C, h*s, w*s) on the CPU."""
        assert self._geom is not None and self._tiles is not None
        (lq0, lq1), (o0, o1) = plan.lq, plan.out
        first = min(lq0, o0)  # one upsampling for both (they overlap)
        self._tick(None)
        hr = self._hr(self._stream.frames(first, max(lq1, o1)))  # (t, C, Hp, Wp) [0, 1]
        self._tick("upsample")
        hr_lq = hr[lq0 - first : lq1 - first]
        hr_out = hr[o0 - first : o1 - first]
        overlap = self.tile_overlap // self.multiple * self.multiple
        out = run_tiles(self._tiles, hr_lq, hr_out, overlap, lambda k, lq, ref: self._run_tile(k, plan, lq, ref))
        hs, ws = self._out_hw
        out = out[..., :hs, :ws]
        ref = hr_out[..., :hs, :ws]
        self._tick(None)
        # per frame (the fix is per frame); a few at a time bounds the float32 temporaries
        fixed = torch.cat([color_fix(out[i : i + 4], ref[i : i + 4], self.color_fix) for i in range(0, len(out), 4)])
        fixed = fixed.clamp_(0, 1)
        if self.output_uint8:
            fixed = fixed.mul_(255).round_() if self.uint8_rounding == "round" else fixed.mul_(255).floor_()
            fixed = fixed.to(torch.uint8)
        self._tick("colour_fix")
        host = self._to_host(fixed)
        self._tick("host_copy")
        return host

    def _to_host(self, frames: Tensor) -> Tensor:
        """Output frames -> a CPU tensor the caller owns. From CUDA through a pinned staging buffer kept by the model
        (a DMA copy at full link rate instead of a pageable one), then one CPU copy out of it."""
        if frames.device.type != "cuda":
            return frames.cpu()
        frames = frames.contiguous()
        n = frames.numel()
        if self._staging is None or self._staging.numel() < n or self._staging.dtype != frames.dtype:
            self._staging = torch.empty(n, dtype=frames.dtype, pin_memory=True)
        staged = self._staging[:n].view(frames.shape)
        staged.copy_(frames, non_blocking=True)
        torch.cuda.current_stream(frames.device).synchronize()
        return staged.clone()

    def _run_tile(self, k: int, plan: StepPlan, hr_lq: Tensor, hr_out: Tensor) -> Tensor:
        """Step `plan` of tile k's stream: LQ projection -> DiT -> decoder; (t, C, H_tile, W_tile) in [0, 1]."""
        st = self._states[k]
        th, tw = hr_lq.shape[-2:]
        with torch.no_grad():
            clip = (hr_lq * 2 - 1).to(self.dtype).transpose(0, 1)[None]  # (1, C, t, H, W) in [-1, 1]
            self._tick(None)
            if self.dit is None:  # decoder-only: the TCDecoder decodes zero latents with its LR conditioning
                shape = (1, self.cfg.in_dim, plan.latents, th // 8, tw // 8)
                x0 = torch.zeros(shape, device=self.device, dtype=self.dtype)
            else:
                lq = st.lq_proj.step(clip)  # type: ignore[operator]
                assert lq is not None
                noise = self._noise(plan.index, k, plan.latents, th // 8, tw // 8)
                self._tick("lq_proj")
                x0 = self.dit.predict_x0(
                    noise, self._context(), lq=lq, cache=st.cache, frame_offset=plan.rope_offset,
                    attention=self.settings,
                )  # fmt: skip
                self._tick("dit")
            # decode one latent frame at a time (as the release does): same frames, far smaller activations
            ys, c0 = [], 0
            for j in range(x0.shape[2]):
                lat = x0[:, :, j : j + 1]
                if self.mode == "full":
                    ys.append((st.decoder.decode(lat)[0].transpose(0, 1).float() + 1) / 2)  # type: ignore[operator]
                    continue
                n = 1 if plan.index == 0 and j == 0 else 4  # the stream's first decoder call takes one frame
                cond = (hr_out[c0 : c0 + n] * 2 - 1).to(self.dtype).transpose(0, 1)[None]
                ys.append(st.decoder.decode(lat.transpose(1, 2), cond)[0].float())  # type: ignore[operator]
                c0 += n
            y = torch.cat(ys, dim=0)
            self._tick("decoder")
        return y

    def _tick(self, name: str | None) -> None:
        if self.timings is None:
            return
        import time

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        if name is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self._t_last
            if self.device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(self.device)
                self.peak_bytes[name] = max(self.peak_bytes.get(name, 0), peak)
                torch.cuda.reset_peak_memory_stats(self.device)
        self._t_last = now

    # --- VSRModel ---
    def push(self, frames: Tensor) -> list[Tensor]:
        if frames.shape[0] == 0:
            return []
        if self._geom is None:
            self._setup(*frames.shape[-2:])
        elif tuple(frames.shape[-2:]) != self._geom[:2]:
            raise UserFacingError(f"frame size changed mid-stream: {tuple(frames.shape[-2:])} vs {self._geom[:2]}")
        frames = frames.float().cpu()
        if (
            self.compat == "official"
            and self._expected is not None
            and self._stream.received + len(frames) > self._expected
        ):
            raise UserFacingError(f"more frames than the {self._expected} announced (expect_frames)")
        self._stream.append(frames)
        outs = []
        while self._stream.ready():
            outs.append(self._advance())
        return outs

    def flush(self) -> list[Tensor]:
        outs: list[Tensor] = []
        if not self._stream.started:
            return outs
        while self._stream.pending():
            self._stream.pad_end()  # the end of the video: its last frame repeated
            outs.append(self._advance())
        return outs

    def _advance(self) -> Tensor:
        """Run the stream's next step; the output frames it still owes."""
        plan = step_plan(self._stream.step)
        return self._stream.complete(plan, self._run_step(plan))

    def buffered_frames(self) -> int:
        """LR frames currently held (bounded by 25 + the last pushed chunk)."""
        return self._stream.buffered()
