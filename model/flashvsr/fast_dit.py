"""GPU fast path of the FlashVSR DiT (inference, streaming): the same function as `WanDiT.forward`, restructured.

What changes against the module path (`transformer.py`), all without changing the arithmetic's definition:
- each DiT block is one `torch.compile`d function of plain tensors (the block's weights are arguments, so the 30
  blocks share one compiled graph per token shape): LayerNorm + modulation, q/k/v projections, QK-RMSNorm (float32
  statistics) and RoPE (float32, cos/sin computed once per call instead of per layer), the window partition, the
  KV-cache append, the official block selection (`attention.flashvsr_block_mask`, reused as is: pooled scores,
  locality window, softmax, top-k) and its FlexAttention `BlockMask`, the block-sparse FlexAttention kernel itself
  (selected tiles only), cross-attention and the FFN are traced into one graph and fused by Inductor;
- the KV cache keeps `KVCache`'s layout and official eviction.

Off the GPU (or with `compile=False`) the same block function runs eagerly and attention goes through the
reference backend, so CPU tests compare this restructuring with the module path (`tests/model/test_fast_dit.py`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr import attention as A
from model.flashvsr.transformer import AttentionSettings, KVCache, WanDiT, rope_angles


# Tuned on an H100 (model.bench --ceilings); None = FlexAttention's defaults.
FLEX_KERNEL_OPTIONS: dict[str, Any] | None = None
_COMPILED: dict[str, Any] = {}


def _rms(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """RMSNorm as `transformer.RMSNorm`: float32 statistics, result in x's dtype times the weight."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)).to(x.dtype) * weight


def _rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """`transformer.apply_rope` with precomputed float32 cos/sin (N, D/2): x (B, N, H, D)."""
    xf = x.float().unflatten(-1, (-1, 2))
    x0, x1 = xf[..., 0], xf[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2).to(x.dtype)


def _attend(qb: Tensor, kb: Tensor, vb: Tensor, grid: tuple[int, int, int], topk: int | None,
            local_range: int | None, boundary: str, flex: bool) -> Tensor:  # fmt: skip
    mask = A.flashvsr_block_mask(qb, kb, grid, topk=topk, local_range=local_range, boundary=boundary)  # type: ignore[arg-type]
    if not flex:
        return A.block_sparse_attention(qb, kb, vb, mask, backend="reference")
    from torch.nn.attention.flex_attention import flex_attention

    bm = A.flex_block_mask(mask, element_mask=False)
    return flex_attention(qb, kb, vb, block_mask=bm, kernel_options=FLEX_KERNEL_OPTIONS)  # type: ignore[return-value]


