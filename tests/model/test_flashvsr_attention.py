"""Block-sparse attention: backends against brute force, block-mask rules against a loop-by-loop construction."""

from __future__ import annotations

import math

import pytest
import torch

from model.flashvsr import attention as A


def _brute_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_mask: torch.Tensor) -> torch.Tensor:
    """Masked softmax attention written out in float64; rows that see nothing give 0 (the kernel's rule)."""
    tm = block_mask.repeat_interleave(128, 2).repeat_interleave(128, 3)
    s = (q.double() @ k.double().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    p = torch.softmax(s.masked_fill(~tm, float("-inf")), dim=-1).nan_to_num(0.0)
    return (p @ v.double()).to(q.dtype)


def _random_qkv(seed: int, b: int, h: int, nqb: int, nkb: int, d: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, h, n * 128, d, generator=g) for n in (nqb, nkb, nkb))
    mask = torch.rand(b, h, nqb, nkb, generator=g) < 0.4
    mask[0, 0, 1] = False  # one query block that sees nothing
    mask[-1, -1, 0] = True  # one that sees everything
    return q, k, v, mask


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_backend_equals_brute_force(seed: int) -> None:
    q, k, v, mask = _random_qkv(seed, 2, 3, 3, 5, 16)
    out = A.block_sparse_attention(q, k, v, mask, backend="reference")
    torch.testing.assert_close(out, _brute_attention(q, k, v, mask), rtol=1e-5, atol=1e-5)
    assert out[0, 0, 128:256].abs().max() == 0


