from __future__ import annotations

import numpy as np
import pytest

from degradation.ops import (
    JPEG,
    Blur,
    BlurConfig,
    GaussianNoise,
    NoiseConfig,
    PoissonNoise,
    Resize,
    ResizeConfig,
    UnsharpMask,
    VideoCompression,
    op_from_record,
    poisson_levels,
    sample_noise,
    to_uint8,
)
from vsrcore import testing


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.fixture
def clip() -> np.ndarray:
    return testing.moving_texture(6, 64, 96, dx=2).astype(np.float32) / 255


def test_gaussian_noise_statistics() -> None:
    flat = np.full((4, 128, 128, 3), 0.5, np.float32)
    noisy = GaussianNoise((12.0,), gray=False, seed=3).apply(flat)
    residual = noisy - flat
    assert abs(residual.mean()) < 2e-3
    assert residual.std() * 255 == pytest.approx(12.0, rel=0.02)
    assert abs(np.corrcoef(residual[..., 0].ravel(), residual[..., 1].ravel())[0, 1]) < 0.02
    gray = GaussianNoise((12.0,), gray=True, seed=3).apply(flat) - flat
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    # per-frame sigmas are honoured frame by frame, and each frame gets a fresh realisation
    ramp = GaussianNoise((2.0, 10.0, 20.0, 30.0), gray=False, seed=1).apply(flat) - flat
    np.testing.assert_allclose(ramp.reshape(4, -1).std(axis=1) * 255, [2, 10, 20, 30], rtol=0.03)
    assert not np.allclose(residual[0], residual[1])


def test_poisson_noise_statistics() -> None:
    level = 0.4
    flat = np.full((2, 128, 128, 3), level, np.float32)
    flat[:, :, :2] = 0.0  # two distinct 8-bit values -> v = 2
    v = poisson_levels(flat[0])
    assert v == 2.0
    noisy = PoissonNoise((1.0,), gray=False, seed=0).apply(flat)
    region = (noisy - flat)[:, :, 2:]
    # Poisson(level * v) / v has mean `level` and variance level / v
    assert abs(region.mean()) < 0.01
    assert region.var() == pytest.approx(level / v, rel=0.05)
    half = (PoissonNoise((0.5,), gray=False, seed=0).apply(flat) - flat)[:, :, 2:]
    assert half.var() == pytest.approx(0.25 * level / v, rel=0.05)


def test_noise_sampler_uses_ranges(rng: np.random.Generator) -> None:
    cfg = NoiseConfig()
    kinds = [sample_noise(rng, 5, cfg, drift=True) for _ in range(200)]
    gauss = [k for k in kinds if isinstance(k, GaussianNoise)]
    assert 60 < len(gauss) < 140
    for k in gauss:
        assert len(k.sigmas) == 5 and all(1 <= s <= 30 for s in k.sigmas)
        assert max(abs(a - b) for a, b in zip(k.sigmas, k.sigmas[1:], strict=False)) <= cfg.sigma_step + 1e-12
    for k in kinds:
        if isinstance(k, PoissonNoise):
            assert all(0.05 <= s <= 3 for s in k.scales)
    assert 40 < sum(k.gray for k in kinds) < 120


def test_jpeg_quality_orders_psnr(clip: np.ndarray) -> None:
    scores = [_psnr(JPEG((q,)).apply(clip), clip) for q in (10, 30, 60, 95)]
    assert scores == sorted(scores) and scores[-1] - scores[0] > 5


def test_jpeg_swap_flag_changes_output(clip: np.ndarray) -> None:
    assert not np.array_equal(JPEG((40,), True).apply(clip), JPEG((40,), False).apply(clip))


@pytest.mark.parametrize("codec,frames", [("libx264", 8), ("mpeg4", 30)])
def test_codec_bitrate_orders_psnr(codec: str, frames: int) -> None:
    # Gray content: 4:2:0 chroma loss would cap PSNR near 30 dB on a colourful texture. FFmpeg's mpeg4
    # rate control needs a few dozen frames to act, and saturates at its quantiser floor.
    clip = testing.moving_texture(frames, 96, 128, dx=3).astype(np.float32).mean(-1, keepdims=True) / 255
    clip = np.repeat(clip, 3, -1)
    scores = [_psnr(VideoCompression(codec, br, fps=25).apply(clip), clip) for br in (5_000, 20_000, 2_000_000)]
    assert scores == sorted(scores) and scores[-1] - scores[0] > 5


def test_bitrate_per_frame_is_gentler_than_per_second() -> None:
    clip = testing.moving_texture(8, 96, 128, dx=3).astype(np.float32) / 255
    at_rate1 = _psnr(VideoCompression("libx264", 20_000, fps=1).apply(clip), clip)
    at_25 = _psnr(VideoCompression("libx264", 20_000, fps=25).apply(clip), clip)
    assert at_rate1 > at_25 + 2


