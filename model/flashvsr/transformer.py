"""The FlashVSR DiT: Wan2.1-style diffusion transformer with block-sparse, locality-constrained self-attention,
a sliding KV cache for streaming, and cross-attention to a fixed prompt context.

Module and parameter names reproduce the official state dict (`diffusion_pytorch_model_streaming_dmd.safetensors`,
the Wan2.1-T2V-1.3B key set): `patch_embedding`, `text_embedding.{0,2}`, `time_embedding.{0,2}`,
`time_projection.1`, `blocks.N.{modulation, self_attn.{q,k,v,o,norm_q,norm_k}, cross_attn.{...}, norm3, ffn.{0,2}}`,
`head.{head, modulation}`. No buffers are saved (RoPE angles are computed from positions, for any frame index).

Shapes: latents (B, C, F, H, W) with C = 16 latent channels and H, W the latent size (pixels / 8); tokens
(B, N, dim) in raster order over the patch grid (f, h, w) = (F, H/2, W/2), N = f*h*w.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from model.flashvsr import attention as A
from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.dit_inputs import AttentionSettings, KVCache, rope_angles  # callers import them from here too


# ----------------------------------------------------------------------------------------------------------------
# small pieces
# ----------------------------------------------------------------------------------------------------------------
def sinusoidal_embedding(dim: int, position: Tensor) -> Tensor:
    """Timestep embedding (T,) -> (T, dim): [cos | sin] of position * 10000^(-i/(dim/2)), in float64."""
    half = dim // 2
    freqs = torch.pow(10000.0, -torch.arange(half, dtype=torch.float64, device=position.device).div(half))
    angles = torch.outer(position.to(torch.float64), freqs)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


def apply_rope(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate interleaved pairs (x[2i], x[2i+1]) of x (B, N, H, D) by angles (N, D/2).

    The rotation runs in float32 (float64 for float64 input); upstream multiplies complex128 numbers, which
    differs from this by float32 rounding only (far below bf16 resolution)."""
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    cos = torch.cos(angles).to(work)[None, :, None, :]
    sin = torch.sin(angles).to(work)[None, :, None, :]
    xf = x.to(work).unflatten(-1, (-1, 2))
    x0, x1 = xf[..., 0], xf[..., 1]
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
    return out.flatten(-2).to(x.dtype)


