"""Block-sparse attention for FlashVSR: the official block-selection rules as pure functions, one entry point.

Layout. Self-attention runs on a latent token grid (f, h, w) cut into blocks of (2, 8, 8) tokens = 128 tokens,
the tile of the sparse kernel. `window_partition` turns raster-ordered tokens (B, f*h*w, H, D) into *block order*
(B, H, N, D): blocks ordered (f/2, h/8, w/8), tokens inside a block ordered (2, 8, 8). Block index
`n = chunk * Lb + row * bw + col` with Lb = (h/8) * (w/8) blocks per 2-frame "chunk".

Official block-selection rules (FlashVSR `generate_draft_block_mask`, reproduced here):
1. mean-pool Q and K over each 128-token block; per-head scores q̄·k̄ᵀ/√D;
2. add a locality mask (-inf outside a `local_range` x `local_range` window of the spatial block grid, the same
   window for every key chunk); boundary "truncated" (window centred, cut at the frame edge; what the released
   pipeline uses) or "preserved" (window shifted to stay full-size inside the frame);
3. softmax over key blocks;
4. per head and per *query chunk*, flatten the (Lb query blocks x all key blocks) map and keep the entries strictly
   greater than the (topk+1)-th largest one, topk = int(Lb² · topk_ratio) - 1 and
   topk_ratio = sparse_ratio · 768 · 1280 / (H_px · W_px).

Kernel semantics reproduced by every backend: each (batch, head) has its own block mask; softmax scale D^-0.5; a
query block whose mask row selects no key block outputs zeros.

Backends: "reference" (dense masked `scaled_dot_product_attention`, any device; memory and time quadratic in the
tokens), "gather" (per query block, only the selected key blocks are gathered and attended to, in groups sized to
a memory budget: the CPU default) and "flex" (PyTorch FlexAttention with a `BlockMask`; compiled on CUDA, the
unfused eager path elsewhere, which is slow but exact).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


Boundary = Literal["truncated", "preserved"]
BLOCK: tuple[int, int, int] = (2, 8, 8)
REFERENCE_PIXELS = 768 * 1280  # output area the official top-k budget is normalised to


# ----------------------------------------------------------------------------------------------------------------
# token layout
# ----------------------------------------------------------------------------------------------------------------
def window_partition(x: Tensor, grid: tuple[int, int, int], block: tuple[int, int, int] = BLOCK) -> Tensor:
    """Raster tokens (B, f*h*w, H, D) -> block-ordered (B, H, N, D), N = f*h*w."""
    b, n, heads, d = x.shape
    f, h, w = grid
    bf, bh, bw = block
    if n != f * h * w or f % bf or h % bh or w % bw:
        raise ValueError(f"token grid {grid} ({n} tokens) is not divisible into blocks {block}")
    x = x.reshape(b, f // bf, bf, h // bh, bh, w // bw, bw, heads, d)
    x = x.permute(0, 7, 1, 3, 5, 2, 4, 6, 8)  # b, H, nf, nh, nw, bf, bh, bw, d
    return x.reshape(b, heads, n, d)


def window_reverse(x: Tensor, grid: tuple[int, int, int], block: tuple[int, int, int] = BLOCK) -> Tensor:
    """Block-ordered (B, H, N, D) -> raster tokens (B, f*h*w, H, D); inverse of `window_partition`."""
    b, heads, n, d = x.shape
    f, h, w = grid
    bf, bh, bw = block
    x = x.reshape(b, heads, f // bf, h // bh, w // bw, bf, bh, bw, d)
    x = x.permute(0, 2, 5, 3, 6, 4, 7, 1, 8)  # b, nf, bf, nh, bh, nw, bw, H, d
    return x.reshape(b, n, heads, d)


# ----------------------------------------------------------------------------------------------------------------
# block-mask rules (pure functions)
# ----------------------------------------------------------------------------------------------------------------
def local_window_mask(
    blocks_h: int,
    blocks_w: int,
    local_range: int,
    boundary: Boundary = "truncated",
    device: torch.device | str | None = None,
) -> Tensor:
    """(L, L) bool, L = blocks_h * blocks_w: may spatial block i (query) see spatial block j (key)?

    The window spans `local_range` blocks per axis starting at `pos - local_range // 2` (an even range is
    asymmetric: one more block before than after). "truncated" cuts it at the frame edges; "preserved" shifts it
    inward so it stays `local_range` wide (when the frame is narrower than the window, the whole axis is visible).
    """
    if local_range < 1:
        raise ValueError(f"local_range must be >= 1, got {local_range}")
    if boundary not in ("truncated", "preserved"):
        raise ValueError(f"boundary must be 'truncated' or 'preserved', got {boundary!r}")

    def axis(n: int) -> Tensor:
        pos = torch.arange(n, device=device)
        start = pos - local_range // 2
        if boundary == "preserved":
            start = torch.minimum(start.clamp(min=0), torch.full_like(start, n - local_range))
        end = start + local_range - 1
        return (pos[None, :] >= start[:, None]) & (pos[None, :] <= end[:, None])  # (n, n)

    rows, cols = axis(blocks_h), axis(blocks_w)
    return (rows[:, None, :, None] & cols[None, :, None, :]).reshape(blocks_h * blocks_w, blocks_h * blocks_w)


def chunk_causal_mask(
    num_chunks: int, window: int | None = None, first_chunks: int = 3, device: torch.device | str | None = None
) -> Tensor:
    """(C, C) bool over 2-frame chunks for whole-clip (training) attention that equals streaming with a KV cache.

    Query chunk i sees key chunks j with i - window < j <= i (window=None: all past chunks), and the first
    `first_chunks` chunks (the first streaming call, 6 latent frames) see each other. With the official eviction,
    streaming with kv_len = int(kv_ratio) >= 2 equals window = kv_len + 1.
    """
    i = torch.arange(num_chunks, device=device)[:, None]
    j = torch.arange(num_chunks, device=device)[None, :]
    mask = j <= i
    if window is not None:
        mask &= j > i - window
    first = min(first_chunks, num_chunks)
    mask[:first, :first] = True
    return mask


def topk_ratio_for(height_px: int, width_px: int, sparse_ratio: float) -> float:
    """The official per-resolution budget: sparse_ratio * 768 * 1280 / (H * W) (H, W: output pixels)."""
    return sparse_ratio * REFERENCE_PIXELS / (height_px * width_px)


def topk_for(blocks_per_chunk: int, topk_ratio: float) -> int:
    """The official top-k count per (head, query chunk): int(Lb² · topk_ratio) - 1."""
    return int(blocks_per_chunk * blocks_per_chunk * topk_ratio) - 1


def pooled_block_scores(q: Tensor, k: Tensor, block_size: int = 128) -> Tensor:
    """Block-ordered q (B, H, Nq, D), k (B, H, Nk, D) -> (B, H, Nq/bs, Nk/bs) scores of mean-pooled blocks / √D."""
    b, h, nq, d = q.shape
    qp = q.reshape(b, h, nq // block_size, block_size, d).mean(dim=3)
    kp = k.reshape(b, h, k.shape[2] // block_size, block_size, d).mean(dim=3)
    return torch.einsum("bhld,bhmd->bhlm", qp, kp) / math.sqrt(d)


def select_blocks(
    scores: Tensor,
    blocks_per_chunk: int,
    local_mask: Tensor | None = None,
    topk: int | None = None,
    chunk_mask: Tensor | None = None,
) -> Tensor:
    """Official selection on a block score map (B, H, Nqb, Nkb) -> bool (B, H, Nqb, Nkb).

    `local_mask` (Lb, Lb) tiles over every (query chunk, key chunk) pair; outside it a score is -inf. Then softmax
    over key blocks, and per (head, query chunk of `blocks_per_chunk` rows) keep the entries strictly greater than
    the (topk+1)-th largest of the flattened map (topk capped at its size - 1; topk=None keeps every block the
    window allows). `chunk_mask` (Cq, Ck), if given, also removes whole (query chunk, key chunk) pairs before the
    softmax (see `chunk_causal_mask`). A row can end up empty; the attention backends output zeros for it.
    """
    b, h, nqb, nkb = scores.shape
    lb = blocks_per_chunk
    if nqb % lb or nkb % lb:
        raise ValueError(f"block map {nqb}x{nkb} is not a whole number of {lb}-block chunks")
    allowed = torch.ones(nqb, nkb, dtype=torch.bool, device=scores.device)
    if local_mask is not None:
        if local_mask.shape != (lb, lb):
            raise ValueError(f"local mask {tuple(local_mask.shape)} does not match {lb} blocks per chunk")
        allowed = local_mask.to(scores.device).repeat(nqb // lb, nkb // lb)
    if chunk_mask is not None:
        if chunk_mask.shape != (nqb // lb, nkb // lb):
            raise ValueError(f"chunk mask {tuple(chunk_mask.shape)} does not match {nqb // lb}x{nkb // lb} chunks")
        cm = chunk_mask.to(scores.device)
        allowed = allowed & cm.repeat_interleave(lb, 0).repeat_interleave(lb, 1)
    if topk is None:
        return allowed.expand(b, h, nqb, nkb).clone()
    bias = torch.zeros(nqb, nkb, dtype=scores.dtype, device=scores.device).masked_fill(~allowed, float("-inf"))
    probs = torch.softmax(scores + bias, dim=-1)
    flat = probs.reshape(b, h, nqb // lb, lb * nkb)
    k = min(flat.shape[-1] - 1, max(topk, 0))
    threshold = torch.topk(flat, k=k + 1, dim=-1).values[..., -1:]
    return (flat > threshold).reshape(b, h, nqb, nkb)


def flashvsr_block_mask(
    q: Tensor,
    k: Tensor,
    grid: tuple[int, int, int],
    *,
    topk: int | None,
    local_range: int | None,
    boundary: Boundary = "truncated",
    chunk_mask: Tensor | None = None,
    block: tuple[int, int, int] = BLOCK,
) -> Tensor:
    """The official block mask for block-ordered q (B, H, Nq, D) over the query token grid `grid` = (f, h, w)
    and block-ordered keys k (B, H, Nk, D) (cached chunks first, then the current ones) -> (B, H, Nqb, Nkb) bool.
    """
    _, h, w = grid
    bh, bw = h // block[1], w // block[2]
    local = None if local_range is None else local_window_mask(bh, bw, local_range, boundary, device=q.device)
    scores = pooled_block_scores(q, k, block_size=math.prod(block))
    return select_blocks(scores, bh * bw, local, topk, chunk_mask)


def block_mask_density(block_mask: Tensor) -> float:
    """Fraction of (query block, key block) pairs kept."""
    return float(block_mask.float().mean())


# ----------------------------------------------------------------------------------------------------------------
# attention backends
# ----------------------------------------------------------------------------------------------------------------
def _check(q: Tensor, k: Tensor, v: Tensor, block_mask: Tensor, block_size: int) -> None:
    b, h, nq, _ = q.shape
    nk = k.shape[2]
    if nq % block_size or nk % block_size:
        raise ValueError(f"sequence lengths {nq}, {nk} must be multiples of the block size {block_size}")
    want = (b, h, nq // block_size, nk // block_size)
    if tuple(block_mask.shape) != want or block_mask.dtype != torch.bool:
        raise ValueError(f"block_mask must be bool {want}, got {block_mask.dtype} {tuple(block_mask.shape)}")
    if k.shape != v.shape or k.shape[:2] != q.shape[:2]:
        raise ValueError(f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} do not agree")


def _reference(q: Tensor, k: Tensor, v: Tensor, block_mask: Tensor, block_size: int, scale: float | None) -> Tensor:
    """Dense masked SDPA, one (batch, head) at a time to bound the token-level mask's memory."""
    out = torch.empty_like(q)
    for bi in range(q.shape[0]):
        for hi in range(q.shape[1]):
            bm = block_mask[bi, hi]
            empty = ~bm.any(dim=-1)  # query blocks that see nothing -> zeros
            bm = bm | empty[:, None]
            mask = bm.repeat_interleave(block_size, 0).repeat_interleave(block_size, 1)
            o = F.scaled_dot_product_attention(q[bi, hi], k[bi, hi], v[bi, hi], attn_mask=mask, scale=scale)
            out[bi, hi] = o.masked_fill(empty.repeat_interleave(block_size)[:, None], 0)
    return out