def test_codec_handles_odd_sizes_and_wraparound_flag() -> None:
    clip = testing.moving_texture(4, 33, 47).astype(np.float32) / 255
    assert VideoCompression("libx264", 100_000).apply(clip).shape == clip.shape
    over = np.full((1, 2, 2, 3), 1.2, np.float32)
    assert to_uint8(over).max() == 255 and to_uint8(over, wraparound=True).max() == 50  # 306 mod 256


def test_blur_drift_stays_in_range(rng: np.random.Generator) -> None:
    cfg = BlurConfig()
    for _ in range(100):
        blur = Blur.sample(rng, 12, cfg, drift=True, beta_redraw=False)
        assert len(blur.kernels) in (1, 12)
        for a, b in zip(blur.kernels, blur.kernels[1:], strict=False):
            assert a.type == b.type and a.size == b.size
            assert abs(a.sigma_x - b.sigma_x) <= cfg.sigma_step + 1e-12
        for k in blur.kernels:
            assert k.size in cfg.sizes
            if k.type != "sinc":
                assert 0.2 <= k.sigma_x <= 3 and 0.2 <= k.sigma_y <= 3
            if k.type.startswith("generalized"):
                assert 0.5 <= k.beta <= 4
    fixed = Blur.sample(rng, 12, cfg, drift=False, beta_redraw=False)
    assert len(fixed.kernels) == 1


def test_beta_redraw_quirk_varies_beta_per_frame() -> None:
    rng = np.random.default_rng(0)
    cfg = BlurConfig(kernel_types=("generalized_iso",), kernel_probs=(1.0,))
    blur = Blur.sample(rng, 8, cfg, drift=False, beta_redraw=True)
    betas = [k.beta for k in blur.kernels]
    assert len(betas) == 8 and len(set(betas)) == 8 and all(0.5 <= b <= 4.0 for b in betas)
    assert len(Blur.sample(np.random.default_rng(0), 8, cfg, drift=False, beta_redraw=False).kernels) == 1


def test_resize_drift_and_even_sizes(rng: np.random.Generator) -> None:
    for _ in range(50):
        r = Resize.sample(rng, 10, 100, 150, ResizeConfig(), drift=True)
        assert all(h % 2 == 0 and w % 2 == 0 for h, w in r.sizes)
        assert all(14 <= h <= 150 for h, _ in r.sizes)
    r = Resize("bilinear", ((50, 60), (52, 62)))
    out = r.apply(np.zeros((2, 100, 120, 3), np.float32))
    assert [f.shape for f in out] == [(50, 60, 3), (52, 62, 3)]


def test_usm_sharpens_edges_only(clip: np.ndarray) -> None:
    flat = np.full((1, 64, 64, 3), 0.5, np.float32)
    np.testing.assert_allclose(UnsharpMask().apply(flat), flat, atol=1e-6)
    step = np.zeros((1, 64, 64, 3), np.float32)
    step[:, :, 32:] = 0.8
    out = UnsharpMask().apply(step)
    assert out[0, 32, 33, 0] > 0.8 and out[0, 32, 30, 0] == pytest.approx(0.0)  # overshoot clipped at 0


def test_records_round_trip(rng: np.random.Generator) -> None:
    ops = [
        Blur.sample(rng, 4, BlurConfig(), drift=True, beta_redraw=True),
        Resize.sample(rng, 4, 64, 96, ResizeConfig(), drift=True),
        sample_noise(rng, 4, NoiseConfig(), drift=True),
        JPEG((40, 41, 42, 43)),
        VideoCompression("mpeg4", 50_000),
    ]
    import json

    for op in ops:
        assert op_from_record(json.loads(json.dumps(op.to_record()))) == op


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_codec_crf_orders_psnr_and_is_repeatable(codec: str) -> None:
    clip = np.repeat(testing.moving_texture(6, 64, 96, dx=3).astype(np.float32).mean(-1, keepdims=True), 3, -1) / 255
    outs = {crf: VideoCompression(codec, None, fps=25, crf=crf).apply(clip) for crf in (45, 30, 12)}
    scores = [_psnr(outs[c], clip) for c in (45, 30, 12)]
    assert scores == sorted(scores) and scores[-1] - scores[0] > 5
    np.testing.assert_array_equal(VideoCompression(codec, None, fps=25, crf=30).apply(clip), outs[30])


def test_crf_config_samples_crf(rng: np.random.Generator) -> None:
    from degradation.ops import VideoCompressionConfig

    op = VideoCompression.sample(
        rng, VideoCompressionConfig(codecs=("libx265",), codec_probs=(1,), crf=(18, 35)), fps=25, wraparound=False
    )
    assert op.bitrate is None and 18 <= op.crf <= 35 and op.codec == "libx265"
