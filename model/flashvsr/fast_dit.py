"""GPU fast path of the FlashVSR DiT (inference, streaming): the same function as `WanDiT.forward`, restructured.

What changes against the module path (`transformer.py`), all without changing the arithmetic's definition:
- each DiT block is one `torch.compile`d function of plain tensors (the block's weights are arguments, so the 30
  blocks share one compiled graph per token shape): LayerNorm + modulation, q/k/v projections, QK-RMSNorm (float32
  statistics) and RoPE (float32, cos/sin computed once per call instead of per layer), the window partition, the
  KV-cache append, the official block selection (`attention.flashvsr_block_mask`, reused as is: pooled scores,
  locality window, softmax, top-k) and its FlexAttention `BlockMask`, the block-sparse FlexAttention kernel itself
  (selected tiles only), cross-attention and the FFN are traced into one graph and fused by Inductor;
- the KV cache is a ring of preallocated chunk slots (`RingCache`): no concatenation per layer, 3/4 of the memory;
  optionally 8-bit (`KVCache(bits=8)`: int8 with a float32 scale per head and token, half again).

Off the GPU (or with `compile=False`) the same block function runs eagerly and attention goes through the
reference backend, so CPU tests compare this restructuring with the module path (`tests/model/test_fast_dit.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from model.flashvsr import attention as A
from model.flashvsr.dit_inputs import AttentionSettings, KVCache, rope_angles


if TYPE_CHECKING:  # the module path imports this one to dispatch to it
    from model.flashvsr.transformer import WanDiT


# FlexAttention kernel options (model.bench --ceilings times candidates); None = its defaults.
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


def merge_partial_attention(parts: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Combine attention outputs over disjoint key sets: parts of (out (B, H, N, D), natural-log LSE (B, H, N)).

    out = sum_i out_i * exp(lse_i - m) / sum_i exp(lse_i - m), m = max_i lse_i; rows no part attends to stay 0."""
    lse = torch.stack([p[1].float() for p in parts])  # (P, B, H, N)
    m = lse.amax(dim=0)
    m_safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    w = torch.exp(lse - m_safe)  # exp(-inf) = 0 for empty rows of a part
    total = w.sum(dim=0)
    out = sum(p[0].float() * w[i][..., None] for i, p in enumerate(parts))
    out = out / torch.where(total > 0, total, torch.ones_like(total))[..., None]
    return out.to(parts[0][0].dtype)


def _attend(qb: Tensor, keys: list[tuple[Tensor, Tensor]], grid: tuple[int, int, int], topk: int | None,
            local_range: int | None, boundary: str, flex: bool) -> Tensor:  # fmt: skip
    """Block-sparse attention of block-ordered qb over the union of the key sets `keys` [(k, v), ...] with the
    official selection over all of them (it does not depend on the order of key blocks)."""
    _, h, w = grid
    bh, bw = h // A.BLOCK[1], w // A.BLOCK[2]
    local = None if local_range is None else A.local_window_mask(bh, bw, local_range, boundary, device=qb.device)  # type: ignore[arg-type]
    scores = torch.cat([A.pooled_block_scores(qb, k) for k, _ in keys], dim=-1)
    mask = A.select_blocks(scores, bh * bw, local, topk)
    if not flex:
        k, v = (torch.cat([kv[i] for kv in keys], dim=2) for i in (0, 1))
        return A.block_sparse_attention(qb, k, v, mask, backend="reference")
    from torch.nn.attention.flex_attention import AuxRequest, flex_attention

    if len(keys) == 1:
        bm = A.flex_block_mask(mask, element_mask=False)
        return flex_attention(qb, *keys[0], block_mask=bm, kernel_options=FLEX_KERNEL_OPTIONS)  # type: ignore[return-value]
    parts, start = [], 0
    for k, v in keys:
        nb = k.shape[2] // math.prod(A.BLOCK)
        bm = A.flex_block_mask(mask[..., start : start + nb].contiguous(), element_mask=False)
        start += nb
        out, aux = flex_attention(qb, k, v, block_mask=bm, kernel_options=FLEX_KERNEL_OPTIONS,
                                  return_aux=AuxRequest(lse=True))  # type: ignore[misc]  # fmt: skip
        parts.append((out, aux.lse))
    return merge_partial_attention(parts)


