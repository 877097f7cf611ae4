"""The TCDecoder's CPU path (model/flashvsr/cpu_decoder.py) computes the module code's function: float32 to
rounding, bfloat16 within its precision, streaming memory included; autograd and other dtypes keep the module."""

from __future__ import annotations

import pytest
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.cpu_decoder import bf16_supported, cpu_layers
from model.flashvsr.tc_decoder import TCDecoder, _layers


def _decoder(cond_skip: int = 8, residual: bool = True, **kw: object) -> TCDecoder:
    cfg = FlashVSRConfig.from_name("tiny", tc_residual=residual, tc_cond_skip=cond_skip, **kw)
    torch.manual_seed(0)
    dec = TCDecoder.from_config(cfg).eval()
    with torch.no_grad():  # a trained decoder: no zero-initialised or identity layers
        for p in dec.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return dec.to(memory_format=torch.channels_last)


def _stream(dec: TCDecoder, lat: torch.Tensor, cond: torch.Tensor, fast: bool, dtype: torch.dtype) -> torch.Tensor:
    """Decode latents 0, 1..2, 3 (1 + 8 + 4 LR frames) as three calls, the pipeline's streaming."""
    dec.cpu_fast, dec.cpu_dtype = fast, dtype
    dec.reset()
    with torch.no_grad():
        parts = [dec.decode(lat[:, :1], cond[:, :, :1]), dec.decode(lat[:, 1:3], cond[:, :, 1:9])]
        parts.append(dec.decode(lat[:, 3:], cond[:, :, 9:]))
    return torch.cat(parts, 1)


@pytest.mark.parametrize(("batch", "cond_skip", "residual"), [(1, 8, True), (2, 0, False)])
def test_cpu_path_equals_module_code(batch: int, cond_skip: int, residual: bool) -> None:
    dec = _decoder(cond_skip, residual)
    g = torch.Generator().manual_seed(1)
    lat = torch.randn(batch, 4, 16, 3, 5, generator=g)
    cond = torch.rand(batch, 3, 13, 24, 40, generator=g) * 2 - 1
    ref = _stream(dec, lat, cond, fast=False, dtype=torch.float32)
    got = _stream(dec, lat, cond, fast=True, dtype=torch.float32)
    assert got.shape == ref.shape == (batch, 13, 3, 24, 40) and got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=0, atol=2e-6)
    assert ref.std() > 0.05  # the decoder does something the comparison can see


def test_cpu_path_without_time_or_space_upscaling() -> None:
    """TGrow stride 1 and a scale-1 Upsample (as configs may set) take the same path."""
    dec = _decoder(0, False, tc_time_upscale=(False, True), tc_space_upscale=(True, False, True))
    x = torch.randn(1, 2, 16 + 768, 3, 4)  # latents behind the unshuffled conditioning, as decode builds them
    with torch.no_grad():
        ref, ref_mem = _layers(dec, x, {}, None)
        got, mem = cpu_layers(dec, x, {}, None)
    torch.testing.assert_close(got, ref, rtol=0, atol=2e-6)
    assert got.shape == (1, 4, 3, 12, 16) and mem.keys() == ref_mem.keys() and len(mem) == 9


@pytest.mark.skipif(not bf16_supported(), reason="no native bfloat16 on this CPU")
def test_bf16_path_is_close_and_follows_weight_changes() -> None:
    dec = _decoder()
    g = torch.Generator().manual_seed(2)
    lat = torch.randn(1, 4, 16, 3, 5, generator=g)
    cond = torch.rand(1, 3, 13, 24, 40, generator=g) * 2 - 1
    ref = _stream(dec, lat, cond, fast=False, dtype=torch.float32)
    got = _stream(dec, lat, cond, fast=True, dtype=torch.bfloat16)
    assert got.dtype == torch.float32
    err = (got - ref).abs()
    assert 0 < err.max() < 0.05 and err.mean() < 5e-3
    with torch.no_grad():  # load_state_dict copies in place: the cached bfloat16 weights must follow
        dec.load_state_dict({k: v * 0.5 for k, v in dec.state_dict().items()})
    moved = _stream(dec, lat, cond, fast=True, dtype=torch.bfloat16)
    torch.testing.assert_close(moved, _stream(dec, lat, cond, fast=False, dtype=torch.float32), rtol=0, atol=0.05)
    assert (moved - got).abs().max() > 0.05


def test_autograd_and_float64_keep_the_module_code() -> None:
    dec = _decoder().train()
    lat = torch.randn(1, 1, 16, 3, 5, requires_grad=True)
    cond = torch.rand(1, 3, 1, 24, 40) * 2 - 1
    dec.decode(lat, cond).sum().backward()  # in-place CPU path would break autograd
    assert lat.grad is not None and lat.grad.abs().sum() > 0
    dec64 = _decoder().double()
    with torch.no_grad():
        out = dec64(lat.detach().double(), cond.double())
    assert out.dtype == torch.float64


def test_bf16_dtype_on_cpu_means_the_decoder_convolutions_only() -> None:
    """`--dtype bf16` on CPU: DiT and LQ projection in fp32, the TCDecoder's CPU path in bfloat16; same output to
    within bfloat16 rounding of the decoder."""
    from model.flashvsr.pipeline import build_flashvsr

    fp32 = build_flashvsr("flashvsr-tiny", device="cpu")
    bf16 = build_flashvsr("flashvsr-tiny", device="cpu", dtype="bf16")
    assert fp32.decoder.cpu_dtype == torch.float32 and bf16.decoder.cpu_dtype == torch.bfloat16
    assert bf16.dtype == torch.float32 and next(bf16.dit.parameters()).dtype == torch.float32
    x = torch.rand(5, 3, 24, 32, generator=torch.Generator().manual_seed(0))
    a, b = fp32.upscale(x), bf16.upscale(x)
    mse = float(((a - b) ** 2).mean())
    assert 0 < mse < 1e-5  # > 50 dB apart, and not the same path
