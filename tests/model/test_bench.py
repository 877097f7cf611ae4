"""model.bench: resolution names, PSNR, lever switching, and the cost-model CLI (the timed runs need a GPU)."""

from __future__ import annotations

import math

import pytest
import torch

from model import bench, perf_model
from model.flashvsr.pipeline import build_flashvsr


def test_parse_resolution() -> None:
    assert bench.parse_resolution("1080p") == (1080, 1920)
    assert bench.parse_resolution("768x1408") == (768, 1408)
    with pytest.raises(SystemExit, match="unknown resolution"):
        bench.parse_resolution("huge")


def test_psnr() -> None:
    a = torch.rand(2, 3, 8, 8)
    assert bench.psnr(a, a) == math.inf
    assert bench.psnr(a, (a + 0.01).clamp(0, 1)) > 38
    assert bench.psnr(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)) == 0.0


@pytest.mark.filterwarnings("ignore:.*RANDOM weights")
def test_configure_switches_every_lever_and_back() -> None:
    model = build_flashvsr("flashvsr-v1.1", device="cpu", dtype="fp32", allow_random_weights=True,
                           overrides={"dim": 64, "ffn_dim": 64, "num_heads": 2, "num_layers": 1, "text_dim": 8,
                                      "lq_hidden": (8, 8), "tc_channels": (8, 8, 8, 8)})  # fmt: skip
    bench.configure(model, {"dit", "lq", "dec"})
    assert model.settings.backend == "fast" and model.lq_proj.fast_convs
    assert model.decoder.decoder[1].weight.is_contiguous(memory_format=torch.channels_last)
    frames = torch.rand(29, 3, 32, 32)
    fast = torch.cat(list(model.stream(frames.split(8))))
    bench.configure(model, set())
    assert model.settings.backend == "flex" and not model.lq_proj.fast_convs
    assert model.decoder.decoder[1].weight.is_contiguous()
    model.settings.backend = "reference"
    ref = torch.cat(list(model.stream(frames.split(8))))
    assert fast.shape == ref.shape == (29, 3, 128, 128)
    assert bench.psnr(fast, ref) > 60  # float32 on the CPU: the same function


@pytest.mark.filterwarnings("ignore:.*RANDOM weights")
@pytest.mark.parametrize("compat", ["default", "official"])
def test_uint8_output_is_the_float_output_quantised(compat: str) -> None:
    from vsrcore.tensors import float_to_uint8

    model = build_flashvsr("flashvsr-v1.1", device="cpu", dtype="fp32", allow_random_weights=True, compat=compat,
                           overrides={"dim": 64, "ffn_dim": 64, "num_heads": 2, "num_layers": 1, "text_dim": 8,
                                      "lq_hidden": (8, 8), "tc_channels": (8, 8, 8, 8)})  # fmt: skip
    frames = torch.rand(21, 3, 32, 32)
    bench.configure(model, set())  # the same settings for both runs: only the output conversion differs
    ref = torch.cat(list(model.stream(frames.split(8), total=21)))
    bench.configure(model, {"u8"})
    out = torch.cat(list(model.stream(frames.split(8), total=21)))
    assert out.dtype == torch.uint8 and out.shape == ref.shape
    want = torch.from_numpy(float_to_uint8(ref, model.uint8_rounding)).permute(0, 3, 1, 2)
    assert torch.equal(out, want)
    assert bench.psnr(bench.as_float(out), ref) > 50


def test_perf_model_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf_model.main(["--height", "768", "--width", "1408"]) == 0
    out = capsys.readouterr().out
    assert "self-attention" in out and "TCDecoder" in out and '"kept": 7919' in out


def test_bench_without_gpu_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert bench.main(["--res", "540p"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().out
