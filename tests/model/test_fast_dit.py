"""The GPU fast paths compute the module code's function: fast DiT (eager on CPU, compiled on CUDA), the LQ
projection's folded 2D convolutions, the channels-last TCDecoder; and the cost model counts what the modules do."""

from __future__ import annotations

import pytest
import torch

from model import perf_model as P
from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.fast_convs import causal_conv3d_as_2d, channels_last_decoder
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import AttentionSettings, KVCache, WanDiT


def _stream(dit: WanDiT, backend: str, steps: list[torch.Tensor], lqs: list[torch.Tensor], ctx: torch.Tensor,  # noqa: ANN202
            bits: int = 16):  # fmt: skip
    cache = KVCache.from_ratio(3.0, bits=bits)
    settings = AttentionSettings(topk_ratio=0.6, local_range=3, backend=backend)
    outs, offset = [], 0
    with torch.no_grad():
        context = dit.encode_context(ctx)
        for x, lq in zip(steps, lqs, strict=True):
            outs.append(dit.predict_x0(x, context, lq=lq, cache=cache, frame_offset=offset, attention=settings))
            offset += x.shape[2]
    return outs, cache


def _inputs(cfg: FlashVSRConfig, device: str, dtype: torch.dtype, h: int = 32, w: int = 48):  # noqa: ANN202
    g = torch.Generator(device=device).manual_seed(3)
    frames = [6, 2, 2, 2]  # first call: 3 chunks, then one chunk a step (cache eviction reached)
    steps = [torch.randn(1, cfg.in_dim, f, h, w, generator=g, device=device, dtype=dtype) for f in frames]
    lqs = [torch.randn(1, f * h * w // 4, cfg.dim, generator=g, device=device, dtype=dtype) for f in frames]
    ctx = torch.randn(1, 8, cfg.text_dim, generator=g, device=device, dtype=dtype)
    return steps, lqs, ctx


def test_fast_dit_streams_like_the_module_path_on_cpu() -> None:
    cfg = FlashVSRConfig.from_name("tiny")
    torch.manual_seed(0)
    dit = WanDiT(cfg).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cpu", torch.float32)
    ref, ref_cache = _stream(dit, "reference", steps, lqs, ctx)
    fast, fast_cache = _stream(dit, "fast", steps, lqs, ctx)
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert ref_cache.num_chunks(2 * 16 * 24) == fast_cache.num_chunks(2 * 16 * 24) == 3
    # 6 chunks written: the ring keeps chunks 3, 4, 5 in slots 0, 1, 2, as the module path keeps them in order
    assert fast_cache.fast_ring.written == 6
    torch.testing.assert_close(fast_cache.keys[1], ref_cache.keys[1], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="filled by the module path"):
        _stream_more(dit, ref_cache, steps[1], lqs[1], ctx)


def _stream_more(
    dit: WanDiT, cache: KVCache, x: torch.Tensor, lq: torch.Tensor, ctx: torch.Tensor, backend: str = "fast"
) -> None:
    with torch.no_grad():
        dit(x, ctx, lq=lq, cache=cache, attention=AttentionSettings(backend=backend))


def test_ring_cache_follows_the_official_eviction() -> None:
    """kv_len 1 and 2 keep 2 chunks after the 3-chunk first call; a larger first call is refused."""
    cfg = FlashVSRConfig.from_name("tiny", num_layers=1)
    dit = WanDiT(cfg).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cpu", torch.float32)
    for kv_len in (1, 2):
        ref, fast = KVCache(kv_len=kv_len), KVCache(kv_len=kv_len)
        with torch.no_grad():
            for x, lq in zip(steps, lqs, strict=True):
                a = dit(x, ctx, lq=lq, cache=ref, attention=AttentionSettings(backend="reference"))
                b = dit(x, ctx, lq=lq, cache=fast, attention=AttentionSettings(backend="fast"))
                torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
        assert fast.fast_ring.valid == ref.num_chunks(768) == 2
    big = torch.randn(1, cfg.in_dim, 10, 32, 48)
    with torch.no_grad(), pytest.raises(ValueError, match="official eviction keeps 4"):
        dit(big, ctx, cache=KVCache(kv_len=3), attention=AttentionSettings(backend="fast"))


def test_a_dropped_fast_cache_is_freed_at_once_without_the_cycle_collector() -> None:
    """The ring holds no reference back to its KVCache: dropping the cache frees its slots immediately (a cycle
    kept the previous stream's 4.7 GB at 768x1408 alive until gc ran)."""
    import gc
    import weakref

    cfg = FlashVSRConfig.from_name("tiny", num_layers=1)
    dit = WanDiT(cfg).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cpu", torch.float32)
    _, cache = _stream(dit, "fast", steps[:2], lqs[:2], ctx)
    slots = weakref.ref(cache.keys[0])
    gc.disable()
    try:
        del cache
        assert slots() is None
    finally:
        gc.enable()


def test_int8_round_trip_error_is_at_most_half_a_step_per_vector() -> None:
    from model.flashvsr.fast_dit import dequantize_int8, quantize_int8

    x = torch.randn(2, 3, 50, 16, dtype=torch.float64) * torch.logspace(-3, 3, 50, dtype=torch.float64)[:, None]
    q, scale = quantize_int8(x)
    assert q.dtype == torch.int8 and scale.shape == (2, 3, 50, 1)
    err = (dequantize_int8(q, scale, torch.float64) - x).abs()
    assert (err <= x.abs().amax(-1, keepdim=True) / 254 * (1 + 1e-5)).all()
    assert (q.abs().amax(-1) == 127).all()  # each vector uses the full int8 range


def test_8_bit_kv_cache_streams_close_to_the_16_bit_cache_on_the_fast_path() -> None:
    cfg = FlashVSRConfig.from_name("tiny")
    torch.manual_seed(0)
    dit = WanDiT(cfg).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cpu", torch.float32)
    outs16, full = _stream(dit, "fast", steps, lqs, ctx)
    outs8, eight = _stream(dit, "fast", steps, lqs, ctx, bits=8)
    for a, b in zip(outs16, outs8, strict=True):
        rel = ((b - a).norm() / a.norm()).item()
        assert rel < 2e-2, rel  # the first step has no cache: equal; later steps read the quantized chunks
    assert eight.keys[0].dtype == torch.int8 and eight.key_scales[0].shape[-1] == 1
    assert eight.keys[0].shape == full.keys[0].shape and eight.keys[0].element_size() == 1
    with pytest.raises(ValueError, match="8-bit KV cache is a fast-path option"):
        _stream_more(dit, KVCache(bits=8), steps[0], lqs[0], ctx, backend="reference")


def test_merge_partial_attention_equals_attention_over_all_keys() -> None:
    from model.flashvsr.fast_dit import merge_partial_attention

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, n, 8, generator=g, dtype=torch.float64) for n in (5, 12, 12))
    mask = torch.rand(1, 2, 5, 12, generator=g) < 0.5
    mask[0, 0, 1] = False  # a row that sees nothing: zeros
    mask[0, 1, 2, :7] = False  # a row that sees only the second part

    def part(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:
        s = (q @ k[:, :, sl].transpose(-1, -2)).masked_fill(~mask[..., sl], float("-inf"))
        lse = torch.logsumexp(s, dim=-1)
        p = torch.exp(s - torch.where(torch.isfinite(lse), lse, 0)[..., None])
        return p @ v[:, :, sl], lse

    full = part(slice(0, 12))[0]
    merged = merge_partial_attention([part(slice(0, 7)), part(slice(7, 12))])
    torch.testing.assert_close(merged, full)
    assert merged[0, 0, 1].abs().max() == 0


def test_fast_dit_refuses_training() -> None:
    cfg = FlashVSRConfig.from_name("tiny")
    dit = WanDiT(cfg)
    steps, _, ctx = _inputs(cfg, "cpu", torch.float32)
    with pytest.raises(ValueError, match="inference"):
        dit(steps[0], ctx, attention=AttentionSettings(backend="fast"))


@pytest.mark.parametrize("variant", ["causal", "buffer"])
def test_lq_projection_folded_convs_equal_conv3d(variant: str) -> None:
    torch.manual_seed(1)
    lq = LQProjection(out_dim=24, hidden=(16, 20), unshuffle=(1, 4, 4), variant=variant).eval()
    video = torch.randn(1, 3, 13, 16, 24)
    with torch.no_grad():
        ref = lq(video)
        lq.fast_convs = True
        fast = lq(video)
        x = torch.randn(2, 48, 6, 5, 7)
        cache = torch.randn(2, 48, 2, 5, 7)
        torch.testing.assert_close(causal_conv3d_as_2d(lq.conv1, x, cache), lq.conv1(x, cache), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast[0], ref[0], rtol=1e-5, atol=1e-5)


def test_channels_last_decoder_equals_contiguous() -> None:
    cfg = FlashVSRConfig.from_name("tiny")
    torch.manual_seed(2)
    dec = TCDecoder.from_config(cfg).eval()
    lat = torch.randn(1, 3, cfg.in_dim, 2, 3)
    cond = torch.rand(1, 3, 9, 16, 24) * 2 - 1
    with torch.no_grad():
        ref = dec(lat, cond)
        fast = channels_last_decoder(dec)(lat, cond)
    assert dec.decoder[1].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------------------------
# cost model
# ------------------------------------------------------------------------------------------------------------
def test_dit_linear_flops_match_a_counted_forward() -> None:
    """The analytic DiT matmul FLOPs equal PyTorch's FLOP counter on a real forward (tiny config, one chunk)."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = FlashVSRConfig.from_name("tiny")
    dit = WanDiT(cfg).eval()
    geom = P.Geometry.of(256, 384, cfg)  # latent 32x48 -> tokens 16x24 -> 2x3 blocks
    x = torch.randn(1, cfg.in_dim, 2, 32, 48)
    with torch.no_grad():
        context = dit.encode_context(torch.randn(1, 8, cfg.text_dim))
        with FlopCounterMode(display=False) as fc:
            dit(x, context, attention=AttentionSettings(sparse_ratio=None, local_range=None, backend="reference"))
    counts = fc.get_flop_counts()["Global"]
    aten = torch.ops.aten
    linears_counted = counts[aten.addmm] + counts[aten.convolution]  # nn.Linear, patch embedding
    costs = {c.name: c for c in P.dit_costs(cfg, geom, key_chunks=1, kept_fraction=1.0, context_tokens=8)}
    assert costs["dit linears"].flops == linears_counted
    # the reference backend's masked SDPA runs as per-head matrix products on the CPU: dense QK^T and PV
    assert costs["self-attention"].flops == counts[aten.mm]


def test_kept_fraction_of_the_official_defaults() -> None:
    cfg = FlashVSRConfig.from_name("official")
    geom = P.Geometry.of(768, 1408, cfg)
    assert (geom.blocks_h, geom.blocks_w, geom.chunk_tokens) == (6, 11, 8448)
    assert P.steady_key_chunks(3.0) == 4 and P.steady_key_chunks(1.0) == 3
    tiles = P.kept_tiles(geom, 4, sparse_ratio=2.0, local_range=11)
    assert tiles["total"] == 66 * 264 and tiles["kept"] == 7919 and tiles["allowed"] == 91 * 6 * 4 * 6
    ratio = P.topk_ratio_for_fraction(geom, 4, 0.136)
    paper = P.kept_tiles(geom, 4, sparse_ratio=None, local_range=11, topk_ratio=ratio)
    assert paper["kept_fraction"] == pytest.approx(0.136, abs=1e-4)


def test_official_size_step_costs() -> None:
    cfg = FlashVSRConfig.from_name("official")
    costs, _ = P.step_costs(cfg, 768, 1408)
    by = {c.name: c for c in costs}
    # LQ projection: two 4-frame steps, conv1 -> 2 frames, conv2 -> 1 frame, at 48x88 tokens
    conv = 2 * (2 * 2 * 48 * 88 * 2048 * 768 * 36 + 2 * 1 * 48 * 88 * 3072 * 2048 * 36)
    assert by["LQ projection"].detail["conv_flops"] == conv
    assert by["TCDecoder"].flops > 1e13 and by["self-attention"].detail["kept_fraction"] == pytest.approx(0.4545, 1e-3)
    mem = P.memory_estimate(cfg, 768, 1408)
    assert 3.0 < mem["weights"] < 4.0 and mem["kv_cache"] == pytest.approx(30 * 2 * 4 * 8448 * 1536 * 2 / 1e9)


# ------------------------------------------------------------------------------------------------------------
# GPU: the compiled fast path against the module path
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_compiled_fast_dit_equals_module_path_on_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cfg = FlashVSRConfig.from_name("official", num_layers=2)  # official widths (head dim 128), two blocks
    torch.manual_seed(0)
    dit = WanDiT(cfg).cuda().to(torch.bfloat16).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cuda", torch.bfloat16, h=32, w=64)
    ref, _ = _stream(dit, "reference", steps, lqs, ctx)
    fast, _ = _stream(dit, "fast", steps, lqs, ctx)
    for a, b in zip(fast, ref, strict=True):
        rel = float((a.float() - b.float()).norm() / b.float().norm())
        assert rel < 1e-2, rel


@pytest.mark.gpu
def test_compiled_fast_dit_with_the_8_bit_cache_stays_close_on_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cfg = FlashVSRConfig.from_name("official", num_layers=2)
    torch.manual_seed(0)
    dit = WanDiT(cfg).cuda().to(torch.bfloat16).eval().requires_grad_(False)
    steps, lqs, ctx = _inputs(cfg, "cuda", torch.bfloat16, h=32, w=64)
    full, _ = _stream(dit, "fast", steps, lqs, ctx)
    eight, cache = _stream(dit, "fast", steps, lqs, ctx, bits=8)
    assert cache.keys[0].dtype == torch.int8
    for a, b in zip(eight, full, strict=True):
        rel = float((a.float() - b.float()).norm() / b.float().norm())
        assert rel < 2e-2, rel


@pytest.mark.gpu
def test_folded_lq_conv_equals_conv3d_on_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    lq = LQProjection(out_dim=256, hidden=(256, 384)).cuda().to(torch.bfloat16).eval()
    video = torch.rand(1, 3, 9, 128, 256, device="cuda", dtype=torch.bfloat16) * 2 - 1
    with torch.no_grad():
        ref = lq(video)[0].float()
        lq.fast_convs = True
        fast = lq(video)[0].float()
    assert float((fast - ref).norm() / ref.norm()) < 1e-2


@pytest.mark.gpu
def test_compiled_decoder_equals_eager_on_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from model.flashvsr.fast_convs import compile_decoder

    torch.manual_seed(0)
    dec = TCDecoder(channels=(64, 32, 32, 32)).cuda().to(torch.bfloat16).eval()
    channels_last_decoder(dec)
    lat = [torch.randn(1, 1, 16, 8, 12, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
    cond = [torch.rand(1, 3, n, 64, 96, device="cuda", dtype=torch.bfloat16) * 2 - 1 for n in (1, 4, 4)]
    outs = {}
    with torch.no_grad():
        for on in (False, True):
            compile_decoder(dec, on)
            dec.reset()
            outs[on] = torch.cat([dec.decode(x, c) for x, c in zip(lat, cond, strict=True)], dim=1).float()
    assert outs[True].shape == outs[False].shape == (1, 9, 3, 64, 96)
    assert float((outs[True] - outs[False]).norm() / outs[False].norm()) < 1e-2