GATHER_BUDGET_BYTES = 8 * 2**20  # working set of one group of query blocks in the "gather" backend (measured best)


def _gather(q: Tensor, k: Tensor, v: Tensor, block_mask: Tensor, block_size: int, scale: float | None) -> Tensor:
    """Block-sparse attention that touches only the selected tiles: per (batch, head), each query block's selected
    key blocks are gathered and attended to with SDPA, a group of query blocks at a time. Query blocks are taken in
    order of their selected-block count, so a group pads its rows to nearly equal lengths (padding points at block
    0 and is masked out); a group grows while its gathered keys and scores stay within GATHER_BUDGET_BYTES."""
    b, h, nq, d = q.shape
    nqb, nkb = block_mask.shape[-2:]
    out = torch.zeros_like(q)
    qb = q.reshape(b, h, nqb, block_size, d)
    kvb = torch.cat([k.reshape(b, h, nkb, block_size, d), v.reshape(b, h, nkb, block_size, d)], dim=-1)
    ob = out.view(b, h, nqb, block_size, d)
    # selected key blocks first, in increasing order
    order = torch.sort((~block_mask).to(torch.int8), dim=-1, stable=True).indices
    by_count = torch.sort(block_mask.sum(dim=-1), dim=-1, stable=True)
    per_key_block = block_size * (block_size + 2 * d) * q.element_size()
    buf = q.new_empty(0, block_size, 2 * d)  # gathered keys and values, reused across groups (no fresh mmap each)
    reuse = not (torch.is_grad_enabled() and kvb.requires_grad)  # out= does not take part in autograd
    for bi in range(b):
        for hi in range(h):
            counts = by_count.values[bi, hi].tolist()
            s = next((i for i, n in enumerate(counts) if n > 0), nqb)  # rows that select nothing stay zero
            while s < nqb:
                e = s + 1
                while e < nqb and (e + 1 - s) * counts[e] * per_key_block <= GATHER_BUDGET_BYTES:
                    e += 1
                m = counts[e - 1]
                rows = by_count.indices[bi, hi, s:e]
                idx = order[bi, hi, rows, :m].flatten()  # (G * m,)
                if reuse and buf.shape[0] < idx.numel():
                    buf = q.new_empty(idx.numel(), block_size, 2 * d)
                kv = torch.index_select(kvb[bi, hi], 0, idx, out=buf[: idx.numel()]) if reuse else kvb[bi, hi][idx]
                kv = kv.view(e - s, m * block_size, 2 * d)
                mask = None
                if counts[s] != m:
                    valid = torch.arange(m, device=q.device)[None, :] < by_count.values[bi, hi, s:e, None]
                    mask = valid.repeat_interleave(block_size, dim=1)[:, None, :]  # (G, 1, m * bs)
                keys, vals = kv[..., :d], kv[..., d:]
                ob[bi, hi, rows] = F.scaled_dot_product_attention(qb[bi, hi, rows], keys, vals, mask, scale=scale)
                s = e
    return out


