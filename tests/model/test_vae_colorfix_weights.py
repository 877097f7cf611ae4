"""Wan VAE decoder (tiny config), colour fix properties, strict weight loading, `flashvsr weights verify`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.flashvsr.colorfix import adain, color_fix, wavelet_decompose, wavelet_fix
from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.vae import WanVAEDecoder
from model.flashvsr.weights import StateDictMismatch, WeightsError, load_strict, read_state_dict


def test_vae_decoder_shapes_and_streaming() -> None:
    """T latents -> 4T - 3 frames at 8x; per-latent streaming equals one call (causal caches, first-frame rule)."""
    torch.manual_seed(0)
    vae = WanVAEDecoder.from_config(FlashVSRConfig.from_name("tiny")).double()
    z = torch.randn(1, 16, 4, 3, 5, dtype=torch.float64)
    with torch.no_grad():
        whole = vae(z)
        vae.reset()
        parts = [vae.decode(z[:, :, :1]), vae.decode(z[:, :, 1:3]), vae.decode(z[:, :, 3:])]
    assert whole.shape == (1, 3, 13, 24, 40) and [p.shape[2] for p in parts] == [1, 8, 4]
    torch.testing.assert_close(torch.cat(parts, 2), whole, rtol=0, atol=1e-12)
    assert whole.abs().max() <= 1


def test_adain_matches_reference_statistics() -> None:
    g = torch.Generator().manual_seed(1)
    content = torch.rand(3, 3, 20, 24, generator=g)
    ref = torch.rand(3, 3, 10, 12, generator=g) * 0.5 + 0.2
    out = adain(content, ref)
    torch.testing.assert_close(out.mean(dim=(2, 3)), ref.mean(dim=(2, 3)), rtol=0, atol=1e-5)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), ref.std(dim=(2, 3), unbiased=False),
                               rtol=1e-3, atol=1e-4)  # fmt: skip


def test_wavelet_fix_keeps_reference_low_frequencies() -> None:
    g = torch.Generator().manual_seed(2)
    content = torch.rand(2, 3, 64, 64, generator=g)
    ref = torch.rand(2, 3, 64, 64, generator=g)
    out = wavelet_fix(content, ref)
    hi_c, _ = wavelet_decompose(content)
    _, lo_r = wavelet_decompose(ref)
    torch.testing.assert_close(out, hi_c + lo_r)
    # a constant colour cast on the content is removed (it lives in the low band)
    torch.testing.assert_close(wavelet_fix(content + 0.3, ref), out, rtol=0, atol=1e-5)
    assert color_fix(content.half(), ref.half(), "wavelet").dtype == torch.float16


def _tiny_lq() -> LQProjection:
    return LQProjection.from_config(FlashVSRConfig.from_name("tiny"))


def test_strict_loading_lists_missing_and_unexpected_keys(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    module = _tiny_lq()
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["conv_one.weight"] = state.pop("conv1.weight")  # renamed
    del state["norm2.gamma"]  # removed
    path = tmp_path / "lq.safetensors"
    save_file(state, str(path))
    with pytest.raises(StateDictMismatch) as e:
        load_strict(_tiny_lq(), read_state_dict(path), str(path))
    msg = str(e.value)
    assert "missing keys (2): conv1.weight, norm2.gamma" in msg and "unexpected keys (1): conv_one.weight" in msg
    assert str(path) in msg


def test_strict_loading_roundtrip_and_shape_mismatch(tmp_path: Path) -> None:
    src, dst = _tiny_lq(), _tiny_lq()
    path = tmp_path / "lq.ckpt"
    torch.save(src.state_dict(), path)
    load_strict(dst, read_state_dict(path), str(path))
    torch.testing.assert_close(dst.conv1.weight, src.conv1.weight)
    bad = dict(src.state_dict())
    bad["linear_layers.0.bias"] = torch.zeros(3)
    with pytest.raises(StateDictMismatch, match=r"linear_layers.0.bias file \[3\] vs model \[64\]"):
        load_strict(dst, bad, "x")


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "obj": Path("/")}, path)
    with pytest.raises(WeightsError, match="cannot be read as weights"):
        read_state_dict(path)


def test_vae_file_encoder_keys_are_skipped() -> None:
    from model.flashvsr.weights import SKIPPED_PREFIXES

    vae = WanVAEDecoder.from_config(FlashVSRConfig.from_name("tiny"))
    state = {**vae.state_dict(), "encoder.conv1.weight": torch.zeros(1), "conv1.bias": torch.zeros(1)}
    load_strict(vae, state, "Wan2.1_VAE.pth", SKIPPED_PREFIXES["vae_decoder"])
    with pytest.raises(StateDictMismatch, match="unexpected keys"):
        load_strict(vae, state, "Wan2.1_VAE.pth")


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vsrcore.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_weights_verify_and_fetch_name_missing_files(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "HOME": str(tmp_path), "FLASHVSR_WEIGHTS": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    (tmp_path / "flashvsr-v1.1").mkdir()
    (tmp_path / "flashvsr-v1.1" / "TCDecoder.ckpt").write_bytes(b"not a checkpoint")
    r = _cli("weights", "verify", "flashvsr-v1.1", env=env)
    assert r.returncode == 3, r.stderr
    assert "MISSING flashvsr-v1.1/LQ_proj_in.ckpt" in r.stdout
    assert "MISSING flashvsr-v1.1/posi_prompt.pth" in r.stdout and "no sha256 recorded" in r.stdout
    assert "DOES NOT LOAD" in r.stdout and "TCDecoder.ckpt" in r.stdout
    r = _cli("weights", "fetch", "flashvsr-v1", env=env)
    assert r.returncode == 3 and "cannot download here" in r.stdout and "HF_HUB_OFFLINE" in r.stdout
    assert "huggingface.co/JunhaoZhuang/FlashVSR" in r.stdout
    assert _cli("weights", "list", env=env).returncode == 0