def block_forward(
    x: Tensor,
    e: Tensor,
    w: tuple[Tensor, ...],
    ctx_k: Tensor,
    ctx_v: Tensor,
    cos: Tensor,
    sin: Tensor,
    k_cache: Tensor | None,
    v_cache: Tensor | None,
    grid: tuple[int, int, int],
    heads: int,
    eps: float,
    topk: int | None,
    local_range: int | None,
    boundary: str,
    flex: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """One DiT block on raster tokens x (B, N, dim) -> (x', keys, values), keys/values block-ordered
    (B, heads, N_cache + N, D) for the cache. e: (B, 6, dim) = block modulation + timestep modulation;
    w: the block's weights in `block_weights` order."""
    (qw, qb_, kw, kb_, vw, vb_, ow, ob, gq, gk, cqw, cqb, cow, cob, cgq, n3w, n3b, f0w, f0b, f2w, f2b) = w
    b, n, dim = x.shape
    shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = e.chunk(6, dim=1)
    h = F.layer_norm(x, (dim,), eps=eps) * (1 + scale_msa) + shift_msa
    q = _rope(_rms(F.linear(h, qw, qb_), gq, eps).unflatten(-1, (heads, -1)), cos, sin)
    k = _rope(_rms(F.linear(h, kw, kb_), gk, eps).unflatten(-1, (heads, -1)), cos, sin)
    v = F.linear(h, vw, vb_).unflatten(-1, (heads, -1))
    qb, kb, vb = (A.window_partition(t, grid) for t in (q, k, v))
    if k_cache is not None and v_cache is not None:
        kb, vb = torch.cat([k_cache, kb], dim=2), torch.cat([v_cache, vb], dim=2)
    out = _attend(qb, kb, vb, grid, topk, local_range, boundary, flex)
    x = x + gate_msa * F.linear(A.window_reverse(out, grid).reshape(b, n, dim), ow, ob)
    # cross-attention to the precomputed context keys/values
    h = F.layer_norm(x, (dim,), n3w, n3b, eps)
    cq = _rms(F.linear(h, cqw, cqb), cgq, eps).unflatten(-1, (heads, -1)).transpose(1, 2)
    co = F.scaled_dot_product_attention(cq, ctx_k.to(cq.dtype), ctx_v.to(cq.dtype))
    x = x + F.linear(co.transpose(1, 2).flatten(2), cow, cob)
    h = F.layer_norm(x, (dim,), eps=eps) * (1 + scale_mlp) + shift_mlp
    x = x + gate_mlp * F.linear(F.gelu(F.linear(h, f0w, f0b), approximate="tanh"), f2w, f2b)
    return x, kb, vb


def block_weights(block: torch.nn.Module) -> tuple[Tensor, ...]:
    """A DiTBlock's tensors in `block_forward`'s order."""
    sa, ca, ffn = block.self_attn, block.cross_attn, block.ffn  # type: ignore[union-attr]
    return (sa.q.weight, sa.q.bias, sa.k.weight, sa.k.bias, sa.v.weight, sa.v.bias, sa.o.weight, sa.o.bias,
            sa.norm_q.weight, sa.norm_k.weight, ca.q.weight, ca.q.bias, ca.o.weight, ca.o.bias, ca.norm_q.weight,
            block.norm3.weight, block.norm3.bias, ffn[0].weight, ffn[0].bias, ffn[2].weight, ffn[2].bias)  # type: ignore[union-attr]  # fmt: skip


def _block_fn(compiled: bool):  # noqa: ANN202
    if not compiled:
        return block_forward
    if "block" not in _COMPILED:
        import torch._dynamo.config as dc

        dc.recompile_limit = max(dc.recompile_limit, 64)  # one graph per (token shape, cache present)
        _COMPILED["block"] = torch.compile(block_forward, dynamic=False)
    return _COMPILED["block"]


def fast_forward(
    dit: WanDiT,
    x: Tensor,
    context: list[tuple[Tensor, Tensor]],
    *,
    timestep: Tensor | float = 1000.0,
    lq: list[Tensor] | Tensor | None = None,
    cache: KVCache | None = None,
    frame_offset: int = 0,
    attention: AttentionSettings | None = None,
    compile: bool | None = None,
) -> Tensor:
    """`WanDiT.forward` (inference only; context given as `encode_context` keys/values) through `block_forward`.

    compile: None = on CUDA (torch.compile'd blocks, FlexAttention), off elsewhere (eager, reference attention).
    """
    if torch.is_grad_enabled() and any(p.requires_grad for p in dit.parameters()):
        raise ValueError("the fast DiT path is for inference: run it under torch.no_grad()")
    if isinstance(context, Tensor):
        context = dit.encode_context(context)
    settings = attention or AttentionSettings.from_config(dit.cfg)
    if settings.causal_window is not None:
        raise ValueError("the fast DiT path streams through the KV cache; causal_window is for whole clips")
    compiled = x.is_cuda if compile is None else compile
    fn = _block_fn(compiled)
    cfg = dit.cfg
    b = x.shape[0]
    t, t_mod = dit.time_embed(timestep, b)
    tokens, grid = dit.patchify(x)
    angles = rope_angles(grid, cfg.rope_dims, frame_offset, cfg.rope_theta, device=x.device)
    cos, sin = torch.cos(angles).float(), torch.sin(angles).float()
    topk = settings.topk(grid, dit.patch_size)
    if isinstance(lq, Tensor):
        lq = [lq]
    chunk_tokens = A.BLOCK[0] * grid[1] * grid[2]
    for i, block in enumerate(dit.blocks):
        if lq is not None and i < len(lq):
            tokens = tokens + lq[i]
        e = block.modulation.to(t_mod.dtype) + t_mod
        kc, vc = cache.get(i) if cache is not None else (None, None)
        ck, cv = context[i]
        tokens, kb, vb = fn(tokens, e, block_weights(block), ck, cv, cos, sin, kc, vc, grid, cfg.num_heads, cfg.eps,
                            topk, settings.local_range, settings.boundary, compiled)  # fmt: skip
        if cache is not None:
            cache.put(i, kb, vb, chunk_tokens=chunk_tokens)
    return dit.unpatchify(dit.head(tokens, t), grid)
