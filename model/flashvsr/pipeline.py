"""FlashVSR as a streaming upscaler (VSRModel): LQ projection -> one-step sparse-causal DiT -> decoder -> colour fix.

Frame indexing follows the released pipelines (reference/flashvsr.md §2.3, §2.6), per step of the stream:

| step  | LR frames fed to the LQ projection | latents (RoPE frames)   | decoded / output frames |
|-------|------------------------------------|-------------------------|-------------------------|
| 0     | 0 .. 24                            | 6 (0 .. 5)              | 0 .. 20                 |
| i >= 1| 8i+17 .. 8i+24                     | 2 (4+2i, 5+2i)          | 8i+13 .. 8i+20          |

so output frame j needs LR frames up to j + 4 (the model's lookahead). Unlike the release, nothing is cropped or
trimmed: LR frames are bicubic-upsampled by `scale`, reflect-padded (replicate where the frame is too small) to the
model's multiple of 128 px, and cropped back; the end of the video is padded by repeating its last frame and the
surplus output dropped, so the output has exactly the input's frame count (a 1-frame clip works). RoPE positions are
computed, not looked up, so any length works. Noise for step i (and tile k) is drawn from a generator seeded by
(seed, i, k): output does not depend on how the input was chunked.

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

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from model.base import VSRModel
from model.flashvsr.colorfix import ColorFix, color_fix
from model.flashvsr.config import MODEL_PRESETS, FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.memory import MemoryPlan, default_budget, plan_memory
from model.flashvsr.official import (
    OfficialGeometry,
    official_geometry,
    official_noise,
    official_output_frames,
    pil_upscale_crop,
)
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import AttentionSettings, KVCache, WanDiT
from model.flashvsr.vae import WanVAEDecoder
from vsrcore.device import default_device
from vsrcore.errors import MissingWeights, UserFacingError


FIRST_IN, FIRST_OUT, STEP = 25, 21, 8  # LR frames / output frames of step 0; frames per later step
LOOKAHEAD = FIRST_IN - FIRST_OUT
MODES = ("tiny", "tiny-long", "full")
COMPAT = ("default", "official")
# Attributes holding per-stream state in the submodules (swapped per tile).
_STATE_ATTRS = ("_cache", "_cache1", "_cache2", "_started", "_mem")


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


class _TileState:
    def __init__(self) -> None:
        self.modules: dict[str, dict[str, Any]] = {}
        self.cache: KVCache | None = None


class FlashVSRModel(VSRModel):
    """FlashVSR streaming upscaler; see the module docstring. Build with `build_flashvsr` (weights, presets)."""

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
        if mode not in MODES:
            raise UserFacingError(f"unknown mode '{mode}' (choose from {', '.join(MODES)})")
        if compat not in COMPAT:
            raise UserFacingError(f"unknown compat '{compat}' (choose from {', '.join(COMPAT)})")
        if compat == "official" and tile:
            raise UserFacingError("--compat official runs untiled, as the release does; drop --tile")
        if scale < 1:
            raise UserFacingError(f"scale must be a positive integer, got {scale}")
        self.cfg, self.scale, self.mode, self.name = cfg, int(scale), mode, name
        self.device, self.dtype = torch.device(device), dtype
        self.random_weights = random_weights
        self.multiple = 8 * cfg.patch_size[1] * cfg.attn_block[1]  # VAE x patch x attention block = 128 px
        self.dit = WanDiT(cfg)
        self.lq_proj = LQProjection.from_config(cfg)
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
        self._staging: Tensor | None = None  # pinned host buffer of the device -> host output copy
        self.reset()

    # --- module handling ---
    def modules(self) -> dict[str, nn.Module]:
        """The weight-bearing parts: dit, lq_proj and the mode's decoder (tcdecoder or vae_decoder)."""
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
                self._context_kv = self.dit.encode_context(ctx)
        return self._context_kv

    # --- streaming state ---
    def reset(self) -> None:
        self._buf: Tensor | None = None  # LR frames not yet consumed, starting at global index self._buf_start
        self._buf_start = 0
        self._received = 0
        self._step = 0
        self._emitted = 0
        self._tiles: list[Tile] | None = None
        self._states: list[_TileState] = []
        self._geom: tuple[int, int, int, int] | None = None  # (h, w, padded H, padded W)
        self._out_hw: tuple[int, int] = (0, 0)  # output frame size
        self._official: OfficialGeometry | None = None
        if self.compat == "official":
            self._clip_noise = None  # drawn again for each stream (its length depends on the clip's)

    def expect_frames(self, n: int) -> None:
        """The next stream's total LR frame count; needed by compat "official" (the release's frame rule)."""
        self._expected = int(n)
        if self.compat == "official":
            official_output_frames(self._expected)  # a too-short clip fails here, before any work

    def set_clip_noise(self, noise: Tensor) -> None:
        """Use one whole-clip latent noise tensor (1, C, T, H/8, W/8) instead of per-step seeded noise: step 0 reads
        latent frames 0..5, step i >= 1 frames 4 + 2i and 5 + 2i (the release's layout). Untiled runs only."""
        if noise.ndim != 5 or noise.shape[:2] != (1, self.cfg.in_dim):
            raise ValueError(f"clip noise must be (1, {self.cfg.in_dim}, T, H/8, W/8), got {tuple(noise.shape)}")
        self._clip_noise = noise

    def _target_frames(self) -> int:
        """How many output frames this stream has (so far): the input's, or the release's rule in compat mode."""
        if self.compat == "official":
            assert self._expected is not None
            return official_output_frames(self._expected)
        return self._received

    def _save(self, st: _TileState) -> None:
        for name, m in [*self.lq_proj.named_modules(prefix="lq"), *self.decoder.named_modules(prefix="dec")]:
            st.modules[name] = {a: getattr(m, a) for a in _STATE_ATTRS if a in m.__dict__}

    def _load(self, st: _TileState) -> None:
        if not st.modules:
            self.lq_proj.reset()
            self.decoder.reset()  # type: ignore[operator]
            return
        for name, m in [*self.lq_proj.named_modules(prefix="lq"), *self.decoder.named_modules(prefix="dec")]:
            for a, v in st.modules.get(name, {}).items():
                setattr(m, a, v)

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
            if self._clip_noise is None:
                n_out = official_output_frames(self._expected)
                self._clip_noise = official_noise(self.cfg.in_dim, n_out, hp, wp, self.seed, self.device, self.dtype)
        self._geom = (h, w, hp, wp)
        self.plan = self.memory_plan(h, w)
        self._tiles = plan_tiles(hp, wp, self.plan.tile, self.tile_overlap, self.multiple)
        self._states = [_TileState() for _ in self._tiles]

    def _hr(self, lr: Tensor) -> Tensor:
        """LR frames (t, C, h, w) -> padded HR canvas (t, C, Hp, Wp) in [0, 1] (float32, on device)."""
        assert self._geom is not None
        if self._official is not None:
            return pil_upscale_crop(lr, self._official).to(self.device)
        up = upsample_lr(lr.to(self.device), self.scale)
        return pad_to_multiple(up, self.multiple)

    def _frames(self, start: int, end: int) -> Tensor:
        assert self._buf is not None
        return self._buf[start - self._buf_start : end - self._buf_start]

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
    def _run_step(self) -> Tensor:
        """Run step self._step on the buffered frames; returns output frames (t, C, h*s, w*s) on the CPU."""
        i = self._step
        if i == 0:
            lq_range, out_range, n_lat, offset = (0, FIRST_IN), (0, FIRST_OUT), 6, 0
        else:
            a = STEP * i + FIRST_IN - STEP
            lq_range, out_range, n_lat, offset = (a, a + STEP), (a - LOOKAHEAD, a + STEP - LOOKAHEAD), 2, 4 + 2 * i
        assert self._geom is not None and self._tiles is not None
        h, w, hp, wp = self._geom
        first = min(lq_range[0], out_range[0])  # one upsampling for both (they overlap)
        self._tick(None)
        hr = self._hr(self._frames(first, max(lq_range[1], out_range[1])))  # (t, C, Hp, Wp) [0, 1]
        self._tick("upsample")
        hr_lq = hr[lq_range[0] - first : lq_range[1] - first]
        hr_out = hr[out_range[0] - first : out_range[1] - first]
        n_out = out_range[1] - out_range[0]
        if len(self._tiles) == 1:
            out = self._run_tile(0, hr_lq, hr_out, n_lat, offset)
        else:
            out = torch.zeros(n_out, 3, hp, wp, device=self.device)
            weight = torch.zeros(1, 1, hp, wp, device=self.device)
            ov = self.tile_overlap // self.multiple * self.multiple
            for k, t in enumerate(self._tiles):
                sl = (slice(None), slice(None), slice(t.y0, t.y1), slice(t.x0, t.x1))
                y = self._run_tile(k, hr_lq[sl], hr_out[sl], n_lat, offset)
                wy = _ramp(t.y1 - t.y0, t.y0 > 0, t.y1 < hp, ov)
                wx = _ramp(t.x1 - t.x0, t.x0 > 0, t.x1 < wp, ov)
                wt = (wy[:, None] * wx[None, :]).to(self.device)
                out[sl] += y * wt
                weight[sl] += wt
            out = out / weight
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
        self._step += 1
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

    def _run_tile(self, k: int, hr_lq: Tensor, hr_out: Tensor, n_lat: int, offset: int) -> Tensor:
        st = self._states[k]
        self._load(st)
        if st.cache is None:
            st.cache = KVCache.from_ratio(self.kv_ratio)
        th, tw = hr_lq.shape[-2:]
        with torch.no_grad():
            clip = (hr_lq * 2 - 1).to(self.dtype).transpose(0, 1)[None]  # (1, C, t, H, W) in [-1, 1]
            self._tick(None)
            lq = self.lq_proj.step(clip)
            assert lq is not None
            noise = self._noise(self._step, k, n_lat, th // 8, tw // 8)
            self._tick("lq_proj")
            x0 = self.dit.predict_x0(
                noise, self._context(), lq=lq, cache=st.cache, frame_offset=offset, attention=self.settings
            )
            self._tick("dit")
            # decode one latent frame at a time (as the release does): same frames, far smaller activations
            ys, c0 = [], 0
            for j in range(x0.shape[2]):
                lat = x0[:, :, j : j + 1]
                if self.mode == "full":
                    ys.append((self.decoder.decode(lat)[0].transpose(0, 1).float() + 1) / 2)  # type: ignore[operator]
                    continue
                n = 1 if c0 == 0 and not self.decoder._started else 4  # type: ignore[union-attr]
                cond = (hr_out[c0 : c0 + n] * 2 - 1).to(self.dtype).transpose(0, 1)[None]
                ys.append(self.decoder.decode(lat.transpose(1, 2), cond)[0].float())  # type: ignore[operator]
                c0 += n
            y = torch.cat(ys, dim=0)
            self._tick("decoder")
        self._save(st)
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
    def _needed(self) -> int:
        """LR frames (global count) step self._step consumes."""
        return FIRST_IN + STEP * self._step

    def _out_start(self) -> int:
        """Global index of the first output frame of step self._step (0, then 8i + 13)."""
        return 0 if self._step == 0 else self._needed() - STEP - LOOKAHEAD

    def _emit(self, out: Tensor, start: int) -> Tensor:
        keep = min(out.shape[0], self._target_frames() - start)
        self._emitted = start + keep
        return out[: max(keep, 0)]

    def _drop_consumed(self) -> None:
        first_needed = self._out_start()  # the next step reads LR frames from its first output frame on
        if self._buf is not None and first_needed > self._buf_start:
            self._buf = self._buf[first_needed - self._buf_start :]
            self._buf_start = first_needed

    def push(self, frames: Tensor) -> list[Tensor]:
        if frames.shape[0] == 0:
            return []
        if self._geom is None:
            self._setup(*frames.shape[-2:])
        elif tuple(frames.shape[-2:]) != self._geom[:2]:
            raise UserFacingError(f"frame size changed mid-stream: {tuple(frames.shape[-2:])} vs {self._geom[:2]}")
        frames = frames.float().cpu()
        if self.compat == "official" and self._expected is not None and self._received + len(frames) > self._expected:
            raise UserFacingError(f"more frames than the {self._expected} announced (expect_frames)")
        self._buf = frames if self._buf is None else torch.cat([self._buf, frames])
        self._received += frames.shape[0]
        outs = []
        while self._buf_start + self._buf.shape[0] >= self._needed() and self._emitted < self._target_frames():
            start = self._out_start()
            outs.append(self._emit(self._run_step(), start))
            self._drop_consumed()
        return outs

    def flush(self) -> list[Tensor]:
        outs: list[Tensor] = []
        if self._buf is None or self._emitted >= self._target_frames():
            return outs
        last = self._buf[-1:]
        while self._emitted < self._target_frames():
            missing = self._needed() - (self._buf_start + self._buf.shape[0])
            if missing > 0:
                self._buf = torch.cat([self._buf, last.expand(missing, -1, -1, -1)])
            start = self._out_start()
            outs.append(self._emit(self._run_step(), start))
            self._drop_consumed()
        return outs

    def buffered_frames(self) -> int:
        """LR frames currently held (bounded by 25 + the last pushed chunk)."""
        return 0 if self._buf is None else self._buf.shape[0]


# ------------------------------------------------------------------------------------------------------------------
# construction: presets, weights
# ------------------------------------------------------------------------------------------------------------------
TINY_WEIGHTS_FILE = "flashvsr-tiny.safetensors"
BUNDLED_DIR = Path(__file__).parent / "bundled"  # the committed flashvsr-tiny weights and their model card


def _dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
             "fp32": torch.float32, "float32": torch.float32}  # fmt: skip
    if dtype not in table:
        raise UserFacingError(f"unknown dtype '{dtype}' (bf16, fp16, fp32)")
    return table[dtype]