def block_forward(
    x: Tensor,
    e: Tensor,
    w: tuple[Tensor, ...],
    ctx_k: Tensor,
    ctx_v: Tensor,
    cos: Tensor,
    sin: Tensor,
    ring_k: Tensor | None,
    ring_v: Tensor | None,
    grid: tuple[int, int, int],
    heads: int,
    eps: float,
    topk: int | None,
    local_range: int | None,
    boundary: str,
    flex: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """One DiT block on raster tokens x (B, N, dim) -> (x', keys, values) of these tokens, block-ordered
    (B, heads, N, D), for the cache. ring_k/ring_v: the cached keys/values (B, heads, N_cache, D), any chunk order.
    e: (B, 6, dim) = block modulation + timestep modulation; w: the block's weights in `block_weights` order."""
    (qw, qb_, kw, kb_, vw, vb_, ow, ob, gq, gk, cqw, cqb, cow, cob, cgq, n3w, n3b, f0w, f0b, f2w, f2b) = w
    b, n, dim = x.shape
    shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = e.chunk(6, dim=1)
    h = F.layer_norm(x, (dim,), eps=eps) * (1 + scale_msa) + shift_msa
    q = _rope(_rms(F.linear(h, qw, qb_), gq, eps).unflatten(-1, (heads, -1)), cos, sin)
    k = _rope(_rms(F.linear(h, kw, kb_), gk, eps).unflatten(-1, (heads, -1)), cos, sin)
    v = F.linear(h, vw, vb_).unflatten(-1, (heads, -1))
    qb, kb, vb = (A.window_partition(t, grid) for t in (q, k, v))
    keys = [(kb, vb)] if ring_k is None or ring_v is None else [(ring_k, ring_v), (kb, vb)]
    out = _attend(qb, keys, grid, topk, local_range, boundary, flex)
    x = x + gate_msa * F.linear(A.window_reverse(out, grid).reshape(b, n, dim), ow, ob)
    # cross-attention to the precomputed context keys/values
    h = F.layer_norm(x, (dim,), n3w, n3b, eps)
    cq = _rms(F.linear(h, cqw, cqb), cgq, eps).unflatten(-1, (heads, -1)).transpose(1, 2)
    co = F.scaled_dot_product_attention(cq, ctx_k.to(cq.dtype), ctx_v.to(cq.dtype))
    x = x + F.linear(co.transpose(1, 2).flatten(2), cow, cob)
    h = F.layer_norm(x, (dim,), eps=eps) * (1 + scale_mlp) + shift_mlp
    x = x + gate_mlp * F.linear(F.gelu(F.linear(h, f0w, f0b), approximate="tanh"), f2w, f2b)
    return x, kb, vb


_WEIGHTS: dict[int, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {}


def block_weights(block: torch.nn.Module) -> tuple[Tensor, ...]:
    """A DiTBlock's tensors in `block_forward`'s order, detached (plain tensors sharing the parameters' storage,
    so the compiled graph is reused across blocks); cached while the block keeps the same parameter objects."""
    params = _block_params(block)
    hit = _WEIGHTS.get(id(block))
    if hit is None or any(a is not b for a, b in zip(hit[0], params, strict=True)):
        hit = (params, tuple(p.detach() for p in params))
        _WEIGHTS[id(block)] = hit
    return hit[1]


def _block_params(block: torch.nn.Module) -> tuple[Tensor, ...]:
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
    ring = None if cache is None else RingCache.of(cache, chunk_tokens)
    n_new = grid[0] // A.BLOCK[0]
    if ring is not None:
        ring.check(cache, n_new)
    for i, block in enumerate(dit.blocks):
        if lq is not None and i < len(lq):
            tokens = tokens + lq[i]
        e = block.modulation.to(t_mod.dtype) + t_mod
        rk, rv = ring.get(cache, i) if ring is not None and cache is not None else (None, None)
        ck, cv = context[i]
        tokens, kb, vb = fn(tokens, e, block_weights(block), ck, cv, cos, sin, rk, rv, grid, cfg.num_heads, cfg.eps,
                            topk, settings.local_range, settings.boundary, compiled)  # fmt: skip
        if ring is not None and cache is not None:
            ring.write(cache, i, kb, vb)
    if ring is not None:
        ring.written += n_new
    return dit.unpatchify(dit.head(tokens, t), grid)


@dataclass
class RingCache:
    """The fast path's layout of a `KVCache`: per layer one preallocated tensor of `slots` chunks (B, H,
    slots * chunk, D); chunk c (counted from the stream's start) lives in slot c % slots. A step attends to the
    filled slots plus its own chunk (two FlexAttention calls merged by their LSE, so the cached keys are never
    copied into a concatenation), then writes its chunk over the oldest slot: the official eviction (one chunk
    dropped per call once the cache holds more than int(kv_ratio)) with slots = max(int(kv_ratio), 2) and at most
    `slots` chunks kept, 3/4 of the memory of the module path's cache views. Kept on the KVCache as `fast_ring`;
    a cache filled by the module path cannot be continued here (and vice versa). The ring holds no reference back
    to its cache (the cache is passed to each call), so a finished stream's gigabytes of slots are freed as soon as
    the cache is dropped, without waiting for Python's cycle collector.
    """

    slots: int
    chunk: int
    written: int = 0
    dtype: torch.dtype | None = None  # of the keys/values written (what an 8-bit cache is read back as)

    @classmethod
    def of(cls, cache: KVCache, chunk_tokens: int) -> RingCache:
        ring = getattr(cache, "fast_ring", None)
        if ring is not None and cache.keys and ring.chunk == chunk_tokens:
            return ring
        if cache.keys:
            raise ValueError("this KV cache was filled by the module path; the fast path cannot continue it")
        ring = cls(max(cache.kv_len, 2), chunk_tokens)
        cache.fast_ring = ring  # type: ignore[attr-defined]
        return ring

    @property
    def valid(self) -> int:
        return min(self.written, self.slots)

    def check(self, cache: KVCache, n_new: int) -> None:
        """Refuse a call whose official eviction the ring cannot reproduce (more than one chunk dropped)."""
        total = self.valid + n_new
        official = total - 1 if total > cache.kv_len else total
        if official != min(total, self.slots):
            kept = min(total, self.slots)
            raise ValueError(f"the fast path's cache keeps {kept} chunks where the official eviction keeps "
                             f"{official} ({n_new} new chunks, kv_len {cache.kv_len})")  # fmt: skip

    def get(self, cache: KVCache, layer: int) -> tuple[Tensor | None, Tensor | None]:
        if self.valid == 0:
            return None, None
        n = self.valid * self.chunk
        k, v = cache.keys[layer][:, :, :n], cache.values[layer][:, :, :n]  # type: ignore[index]
        if cache.bits == 8:
            assert self.dtype is not None
            k = dequantize_int8(k, cache.key_scales[layer][:, :, :n], self.dtype)
            v = dequantize_int8(v, cache.value_scales[layer][:, :, :n], self.dtype)
        return k, v

    def write(self, cache: KVCache, layer: int, kb: Tensor, vb: Tensor) -> None:
        n_new = kb.shape[2] // self.chunk
        self.dtype = kb.dtype
        eight = cache.bits == 8
        if layer >= len(cache.keys):
            shape = (*kb.shape[:2], self.slots * self.chunk, kb.shape[3])
            cache.keys.append(kb.new_empty(shape, dtype=torch.int8 if eight else kb.dtype))
            cache.values.append(vb.new_empty(shape, dtype=torch.int8 if eight else vb.dtype))
            if eight:
                cache.key_scales.append(kb.new_empty((*shape[:3], 1), dtype=torch.float32))
                cache.value_scales.append(vb.new_empty((*shape[:3], 1), dtype=torch.float32))
        for j in range(max(0, n_new - self.slots), n_new):
            slot = (self.written + j) % self.slots
            dst = slice(slot * self.chunk, (slot + 1) * self.chunk)
            src = slice(j * self.chunk, (j + 1) * self.chunk)
            if eight:
                for store, scales, x in ((cache.keys, cache.key_scales, kb), (cache.values, cache.value_scales, vb)):
                    q, scale = quantize_int8(x[:, :, src])
                    store[layer][:, :, dst] = q  # type: ignore[index]
                    scales[layer][:, :, dst] = scale
            else:
                cache.keys[layer][:, :, dst] = kb[:, :, src]  # type: ignore[index]
                cache.values[layer][:, :, dst] = vb[:, :, src]  # type: ignore[index]


def quantize_int8(x: Tensor) -> tuple[Tensor, Tensor]:
    """Symmetric int8 per last-dim vector: x (..., D) -> (q int8 (..., D), scale float32 (..., 1)), x ~ q * scale
    with |error| <= scale / 2 = amax / 254 per vector."""
    xf = x.float()
    scale = xf.abs().amax(dim=-1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny) / 127.0
    return torch.round(xf / scale).clamp_(-127, 127).to(torch.int8), scale


def dequantize_int8(q: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """The inverse of `quantize_int8`, in float32 then cast to `dtype`."""
    return (q.float() * scale).to(dtype)
