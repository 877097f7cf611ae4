"""Stage 1's DiT forward over *packed* rows: several clips and photos (1-frame videos) share one token sequence,
and a block-diagonal segment mask (FlashVSR Eq. 1) keeps attention inside each sample.

Rows are latents (B, C, F, h, w): each row's F latent frames are cut into contiguous segments (a clip's T frames or
a photo's single frame, or padding). Per frame: `segments` (B, F) int ids (-1 = padding), `positions` (B, F)
temporal RoPE index inside its segment, `timesteps` (B, F) (one per segment). The forward reuses the WanDiT's own
modules (weights shared with `WanDiT.forward`) with dense attention under the token-level segment mask, and
per-token adaLN modulation so every segment has its own timestep.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import Tensor

from model.flashvsr.transformer import WanDiT, rope_angles


@dataclass
class Packing:
    """Where each sample goes: `rows[r]` = list of (sample index, first frame) and the row length in frames."""

    rows: list[list[tuple[int, int]]]
    row_frames: int


def plan_packing(lengths: list[int], row_frames: int | None = None) -> Packing:
    """First-fit-decreasing packing of samples with `lengths` latent frames into rows of `row_frames` frames
    (default: the longest sample). Deterministic: ties keep the input order."""
    row_frames = row_frames or max(lengths)
    if max(lengths) > row_frames:
        raise ValueError(f"a sample of {max(lengths)} frames does not fit rows of {row_frames}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[tuple[int, int]]] = []
    fill: list[int] = []
    for i in order:
        for r, used in enumerate(fill):
            if used + lengths[i] <= row_frames:
                rows[r].append((i, used))
                fill[r] += lengths[i]
                break
        else:
            rows.append([(i, 0)])
            fill.append(lengths[i])
    return Packing(rows, row_frames)


def pack(samples: list[Tensor], packing: Packing, frame_dim: int = 1) -> Tensor:
    """Place per-sample tensors (each with its frames along `frame_dim`, other dims equal) into rows
    (B_rows, ..., row_frames along frame_dim + 1, ...); padding is zero."""
    ref = samples[0]
    shape = list(ref.shape)
    shape[frame_dim] = packing.row_frames
    out = ref.new_zeros(len(packing.rows), *shape)
    for r, row in enumerate(packing.rows):
        for i, start in row:
            n = samples[i].shape[frame_dim]
            out[r].narrow(frame_dim, start, n).copy_(samples[i])
    return out


def unpack(rows: Tensor, packing: Packing, lengths: list[int], frame_dim: int = 1) -> list[Tensor]:
    """Inverse of `pack`: rows (B_rows, ...) -> per-sample tensors."""
    out: list[Tensor | None] = [None] * len(lengths)
    for r, row in enumerate(packing.rows):
        for i, start in row:
            out[i] = rows[r].narrow(frame_dim, start, lengths[i])
    return out  # type: ignore[return-value]


def frame_layout(packing: Packing, lengths: list[int], values: list[float] | None = None) -> tuple[Tensor, ...]:
    """Per-frame (segments, positions, values) int/int/float tensors (B_rows, row_frames); padding id -1."""
    b, f = len(packing.rows), packing.row_frames
    seg = torch.full((b, f), -1, dtype=torch.long)
    pos = torch.zeros((b, f), dtype=torch.long)
    val = torch.zeros((b, f), dtype=torch.float32)
    for r, row in enumerate(packing.rows):
        for i, start in row:
            seg[r, start : start + lengths[i]] = i
            pos[r, start : start + lengths[i]] = torch.arange(lengths[i])
            val[r, start : start + lengths[i]] = 0.0 if values is None else values[i]
    return seg, pos, val


def segment_mask(segments: Tensor, tokens_per_frame: int) -> Tensor:
    """Token-level attention mask (B, 1, N, N) bool from per-frame segment ids (B, F); True = may attend."""
    tok = segments.repeat_interleave(tokens_per_frame, dim=1)
    return (tok[:, :, None] == tok[:, None, :])[:, None]


def _rope(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate pairs of x (B, N, H, D) by per-row angles (B, N, D/2) (as `transformer.apply_rope`)."""
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    cos = torch.cos(angles).to(work)[:, :, None, :]
    sin = torch.sin(angles).to(work)[:, :, None, :]
    xf = x.to(work).unflatten(-1, (-1, 2))
    x0, x1 = xf[..., 0], xf[..., 1]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2).to(x.dtype)