def _random_context(cfg: FlashVSRConfig, seed: int) -> Tensor:
    """A seeded random prompt context (1, 16, text_dim), for models without released weights."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, 16, cfg.text_dim, generator=g)


def _tiny_weights(weights_dir: str | Path | None) -> Path | None:
    from vsrcore.weights import search_dirs

    for d in search_dirs(weights_dir):
        for p in (d / "flashvsr-tiny" / TINY_WEIGHTS_FILE, d / TINY_WEIGHTS_FILE):
            if p.is_file():
                return p
    bundled = BUNDLED_DIR / TINY_WEIGHTS_FILE
    return bundled if bundled.is_file() else None


def bundle_config(path: Path) -> FlashVSRConfig:
    """The FlashVSRConfig a bundle was trained with (its `model_config` metadata; without it, the flashvsr-tiny
    preset, as for bundles exported before the metadata existed)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # noqa: BLE001 - a broken file is reported in one line
        raise UserFacingError(f"{path}: not a readable safetensors bundle ({e})") from None
    if "model_config" not in meta:
        return FlashVSRConfig.from_name(MODEL_PRESETS["flashvsr-tiny"])
    try:
        return FlashVSRConfig.from_dict(json.loads(meta["model_config"]))
    except (TypeError, ValueError) as e:
        raise UserFacingError(f"{path}: bad model_config metadata ({e})") from None


