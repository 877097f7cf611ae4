"""FlashVSR modules: presets, official key/shape manifest, tiny-config forward/backward, streaming equivalences."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import AttentionSettings, KVCache, WanDiT
from model.flashvsr.vae import WanVAEDecoder


MANIFEST = json.loads((Path(__file__).parent / "golden" / "official_manifest.json").read_text())


# ------------------------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------------------------
def test_official_preset() -> None:
    cfg = FlashVSRConfig.from_name("official")
    assert (cfg.dim, cfg.ffn_dim, cfg.num_heads, cfg.num_layers) == (1536, 8960, 12, 30)
    assert (cfg.patch_size, cfg.in_dim, cfg.text_dim, cfg.freq_dim) == ((1, 2, 2), 16, 4096, 256)
    assert cfg.head_dim == 128 and cfg.rope_dims == (44, 42, 42)
    assert cfg.lq_channels == 768 and cfg.tc_latent_channels == 784
    assert (cfg.sparse_ratio, cfg.local_range, cfg.kv_ratio, cfg.boundary) == (2.0, 11, 3.0, "truncated")
    assert cfg.lq_variant == "causal" and FlashVSRConfig.from_name("official-v1").lq_variant == "buffer"


def test_presets_and_errors() -> None:
    tiny = FlashVSRConfig.from_name("tiny", num_layers=3)
    assert tiny.num_layers == 3 and tiny.rope_dims == (12, 10, 10)
    with pytest.raises(KeyError, match="did you mean 'tiny'"):
        FlashVSRConfig.from_name("tinny")
    with pytest.raises(ValueError, match="rope split"):
        FlashVSRConfig.from_name("tiny", rope_split=(10, 10, 10))


def test_importing_model_imports_no_torch() -> None:
    code = "import sys, model, model.flashvsr, model.flashvsr.config\nassert 'torch' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------------------------------------------------
# official state-dict manifest
# ------------------------------------------------------------------------------------------------------------
def _official(name: str, cfg: FlashVSRConfig) -> torch.nn.Module:
    with torch.device("meta"):
        return {
            "dit": WanDiT,
            "lq_proj": LQProjection.from_config,
            "tcdecoder": TCDecoder.from_config,
            "vae_decoder": WanVAEDecoder.from_config,
        }[name](cfg)


@pytest.mark.parametrize("preset", ["official", "official-v1"])
@pytest.mark.parametrize("module", ["dit", "lq_proj", "tcdecoder", "vae_decoder"])
def test_state_dict_matches_official_manifest(preset: str, module: str) -> None:
    got = {k: list(v.shape) for k, v in _official(module, FlashVSRConfig.from_name(preset)).state_dict().items()}
    want = MANIFEST["modules"][module]
    assert sorted(set(got) - set(want)) == [] and sorted(set(want) - set(got)) == []
    assert {k: s for k, s in got.items() if want[k] != s} == {}


def test_manifest_header_and_parameter_counts() -> None:
    header = MANIFEST["header"]
    assert header["commit"] == "b527c6f285fb30df530f5febc8b45764a789c961"
    # counts documented in reference/flashvsr.md (sum = 1752.18 M, the paper's Ours-Tiny; VAE decoder ~73.3 M)
    assert header["num_params"] == {
        "dit": 1_418_996_800,
        "lq_proj": 287_845_888,
        "tcdecoder": 45_338_371,
        "vae_decoder": 73_295_603,
    }
    assert header["num_tensors"]["dit"] == 825 and header["num_tensors"]["vae_decoder"] == 108
    for module, n in header["num_params"].items():
        assert sum(math.prod(s) for s in MANIFEST["modules"][module].values()) == n


# ------------------------------------------------------------------------------------------------------------
# tiny config: forward / backward
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny() -> FlashVSRConfig:
    return FlashVSRConfig.from_name("tiny")


def test_tiny_pipeline_shapes_forward_backward(tiny: FlashVSRConfig) -> None:
    """LR (B, 3, 25, H, W) -> LQ tokens -> DiT on 6 latents -> x0 -> TCDecoder -> 21 frames; grads everywhere."""
    torch.manual_seed(0)
    dit, lq, tc = WanDiT(tiny), LQProjection.from_config(tiny), TCDecoder.from_config(tiny)
    b, h, w = 2, 128, 256
    video = torch.rand(b, 3, 25, h, w) * 2 - 1
    feats = lq(video)
    assert len(feats) == 1 and feats[0].shape == (b, 6 * (h // 16) * (w // 16), tiny.dim)
    noise = torch.randn(b, tiny.in_dim, 6, h // 8, w // 8)
    ctx = torch.randn(b, 5, tiny.text_dim)
    v = dit(noise, ctx, lq=feats, attention=AttentionSettings(sparse_ratio=0.5, local_range=1))
    assert v.shape == noise.shape
    x0 = noise - v
    frames = tc(x0.transpose(1, 2), cond=video[:, :, :21])
    assert frames.shape == (b, 21, 3, h, w)
    assert torch.isfinite(frames).all()
    frames.square().mean().backward()
    for mod in (dit, lq, tc):
        for name, p in mod.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_predict_x0_is_noise_minus_velocity(tiny: FlashVSRConfig) -> None:
    torch.manual_seed(1)
    dit = WanDiT(tiny)
    noise, ctx = torch.randn(1, 16, 2, 16, 16), torch.randn(1, 3, tiny.text_dim)
    with torch.no_grad():
        torch.testing.assert_close(dit.predict_x0(noise, ctx), noise - dit(noise, ctx, timestep=1000.0))


def test_rope_positions_have_no_table_limit(tiny: FlashVSRConfig) -> None:
    torch.manual_seed(2)
    dit = WanDiT(tiny)
    x, ctx = torch.randn(1, 16, 2, 16, 16), torch.randn(1, 3, tiny.text_dim)
    with torch.no_grad():
        out = dit(x, ctx, frame_offset=40_000)  # far beyond the official 1024-entry table
    assert torch.isfinite(out).all()


# ------------------------------------------------------------------------------------------------------------
# streaming equivalences
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kv_ratio", "settings"), [(3.0, {"topk_ratio": 0.5, "local_range": 1}), (2.0, {})])
def test_dit_streaming_equals_whole_clip_with_causal_window(
    tiny: FlashVSRConfig, kv_ratio: float, settings: dict
) -> None:
    """Chunked streaming with the KV cache (first call 6 latents, then 2 at a time, RoPE offset 4 + 2i) equals
    one whole-clip pass with the chunk-causal window kv_len + 1: causality and eviction are right."""
    torch.manual_seed(3)
    dit = WanDiT(tiny).double()
    base = {"sparse_ratio": None, "local_range": None, **settings, "backend": "reference"}
    nchunks, hl, wl = 6, 32, 32
    lat = torch.randn(1, 16, 2 * nchunks, hl, wl, dtype=torch.float64)
    ntok = (hl // 2) * (wl // 2)
    lqt = torch.randn(1, 2 * nchunks * ntok, tiny.dim, dtype=torch.float64)
    ctx = dit.encode_context(torch.randn(1, 4, tiny.text_dim, dtype=torch.float64))
    cache = KVCache.from_ratio(kv_ratio)
    outs = []
    with torch.no_grad():
        for f0, f1 in [(0, 6)] + [(f, f + 2) for f in range(6, 2 * nchunks, 2)]:
            att = AttentionSettings(**base)
            outs.append(
                dit(
                    lat[:, :, f0:f1],
                    ctx,
                    lq=lqt[:, f0 * ntok : f1 * ntok],
                    cache=cache,
                    frame_offset=f0,
                    attention=att,
                )
            )
        assert cache.num_chunks(2 * ntok) == int(kv_ratio)
        whole = dit(lat, ctx, lq=lqt, attention=AttentionSettings(**base, causal_window=int(kv_ratio) + 1))
    torch.testing.assert_close(torch.cat(outs, dim=2), whole, rtol=1e-9, atol=1e-9)


def test_lq_projection_stream_equals_whole_and_is_chunk_size_invariant(tiny: FlashVSRConfig) -> None:
    torch.manual_seed(4)
    lq = LQProjection.from_config(tiny).double()
    video = torch.randn(1, 3, 1 + 4 * 6, 32, 48, dtype=torch.float64)
    with torch.no_grad():
        whole = lq(video)[0]
        lq.reset()
        assert lq.step(video[:, :, :1]) is None
        parts = [lq.step(video[:, :, i : i + 4])[0] for i in range(1, 25, 4)]
        lq.reset()
        lq.step(video[:, :, :5])
        big = [lq.step(video[:, :, 5:17])[0], lq.step(video[:, :, 17:])[0]]
    assert whole.shape == (1, 6 * 2 * 3, tiny.dim)
    torch.testing.assert_close(torch.cat(parts, 1), whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.cat(big, 1), whole[:, 6:], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="4k frames"):
        lq.step(video[:, :, :3])


def test_lq_projection_buffer_variant_differs_from_causal(tiny: FlashVSRConfig) -> None:
    torch.manual_seed(5)
    causal = LQProjection.from_config(tiny)
    buffer = LQProjection.from_config(FlashVSRConfig.from_name("tiny", lq_variant="buffer"))
    buffer.load_state_dict(causal.state_dict())
    video = torch.randn(1, 3, 9, 16, 16)
    with torch.no_grad():
        a, b = causal(video)[0], buffer(video)[0]
    assert a.shape == b.shape and not torch.allclose(a, b)


def test_tc_decoder_streaming_equals_whole_clip(tiny: FlashVSRConfig) -> None:
    """Chunks of 6, 2, 2 latents (with 21, 8, 8 LR frames) decode to the same 37 frames as one call."""
    torch.manual_seed(6)
    tc = TCDecoder.from_config(tiny).double()
    lat = torch.randn(1, 10, 16, 4, 6, dtype=torch.float64)
    cond = torch.rand(1, 3, 37, 32, 48, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        whole = tc(lat, cond)
        tc.reset()
        parts = [tc.decode(lat[:, :6], cond[:, :, :21]), tc.decode(lat[:, 6:8], cond[:, :, 21:29])]
        parts.append(tc.decode(lat[:, 8:], cond[:, :, 29:]))
    assert [p.shape[1] for p in parts] == [21, 8, 8] and whole.shape == (1, 37, 3, 32, 48)
    torch.testing.assert_close(torch.cat(parts, 1), whole, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------------------
# GPU
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_tiny_dit_flex_equals_reference_on_cuda(tiny: FlashVSRConfig) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(7)
    dit = WanDiT(tiny).cuda()
    x = torch.randn(1, 16, 6, 48, 64, device="cuda")
    ctx = torch.randn(1, 4, tiny.text_dim, device="cuda")
    with torch.no_grad():
        outs = [
            dit(x, ctx, attention=AttentionSettings(sparse_ratio=0.3, local_range=3, backend=b))
            for b in ("reference", "flex")
        ]
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("cond_skip", [0, 8])
def test_residual_tcdecoder_starts_as_the_upsampled_lr_and_streams(cond_skip: int) -> None:
    cfg = FlashVSRConfig.from_name("tiny", tc_residual=True, tc_cond_skip=cond_skip)
    torch.manual_seed(0)
    dec = TCDecoder.from_config(cfg).eval()
    lat = torch.randn(1, 3, cfg.in_dim, 2, 2)
    cond = torch.rand(1, 3, 9, 16, 16) * 2 - 1  # 1 + 4 + 4 frames <-> 3 latents
    with torch.no_grad():
        whole = dec(lat, cond)
        assert torch.allclose(whole, ((cond + 1) / 2).transpose(1, 2))  # zero-initialised correction
        torch.nn.init.normal_(dec.decoder[-1].weight, std=0.1)  # a trained decoder: streaming == whole clip
        whole = dec(lat, cond)
        dec.reset()
        parts = [dec.decode(lat[:, :1], cond[:, :, :1]), dec.decode(lat[:, 1:], cond[:, :, 1:])]
    assert torch.allclose(torch.cat(parts, 1), whole, atol=1e-5)
    with pytest.raises(ValueError, match="conditioning"):
        dec(lat)
    assert (dec.cond_skip is not None) == bool(cond_skip)
    assert not any(k.startswith("cond_skip") for k in dec.state_dict()) or cond_skip  # release keys unchanged


def test_full_resolution_branch_sees_sub_block_detail() -> None:
    """With the coarse path blind to the conditioning, a one-pixel change still moves the correction, at that
    frame and within the branch's 5-conv receptive field only."""
    cfg = FlashVSRConfig.from_name("tiny", tc_residual=True, tc_cond_skip=8)
    torch.manual_seed(0)
    dec = TCDecoder.from_config(cfg).eval()
    torch.nn.init.normal_(dec.decoder[-1].weight, std=0.1)
    with torch.no_grad():
        dec.decoder[1].weight[:, : cfg.tc_cond_channels] = 0
    lat = torch.randn(1, 2, cfg.in_dim, 2, 2)
    cond = torch.rand(1, 3, 8, 16, 16) * 2 - 1
    moved = cond.clone()
    moved[0, :, 5, 3, 3] = -moved[0, :, 5, 3, 3]
    with torch.no_grad():
        diff = dec(lat, cond) - dec(lat, moved) - (cond - moved).transpose(1, 2)[:, 3:] / 2  # minus the base
    diff = diff.abs().amax(2)[0]  # (frames, H, W); the first 3 frames are trimmed
    assert diff[5 - 3, 3, 3] > 0 and diff[5 - 3, 9:, 9:].max() == 0 and diff[(0, 1, 3, 4), :, :].max() == 0