def _block(blk: torch.nn.Module, x: Tensor, ctx: tuple[Tensor, Tensor], mods: Tensor, angles: Tensor,
           mask: Tensor) -> Tensor:  # fmt: skip
    """One DiTBlock with dense masked self-attention and per-token modulation mods (B, N, 6, dim)."""
    shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = (
        blk.modulation.to(mods.dtype)[:, None] + mods
    ).unbind(2)
    sa = blk.self_attn
    h = blk.norm1(x) * (1 + scale_msa) + shift_msa
    q = _rope(sa.norm_q(sa.q(h)).unflatten(-1, (sa.num_heads, -1)), angles).transpose(1, 2)
    k = _rope(sa.norm_k(sa.k(h)).unflatten(-1, (sa.num_heads, -1)), angles).transpose(1, 2)
    v = sa.v(h).unflatten(-1, (sa.num_heads, -1)).transpose(1, 2)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    x = x + gate_msa * sa.o(y.transpose(1, 2).flatten(2))
    x = x + blk.cross_attn(blk.norm3(x), ctx)
    return x + gate_mlp * blk.ffn(blk.norm2(x) * (1 + scale_mlp) + shift_mlp)


def packed_forward(
    dit: WanDiT,
    x: Tensor,
    context: Tensor | list[tuple[Tensor, Tensor]],
    *,
    timesteps: Tensor,
    segments: Tensor,
    positions: Tensor,
    lq: list[Tensor] | Tensor | None = None,
) -> Tensor:
    """Velocity for packed latents x (B, C, F, h, w) -> (B, C, F, h, w); see the module docstring.

    context: (1 or B, S, text_dim) or `dit.encode_context(...)`; lq: LQ tokens (B, N, dim) per leading block,
    already packed like x (zeros on padding). Needs patch size 1 in time (as every Wan preset).
    """
    b = x.shape[0]
    if dit.patch_size[0] != 1:
        raise ValueError("packing needs a temporal patch size of 1")
    tokens, grid = dit.patchify(x)
    f, h, w = grid
    hw = h * w
    t, t_mod = dit.time_embed(timesteps.reshape(-1).to(x.device), b * f)
    t_tok = t.unflatten(0, (b, f)).repeat_interleave(hw, dim=1)  # (B, N, dim)
    mods = t_mod.unflatten(0, (b, f)).repeat_interleave(hw, dim=1)  # (B, N, 6, dim)
    table = rope_angles((int(positions.max()) + 1, h, w), dit.cfg.rope_dims, 0, dit.cfg.rope_theta, device=x.device)
    table = table.unflatten(0, (-1, hw))  # (P, hw, D/2)
    angles = table[positions.to(x.device)].flatten(1, 2)  # (B, N, D/2)
    mask = segment_mask(segments.to(x.device), hw)
    if isinstance(context, Tensor):
        context = dit.encode_context(context)
    ctx = [(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in context]
    if isinstance(lq, Tensor):
        lq = [lq]
    for i, blk in enumerate(dit.blocks):
        if lq is not None and i < len(lq):
            tokens = tokens + lq[i]
        args = (blk, tokens, ctx[i], mods, angles, mask)
        if dit.gradient_checkpointing and dit.training and torch.is_grad_enabled():
            tokens = torch.utils.checkpoint.checkpoint(_block, *args, use_reentrant=False)
        else:
            tokens = _block(*args)
    head = dit.head
    shift, scale = (head.modulation.to(t_tok.dtype)[:, None] + t_tok[:, :, None]).unbind(2)
    out = head.head(head.norm(tokens) * (1 + scale) + shift)
    return dit.unpatchify(out, grid)