def load_bundle_part(module: nn.Module, path: Path, part: str, state: dict[str, Tensor] | None = None,
                     hint: str = "") -> None:  # fmt: skip
    """Load a bundle's `<part>.` tensors into `module` (strict); a part the bundle lacks is a one-line error."""
    from model.flashvsr.weights import load_strict, read_state_dict

    state = read_state_dict(path) if state is None else state
    sub = {k[len(part) + 1 :]: v for k, v in state.items() if k.startswith(part + ".")}
    if not sub:
        raise UserFacingError(f"{path}: the bundle has no '{part}' weights{hint}")
    load_strict(module, sub, f"{path} [{part}]")


def load_bundle(model: FlashVSRModel, path: Path) -> None:
    """Load a single-file bundle (safetensors, keys `<part>.<key>` for the model's parts, plus `context`)."""
    from model.flashvsr.weights import read_state_dict

    state = read_state_dict(path)
    hint = (f" (mode '{model.mode}'); export one that has them (`flashvsr train --stage export` without "
            "--tiny-only) or use another mode")  # fmt: skip
    for part, module in model.modules().items():
        load_bundle_part(module, path, part, state, hint)
    if "context" not in state:
        raise UserFacingError(f"{path}: no 'context' tensor in the bundle")
    model.set_context(state["context"])