# 1 byte: one query block per group; 1 MB: groups of a few blocks with unequal counts (padded and masked)
@pytest.mark.parametrize("budget", [A.GATHER_BUDGET_BYTES, 1_000_000, 1])
def test_gather_backend_equals_reference(budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU default touches only the selected tiles; same output, empty rows zero, any group size."""
    monkeypatch.setattr(A, "GATHER_BUDGET_BYTES", budget)
    q, k, v, mask = _random_qkv(3, 2, 3, 4, 6, 16)
    mask[1, 2] = False  # a head that sees nothing at all
    out = A.block_sparse_attention(q, k, v, mask, backend="gather")
    torch.testing.assert_close(out, A.block_sparse_attention(q, k, v, mask, backend="reference"), rtol=1e-5, atol=1e-5)
    assert out[0, 0, 128:256].abs().max() == 0 and out[1, 2].abs().max() == 0
    assert A.default_backend(q) == "gather"


def test_flex_backend_unfused_equals_reference_on_cpu() -> None:
    """The BlockMask we hand FlexAttention describes the same mask (checked with its unfused CPU path)."""
    q, k, v, mask = _random_qkv(2, 1, 2, 2, 4, 16)
    ref = A.block_sparse_attention(q, k, v, mask, backend="reference")
    out = A.block_sparse_attention(q, k, v, mask, backend="flex")
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    dense = A.flex_block_mask(mask).to_dense().bool()
    assert torch.equal(dense, mask)


def test_bad_inputs_are_rejected() -> None:
    q, k, v, mask = _random_qkv(0, 1, 1, 2, 2, 8)
    with pytest.raises(ValueError, match="block_mask"):
        A.block_sparse_attention(q, k, v, mask[..., :1])
    with pytest.raises(ValueError, match="unknown attention backend"):
        A.block_sparse_attention(q, k, v, mask, backend="bsa")


def test_window_partition_roundtrip_and_block_layout() -> None:
    grid = (4, 16, 8)
    x = torch.arange(math.prod(grid)).reshape(1, -1, 1, 1).float()
    blocks = A.window_partition(x, grid)
    assert blocks.shape == (1, 1, 512, 1)
    # block n = chunk * Lb + row * bw + col; its tokens are the (2, 8, 8) cube at that position, in raster order
    f, h, w = torch.meshgrid(torch.arange(2), torch.arange(8), torch.arange(8), indexing="ij")
    n = 1 * 2 + 1 * 1 + 0  # chunk 1, block row 1, block col 0 (bw = 1)
    expect = ((2 + f) * 16 * 8 + (8 + h) * 8 + w).flatten().float()
    assert torch.equal(blocks[0, 0, n * 128 : (n + 1) * 128, 0], expect)
    assert torch.equal(A.window_reverse(blocks, grid), x)


# ------------------------------------------------------------------------------------------------------------
# block-mask rules vs. a brute-force construction of the official rules
# ------------------------------------------------------------------------------------------------------------
def _brute_window(bh: int, bw: int, r: int, boundary: str) -> torch.Tensor:
    def span(pos: int, n: int) -> range:
        start = pos - r // 2
        if boundary == "preserved":
            start = min(max(start, 0), n - r)
        return range(start, start + r)

    m = torch.zeros(bh * bw, bh * bw, dtype=torch.bool)
    for qi in range(bh * bw):
        rows, cols = span(qi // bw, bh), span(qi % bw, bw)
        for kj in range(bh * bw):
            m[qi, kj] = (kj // bw) in rows and (kj % bw) in cols
    return m


def _brute_select(q: torch.Tensor, k: torch.Tensor, lb: int, window: torch.Tensor | None, topk: int) -> torch.Tensor:
    """Loop-by-loop: pool each block, score, -inf outside the window, softmax per row, then per (head, query chunk)
    keep the entries strictly above the (topk+1)-th largest of the chunk's flattened map."""
    b, h, nq, d = q.shape
    nqb, nkb = nq // 128, k.shape[2] // 128
    out = torch.zeros(b, h, nqb, nkb, dtype=torch.bool)
    for bi in range(b):
        for hi in range(h):
            probs = torch.zeros(nqb, nkb, dtype=torch.float64)
            for i in range(nqb):
                qbar = q[bi, hi, i * 128 : (i + 1) * 128].double().mean(0)
                row = []
                for j in range(nkb):
                    kbar = k[bi, hi, j * 128 : (j + 1) * 128].double().mean(0)
                    ok = window is None or bool(window[i % lb, j % lb])
                    row.append(float(qbar @ kbar) / math.sqrt(d) if ok else -math.inf)
                probs[i] = torch.softmax(torch.tensor(row, dtype=torch.float64), 0)
            for c in range(nqb // lb):
                flat = sorted(probs[c * lb : (c + 1) * lb].flatten().tolist(), reverse=True)
                kk = min(len(flat) - 1, topk)
                out[bi, hi, c * lb : (c + 1) * lb] = probs[c * lb : (c + 1) * lb] > flat[kk]
    return out


@pytest.mark.parametrize("boundary", ["truncated", "preserved"])
@pytest.mark.parametrize(("bh", "bw", "r"), [(3, 5, 3), (4, 4, 2), (2, 6, 5), (3, 3, 7), (5, 2, 1)])
def test_local_window_matches_brute_force(boundary: str, bh: int, bw: int, r: int) -> None:
    got = A.local_window_mask(bh, bw, r, boundary)
    assert torch.equal(got, _brute_window(bh, bw, r, boundary))
    assert got.diagonal().all()
    if boundary == "preserved" and r <= min(bh, bw):
        assert (got.sum(1) == r * r).all()  # the window stays full-size at the edges


@pytest.mark.parametrize(("boundary", "r", "topk"), [("truncated", 3, 10), ("preserved", 2, 7), ("truncated", 1, 40)])
def test_select_blocks_matches_brute_force(boundary: str, r: int, topk: int) -> None:
    torch.manual_seed(0)
    bh, bw, chunks_q, chunks_k = 3, 4, 2, 4
    lb = bh * bw
    grid = (2 * chunks_q, 8 * bh, 8 * bw)
    q = torch.randn(1, 2, chunks_q * lb * 128, 8, dtype=torch.float64)
    k = torch.randn(1, 2, chunks_k * lb * 128, 8, dtype=torch.float64) + 0.3 * torch.randn(1, 2, 1, 8)
    got = A.flashvsr_block_mask(q, k, grid, topk=topk, local_range=r, boundary=boundary)
    window = A.local_window_mask(bh, bw, r, boundary)
    assert torch.equal(got, _brute_select(q, k, lb, window, topk))
    # properties: inside the window, and exactly min(topk, allowed) kept per (head, query chunk)
    assert not (got & ~window.repeat(chunks_q, chunks_k)).any()
    allowed = int(window.sum()) * chunks_k
    counts = got.reshape(1, 2, chunks_q, -1).sum(-1)
    assert (counts == min(topk, allowed, lb * lb * chunks_k - 1)).all()


def test_select_blocks_without_topk_keeps_the_window_and_without_window_keeps_topk() -> None:
    scores = torch.randn(1, 2, 8, 16)
    window = A.local_window_mask(2, 2, 1)
    assert torch.equal(A.select_blocks(scores, 4, window, None)[0, 0], window.repeat(2, 4))
    kept = A.select_blocks(scores, 4, None, 5)
    assert (kept.reshape(1, 2, 2, -1).sum(-1) == 5).all()


def test_official_topk_budget() -> None:
    # 768x1408 output: 6x11 blocks per chunk, topk_ratio = 2 * 768*1280 / (768*1408)
    ratio = A.topk_ratio_for(768, 1408, 2.0)
    assert A.topk_for(66, ratio) == int(66 * 66 * ratio) - 1 == 7919
    assert A.topk_for(60, A.topk_ratio_for(768, 1280, 2.0)) == 60 * 60 * 2 - 1  # 120 key blocks per query block


def test_chunk_causal_mask() -> None:
    m = A.chunk_causal_mask(7, window=4)
    assert m[:3, :3].all()  # first streaming call: 3 chunks see each other
    for i in range(3, 7):
        assert m[i].nonzero().flatten().tolist() == list(range(max(0, i - 3), i + 1))
    assert not m.triu(1)[3:].any()  # never a future chunk after the first call
    full = A.chunk_causal_mask(5)
    assert full[4].all() and not full[3, 4]


# ------------------------------------------------------------------------------------------------------------
# GPU: the fused FlexAttention kernel agrees with the reference
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_flex_cuda_equals_reference(dtype: torch.dtype) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    g = torch.Generator(device="cuda").manual_seed(0)
    b, h, nqb, nkb, d = 1, 4, 6, 24, 128
    q, k, v = (torch.randn(b, h, n * 128, d, device="cuda", generator=g, dtype=dtype) for n in (nqb, nkb, nkb))
    mask = torch.rand(b, h, nqb, nkb, device="cuda", generator=g) < 0.3
    mask[0, 0, 2] = False
    ref = A.block_sparse_attention(q, k, v, mask, backend="reference")
    out = A.block_sparse_attention(q, k, v, mask, backend="flex")
    tol = 2e-2 if dtype == torch.bfloat16 else 2e-4
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    assert out[0, 0, 256:384].abs().max() == 0