_COMPILED_FLEX: Callable[..., Tensor] | None = None


def flex_block_mask(block_mask: Tensor, block_size: int = 128, element_mask: bool = True):  # noqa: ANN201
    """A FlexAttention `BlockMask` for a bool block map (B, H, Nqb, Nkb).

    Every selected tile is a *full* block, so the fused (compiled) kernel never evaluates the element mask.
    FlexAttention's unfused path ignores block sparsity and applies `mask_mod` only, so `element_mask=True`
    (needed there) gives a `mask_mod` that looks the block map up; the compiled path passes False (the default
    no-op `mask_mod`, one compiled kernel for every mask instead of a new closure per call).
    """
    from torch.nn.attention.flex_attention import BlockMask

    _, _, nqb, nkb = block_mask.shape
    counts = block_mask.sum(dim=-1, dtype=torch.int32)
    # selected key blocks first, in increasing order (stable sort of the negated mask)
    order = torch.sort((~block_mask).to(torch.int8), dim=-1, stable=True).indices.to(torch.int32)

    def mask_mod(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        return block_mask[b, h, q_idx // block_size, kv_idx // block_size]

    return BlockMask.from_kv_blocks(
        torch.zeros_like(counts),
        order,
        counts,
        order,
        BLOCK_SIZE=block_size,
        mask_mod=mask_mod if element_mask else None,
        seq_lengths=(nqb * block_size, nkb * block_size),
    )


def _flex(q: Tensor, k: Tensor, v: Tensor, block_mask: Tensor, block_size: int, scale: float | None) -> Tensor:
    global _COMPILED_FLEX
    from torch.nn.attention.flex_attention import flex_attention

    if not q.is_cuda:  # FlexAttention's unfused implementation (slow, exact): for checks off the GPU
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
            return flex_attention(q, k, v, block_mask=flex_block_mask(block_mask, block_size), scale=scale)
    if _COMPILED_FLEX is None:
        _COMPILED_FLEX = torch.compile(flex_attention, dynamic=False)
    return _COMPILED_FLEX(q, k, v, block_mask=flex_block_mask(block_mask, block_size, element_mask=False), scale=scale)


_BACKENDS: dict[str, Callable[[Tensor, Tensor, Tensor, Tensor, int, float | None], Tensor]] = {
    "reference": _reference,
    "gather": _gather,
    "flex": _flex,
}


def default_backend(q: Tensor) -> str:
    """ "flex" on CUDA, "gather" elsewhere."""
    return "flex" if q.is_cuda else "gather"


def block_sparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    block_mask: Tensor,
    *,
    block_size: int = 128,
    backend: str | None = None,
    scale: float | None = None,
) -> Tensor:
    """Attention restricted to the selected (query block, key block) tiles.

    q: (B, H, Nq, D); k, v: (B, H, Nk, D); block_mask: bool (B, H, Nq/block_size, Nk/block_size).
    Returns (B, H, Nq, D). Softmax scale defaults to D^-0.5; query blocks with an empty mask row give zeros.
    backend: "reference" | "gather" | "flex" | None (= `default_backend(q)`).
    """
    _check(q, k, v, block_mask, block_size)
    name = backend or default_backend(q)
    if name not in _BACKENDS:
        raise ValueError(f"unknown attention backend {name!r}; known: {', '.join(_BACKENDS)}")
    return _BACKENDS[name](q, k, v, block_mask, block_size, scale)


def dense_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Plain attention (cross-attention to the prompt context). q (B, H, Nq, D), k, v (B, H, Nk, D)."""
    return F.scaled_dot_product_attention(q, k, v)