def build_flashvsr(
    preset: str = "flashvsr-v1.1",
    *,
    scale: int = 4,
    mode: str = "tiny",
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    weights_dir: str | Path | None = None,
    allow_random_weights: bool = False,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    **options: Any,
) -> FlashVSRModel:
    """A FlashVSR upscaler for a preset (`flashvsr-v1`, `flashvsr-v1.1`, `flashvsr-tiny`), with weights.

    Official presets load the released files strictly (MissingWeights names any absent file); `flashvsr-tiny` has
    no released weights and looks for `flashvsr-tiny/flashvsr-tiny.safetensors`. Without weights the build fails,
    unless `allow_random_weights=True`, which initialises randomly (seeded) and marks the model `random_weights`.
    `options`: sparse_ratio, kv_ratio, local_range, backend, tile, tile_overlap, color_fix.
    """
    if preset not in MODEL_PRESETS:
        raise UserFacingError(f"unknown FlashVSR preset '{preset}' ({', '.join(MODEL_PRESETS)})")
    tiny_path = _tiny_weights(weights_dir) if preset == "flashvsr-tiny" else None
    if tiny_path is not None:
        cfg = replace(bundle_config(tiny_path), **dict(overrides or {}))
    else:
        cfg = FlashVSRConfig.from_name(MODEL_PRESETS[preset], **dict(overrides or {}))
    dev = torch.device(default_device(device))
    # Built on the target device (fast init of the official sizes); parameters drawn from an isolated, seeded RNG.
    with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []), torch.device(dev):
        torch.manual_seed(seed)
        model = FlashVSRModel(cfg, scale=scale, mode=mode, device=dev, dtype=_dtype(dtype, dev), seed=seed,
                              name=preset, **options)  # fmt: skip
    if preset == "flashvsr-tiny":
        if tiny_path is not None:
            load_bundle(model, tiny_path)
            return model.to_device()
        missing = MissingWeights(
            preset,
            [f"flashvsr-tiny/{TINY_WEIGHTS_FILE}"],
            [str(d) for d in _search(weights_dir)],
            "nowhere yet (no trained flashvsr-tiny weights exist; train them with `flashvsr train`, or pass "
            "--allow-random-weights for a smoke test)",
        )
    else:
        from model.flashvsr.weights import MODE_PARTS, load_official, mode_files
        from vsrcore.weights import resolve_weights

        try:  # only the files this mode uses (tiny modes never read the Wan VAE)
            paths = resolve_weights(preset, weights_dir, files=mode_files(mode))
        except MissingWeights as e:
            missing = e
        else:
            parts = {p: m for p, m in model.modules().items() if p in MODE_PARTS[mode]}
            ctx = load_official(parts, paths, cfg.text_dim)
            assert ctx is not None
            model.set_context(ctx)
            return model.to_device()
    if not allow_random_weights:
        raise missing
    warnings.warn(
        f"{preset}: {missing}; using RANDOM weights (--allow-random-weights): output is not SR", stacklevel=2
    )
    model.random_weights = True
    model.set_context(_random_context(cfg, seed))
    return model.to_device()


def _search(weights_dir: str | Path | None) -> list[Path]:
    from vsrcore.weights import search_dirs

    return search_dirs(weights_dir)