class RMSNorm(nn.Module):
    """RMS normalisation over the last dim, computed in float32, then scaled by `weight`."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def _heads(x: Tensor, n: int) -> Tensor:
    return x.unflatten(-1, (n, -1))  # (B, N, dim) -> (B, N, H, D)


# ----------------------------------------------------------------------------------------------------------------
# attention layers
# ----------------------------------------------------------------------------------------------------------------
class SelfAttention(nn.Module):
    """Block-sparse self-attention with QK-RMSNorm, 3D RoPE and an optional streaming KV cache.

    x: (B, N, dim) raster tokens of the grid (f, h, w); returns (B, N, dim).
    """

    def __init__(self, dim: int, num_heads: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.norm_q = RMSNorm(dim, eps=eps)
        self.norm_k = RMSNorm(dim, eps=eps)

    def forward(
        self,
        x: Tensor,
        grid: tuple[int, int, int],
        angles: Tensor,
        settings: AttentionSettings,
        topk: int | None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> Tensor:
        b, n, dim = x.shape
        q = apply_rope(_heads(self.norm_q(self.q(x)), self.num_heads), angles)
        k = apply_rope(_heads(self.norm_k(self.k(x)), self.num_heads), angles)
        v = _heads(self.v(x), self.num_heads)
        qb, kb, vb = (A.window_partition(t, grid) for t in (q, k, v))
        if cache is not None:
            pk, pv = cache.get(layer)
            if pk is not None and pv is not None:
                kb, vb = torch.cat([pk, kb], dim=2), torch.cat([pv, vb], dim=2)
        chunk_mask = None
        if settings.causal_window is not None:
            if kb.shape[2] != qb.shape[2]:
                raise ValueError("causal_window is for whole-clip attention; streaming is causal through the cache")
            chunk_mask = A.chunk_causal_mask(grid[0] // A.BLOCK[0], settings.causal_window, device=x.device)
        mask = A.flashvsr_block_mask(
            qb,
            kb,
            grid,
            topk=topk,
            local_range=settings.local_range,
            boundary=settings.boundary,
            chunk_mask=chunk_mask,
        )
        out = A.block_sparse_attention(qb, kb, vb, mask, backend=settings.backend)
        if cache is not None:
            _, h, w = grid
            cache.put(layer, kb, vb, chunk_tokens=A.BLOCK[0] * h * w)
        return self.o(A.window_reverse(out, grid).reshape(b, n, dim))


class CrossAttention(nn.Module):
    """Cross-attention to the (embedded) prompt context; its keys/values can be computed once and reused.

    x: (B, N, dim), context (B, S, dim) or precomputed (k, v) each (B, H, S, D); returns (B, N, dim).
    """

    def __init__(self, dim: int, num_heads: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.norm_q = RMSNorm(dim, eps=eps)
        self.norm_k = RMSNorm(dim, eps=eps)

    def context_kv(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Embedded context (B, S, dim) -> keys, values (B, H, S, D)."""
        k = _heads(self.norm_k(self.k(context)), self.num_heads).transpose(1, 2)
        v = _heads(self.v(context), self.num_heads).transpose(1, 2)
        return k, v

    def forward(self, x: Tensor, context: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        k, v = self.context_kv(context) if isinstance(context, Tensor) else context
        q = _heads(self.norm_q(self.q(x)), self.num_heads).transpose(1, 2)
        out = A.dense_attention(q, k.to(q.dtype), v.to(q.dtype))
        return self.o(out.transpose(1, 2).flatten(2))


class DiTBlock(nn.Module):
    """adaLN-modulated block: sparse self-attention, cross-attention to the prompt, GELU(tanh) FFN.

    x: (B, N, dim); t_mod: (B, 6, dim) timestep modulation; returns (B, N, dim).
    """

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.self_attn = SelfAttention(dim, num_heads, eps)
        self.cross_attn = CrossAttention(dim, num_heads, eps)
        self.norm1 = nn.LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.norm3 = nn.LayerNorm(dim, eps=eps)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(ffn_dim, dim))
        self.modulation = nn.Parameter(torch.randn(1, 6, dim) / dim**0.5)

    def forward(
        self,
        x: Tensor,
        context: Tensor | tuple[Tensor, Tensor],
        t_mod: Tensor,
        grid: tuple[int, int, int],
        angles: Tensor,
        settings: AttentionSettings,
        topk: int | None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> Tensor:
        mods = (self.modulation.to(t_mod.dtype) + t_mod).chunk(6, dim=1)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mods
        y = self.self_attn(self.norm1(x) * (1 + scale_msa) + shift_msa, grid, angles, settings, topk, cache, layer)
        x = x + gate_msa * y
        x = x + self.cross_attn(self.norm3(x), context)
        return x + gate_mlp * self.ffn(self.norm2(x) * (1 + scale_mlp) + shift_mlp)


class Head(nn.Module):
    """Output head: modulated LayerNorm + Linear to out_dim * prod(patch). x (B, N, dim), t (B, dim)."""

    def __init__(self, dim: int, out_dim: int, patch_size: tuple[int, int, int], eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.head = nn.Linear(dim, out_dim * math.prod(patch_size))
        self.modulation = nn.Parameter(torch.randn(1, 2, dim) / dim**0.5)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        shift, scale = (self.modulation.to(t.dtype) + t[:, None, :]).chunk(2, dim=1)
        return self.head(self.norm(x) * (1 + scale) + shift)


# ----------------------------------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------------------------------
class WanDiT(nn.Module):
    """FlashVSR's DiT (Wan2.1 T2V layout, no image branch).

    forward(x (B, C_in, F, H, W) latents) -> (B, C_out, F, H, W) flow-matching velocity. The one-step FlashVSR
    prediction is x0 = noise - v at timestep 1000 (`predict_x0`).
    """

    def __init__(self, cfg: FlashVSRConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.dim
        self.patch_size = tuple(cfg.patch_size)
        self.patch_embedding = nn.Conv3d(cfg.in_dim, dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.text_embedding = nn.Sequential(
            nn.Linear(cfg.text_dim, dim), nn.GELU(approximate="tanh"), nn.Linear(dim, dim)
        )
        self.time_embedding = nn.Sequential(nn.Linear(cfg.freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim * 6))
        self.blocks = nn.ModuleList(
            [DiTBlock(dim, cfg.num_heads, cfg.ffn_dim, cfg.eps) for _ in range(cfg.num_layers)]
        )
        self.head = Head(dim, cfg.out_dim, cfg.patch_size, cfg.eps)
        self.gradient_checkpointing = False

    # --- conditioning ---
    def time_embed(self, timestep: Tensor | float, batch: int = 1) -> tuple[Tensor, Tensor]:
        """t (B, dim) and t_mod (B, 6, dim) for a timestep (scalar or (B,))."""
        p = self.patch_embedding.weight
        ts = torch.as_tensor(timestep, device=p.device).reshape(-1)
        if ts.numel() == 1:
            ts = ts.expand(batch)
        t = self.time_embedding(sinusoidal_embedding(self.cfg.freq_dim, ts).to(p.dtype))
        return t, self.time_projection(t).unflatten(1, (6, self.cfg.dim))

    def encode_context(self, context: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Prompt context (B, S, text_dim), e.g. the released `posi_prompt.pth` (1, 512, 4096) -> per-block
        cross-attention (keys, values), each (B, heads, S, head_dim). Compute once, pass as `context=`."""
        ctx = self.text_embedding(context.to(self.patch_embedding.weight.dtype))
        return [blk.cross_attn.context_kv(ctx) for blk in self.blocks]

    # --- layout ---
    def patchify(self, x: Tensor) -> tuple[Tensor, tuple[int, int, int]]:
        """(B, C, F, H, W) -> tokens (B, N, dim), grid (f, h, w)."""
        x = self.patch_embedding(x)
        grid = tuple(x.shape[2:])
        return x.flatten(2).transpose(1, 2), grid  # type: ignore[return-value]

    def unpatchify(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """Tokens (B, N, prod(patch)*C_out) -> (B, C_out, F, H, W)."""
        f, h, w = grid
        pf, ph, pw = self.patch_size
        x = x.reshape(x.shape[0], f, h, w, pf, ph, pw, -1)
        x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)
        return x.reshape(x.shape[0], -1, f * pf, h * ph, w * pw)

    def forward(
        self,
        x: Tensor,
        context: Tensor | list[tuple[Tensor, Tensor]],
        *,
        timestep: Tensor | float = 1000.0,
        lq: list[Tensor] | Tensor | None = None,
        cache: KVCache | None = None,
        frame_offset: int = 0,
        attention: AttentionSettings | None = None,
    ) -> Tensor:
        """Velocity for latents x (B, C_in, F, H, W) -> (B, C_out, F, H, W).

        context: prompt context (B, S, text_dim) or `encode_context(...)`'s per-block keys/values.
        lq: LQ-projection tokens (B, N, dim), one tensor per leading block (added before that block).
        cache: streaming KV cache (updated in place); frame_offset: temporal RoPE index of x's first frame.
        F must be a multiple of 2 and the token grid (F, H/2, W/2) of (2, 8, 8) blocks.
        """
        settings = attention or AttentionSettings.from_config(self.cfg)
        if settings.backend == "fast":  # GPU fast path (model/flashvsr/fast_dit.py), same function
            from model.flashvsr.fast_dit import fast_forward

            return fast_forward(self, x, context, timestep=timestep, lq=lq, cache=cache, frame_offset=frame_offset,  # type: ignore[arg-type]
                                attention=settings)  # fmt: skip
        b = x.shape[0]
        t, t_mod = self.time_embed(timestep, b)
        tokens, grid = self.patchify(x)
        angles = rope_angles(grid, self.cfg.rope_dims, frame_offset, self.cfg.rope_theta, device=x.device)
        topk = settings.topk(grid, self.patch_size)
        if isinstance(context, Tensor):
            context = self.encode_context(context)
        if isinstance(lq, Tensor):
            lq = [lq]
        for i, block in enumerate(self.blocks):
            if lq is not None and i < len(lq):
                tokens = tokens + lq[i]
            args = (tokens, context[i], t_mod, grid, angles, settings, topk, cache, i)
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                tokens = torch.utils.checkpoint.checkpoint(block, *args, use_reentrant=False)
            else:
                tokens = block(*args)
        return self.unpatchify(self.head(tokens, t), grid)

    def predict_x0(self, noise: Tensor, context: Tensor | list[tuple[Tensor, Tensor]], **kwargs: object) -> Tensor:
        """One-step FlashVSR: x0 = noise - v(noise, t=1000). Same keyword arguments as `forward`."""
        return noise - self(noise, context, timestep=1000.0, **kwargs)  # type: ignore[arg-type]
