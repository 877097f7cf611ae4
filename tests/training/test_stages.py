"""Each stage's loss decreases on a tiny synthetic overfit run; the DMD gradient points the right way."""

from __future__ import annotations

import copy

import pytest
import torch

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.tc_decoder import TCDecoder
from model.flashvsr.transformer import WanDiT
from training import stages as S
from training.autoencoder import TinyVideoAE
from training.data import PairBatch
from training.losses import dmd_gradient, dmd_loss, fm_noisy


# the tiny preset with an even smaller (real) autoencoder, to keep the CPU tests fast
CFG = FlashVSRConfig.from_name("tiny", vae_dim=4, vae_dim_mult=(1, 1, 2, 2), vae_num_res_blocks=1)


def _batch(size: int, t_lat: int = 2, images: int = 1) -> PairBatch:  # noqa: D103
    """Smooth random clips (1, 4T+1, 3, size, size) and photos, LQ by x4 area downscale."""
    g = torch.Generator().manual_seed(0)

    def smooth(n: int, t: int) -> torch.Tensor:
        x = torch.rand(n * t, 3, max(size // 8, 2), max(size // 8, 2), generator=g)
        return torch.nn.functional.interpolate(x, size=size, mode="bilinear").unflatten(0, (n, t))

    def down(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x.flatten(0, 1), 4).unflatten(0, x.shape[:2])

    v, i = smooth(1, 4 * t_lat + 1), smooth(images, 1)
    return PairBatch(v, down(v), i, down(i))


def _overfit(step, parts, batch, steps: int, lr: float, *extra, key: str = "loss", opts=None) -> tuple[float, float]:  # noqa: ANN001
    """(first, last) value of losses[key] over `steps` Adam steps on one batch with fixed noise."""
    params = [p for m in parts.values() if m.training for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    first = last = None
    for _ in range(steps):
        gen = torch.Generator().manual_seed(123)  # the same noise every step: a pure overfit
        losses = step(parts, batch, gen, opts or S.StageOptions(), *extra)
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        last = float(losses[key].detach())
        first = last if first is None else first
    return first, last  # type: ignore[return-value]


def _frozen(m: torch.nn.Module) -> torch.nn.Module:
    return m.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def ae() -> TinyVideoAE:
    torch.manual_seed(0)
    return TinyVideoAE(CFG)


def test_autoencoder_shapes_and_causality(ae: TinyVideoAE) -> None:
    x = torch.rand(1, 3, 9, 16, 16) * 2 - 1
    mu, _ = ae.encode(x)
    assert tuple(mu.shape) == (1, 16, 3, 2, 2) and tuple(ae.decode(mu).shape) == (1, 3, 9, 16, 16)
    y = x.clone()
    y[:, :, 5:] = 0  # frames of latent 2 only
    assert torch.equal(ae.encode(y)[0][:, :, :2], mu[:, :, :2])


def test_stage0_loss_decreases(ae: TinyVideoAE) -> None:
    parts = {"ae": copy.deepcopy(ae).train()}
    first, last = _overfit(S.stage0_step, parts, _batch(16, t_lat=1), 8, 1e-2)
    assert last < 0.7 * first


def _dit_parts(ae: TinyVideoAE) -> dict[str, torch.nn.Module]:
    torch.manual_seed(1)
    return {
        "ae": _frozen(copy.deepcopy(ae)),
        "dit": WanDiT(CFG).train(),
        "lq_proj": LQProjection.from_config(CFG).train(),
    }


def test_stage1_loss_decreases(ae: TinyVideoAE) -> None:
    ctx = torch.randn(1, 16, CFG.text_dim)
    first, last = _overfit(S.stage1_step, _dit_parts(ae), _batch(128, images=2), 8, 3e-3, ctx)
    assert last < 0.7 * first


def test_stage2_loss_decreases(ae: TinyVideoAE) -> None:
    ctx = torch.randn(1, 16, CFG.text_dim)
    first, last = _overfit(S.stage2_step, _dit_parts(ae), _batch(128, t_lat=2, images=0), 8, 3e-3, ctx)
    assert last < 0.7 * first


def test_stage3_loss_decreases(ae: TinyVideoAE) -> None:
    parts = _dit_parts(ae)
    parts["real_dit"], parts["real_lq"] = (
        _frozen(copy.deepcopy(parts["dit"])),
        _frozen(copy.deepcopy(parts["lq_proj"])),
    )
    parts["fake_dit"], parts["fake_lq"] = copy.deepcopy(parts["dit"]), copy.deepcopy(parts["lq_proj"])
    ctx = torch.randn(1, 16, CFG.text_dim)
    batch = _batch(128, images=0)
    # the fake score's flow-matching loss and (weighted up, against the random-init DMD pull) the generator's
    # pixel loss both fall
    opts = S.StageOptions(pixel_weight=50.0)
    first, last = _overfit(S.stage3_step, parts, batch, 6, 3e-3, ctx, key="pix_mse", opts=opts)
    assert last < 0.95 * first
    parts["dit"].eval(), parts["lq_proj"].eval()  # fake score alone: its target (the student's law) stands still
    first, last = _overfit(S.stage3_step, parts, batch, 4, 3e-3, ctx, key="fake_fm", opts=opts)
    assert last < first


def test_decoder_loss_decreases(ae: TinyVideoAE) -> None:
    torch.manual_seed(2)
    parts = {"ae": _frozen(copy.deepcopy(ae)), "tcdecoder": TCDecoder.from_config(CFG).train()}
    first, last = _overfit(S.decoder_step, parts, _batch(16, t_lat=1), 10, 3e-3)
    assert last < 0.7 * first


@pytest.mark.parametrize("loss", ["l1", "psnr"])
def test_decoder_gt_term_options_decrease(ae: TinyVideoAE, loss: str) -> None:
    torch.manual_seed(2)
    parts = {"ae": _frozen(copy.deepcopy(ae)), "tcdecoder": TCDecoder.from_config(CFG).train()}
    opts = S.StageOptions(decoder_loss=loss, full_weight=0.0)
    key = {"l1": "l1_gt", "psnr": "psnr_loss"}[loss]
    first, last = _overfit(S.decoder_step, parts, _batch(16, t_lat=1), 10, 3e-3, key=key, opts=opts)
    assert last < first - (0.5 if loss == "psnr" else 0.3 * abs(first))
    with pytest.raises(ValueError, match="decoder_loss"):
        S.decoder_step(parts, _batch(16, t_lat=1), torch.Generator(), S.StageOptions(decoder_loss="l2"))


def test_preset_weights_weigh_each_sample_by_its_degradation(ae: TinyVideoAE) -> None:
    from dataclasses import replace

    torch.manual_seed(2)
    parts = {"ae": _frozen(copy.deepcopy(ae)), "tcdecoder": TCDecoder.from_config(CFG).eval()}
    batch = replace(_batch(16, t_lat=1, images=2), records=[{"preset": "bicubic"}, {"preset": "realbasicvsr"},
                                                             {"preset": "bicubic"}])  # fmt: skip
    gen = torch.Generator()

    def mse(**weights: float) -> float:
        opts = S.StageOptions(full_weight=0.0, preset_weights=weights)
        return float(S.decoder_step(parts, batch, gen, opts)["mse_gt"])

    every = mse()
    photo_real = mse(bicubic=0.0)  # only the realbasicvsr photo counts
    clean = mse(realbasicvsr=0.0)  # the clip and the other photo
    assert every == pytest.approx((photo_real + 2 * clean) / 3, rel=1e-5)
    assert mse(realbasicvsr=2.0) == pytest.approx((2 * photo_real + 2 * clean) / 4, rel=1e-5)
    with pytest.raises(ValueError, match="record per sample"):
        S.decoder_step(parts, replace(batch, records=[]), gen, S.StageOptions(preset_weights={"bicubic": 1.0}))


def test_decoder_on_student_latents_trains_the_residual_decoder(ae: TinyVideoAE) -> None:
    cfg = FlashVSRConfig.from_name("tiny", tc_residual=True)
    parts = _dit_parts(ae)
    for name in ("dit", "lq_proj"):
        _frozen(parts[name])
    torch.manual_seed(3)
    parts["tcdecoder"] = TCDecoder.from_config(cfg).train()
    ctx = torch.randn(1, 16, CFG.text_dim)
    opts = S.StageOptions(decoder_latents="student", full_weight=0.0)  # the random test AE is no target
    batch = _batch(128, t_lat=2, images=1)
    first, last = _overfit(S.decoder_step, parts, batch, 10, 3e-4, ctx, key="mse_gt", opts=opts)
    # the untrained residual decoder already is the bicubic upsampling (its first loss), and training improves on it
    bicubic = (S.upsample_lq(batch.video_lq[:, :5], 4).transpose(1, 2) + 1) / 2
    video_bicubic = float(torch.nn.functional.mse_loss(bicubic, batch.video_gt[:, :5]))
    assert first < 2 * video_bicubic + 0.05 and last < first
    with pytest.raises(ValueError, match="student"):
        S.decoder_step({"ae": parts["ae"], "tcdecoder": parts["tcdecoder"]}, batch, torch.Generator(), opts)


def test_random_causal_window_follows_the_official_distribution() -> None:
    g = torch.Generator().manual_seed(0)
    w = [S.random_causal_window(10, g) for _ in range(2000)]
    assert min(w) == 3 and max(w) <= 9
    assert 0.3 < sum(x == 3 for x in w) / len(w) < 0.6  # kv_ratio = U^2 (local_num - 4) + 2 piles up near 2


# ---------------------------------------------------------------------------------------------------------------
# DMD on a toy with analytic scores
# ---------------------------------------------------------------------------------------------------------------
def _gaussian_x0(mu: torch.Tensor, s: float):  # noqa: ANN202
    """E[x0 | x_t] when x0 ~ N(mu, s^2 I) and x_t = (1 - sigma) x0 + sigma eps (the optimal x0-predictor)."""

    def f(x_t: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        a = 1 - sigma
        k = a * s * s / (a * a * s * s + sigma * sigma)
        return mu + k * (x_t - a * mu)

    return f


def test_dmd_gradient_points_from_fake_to_real() -> None:
    g = torch.Generator().manual_seed(0)
    mu_real, mu_fake = torch.tensor([1.0, -2.0, 0.5, 3.0]), torch.tensor([-1.0, 0.0, 2.0, 1.0])
    real, fake = _gaussian_x0(mu_real, 0.5), _gaussian_x0(mu_fake, 0.5)
    x0 = mu_fake + 0.5 * torch.randn(256, 4, generator=g)  # the generator currently samples the fake law
    sigma = torch.rand(256, 1, generator=g) * 0.96 + 0.02
    x_t, _ = fm_noisy(x0, torch.randn(256, 4, generator=g), sigma)
    grad = dmd_gradient(x0, real(x_t, sigma), fake(x_t, sigma))
    # analytically, fake - real = (mu_fake - mu_real) * sigma^2 / ((1-sigma)^2 s^2 + sigma^2): the same direction
    direction = torch.nn.functional.cosine_similarity(grad, (mu_fake - mu_real).expand_as(grad), dim=1)
    assert float(direction.min()) > 0.999
    # descending the DMD loss moves the generator's samples towards the real distribution
    x = x0.clone().requires_grad_(True)
    dmd_loss(x, grad).backward()
    moved = x.detach() - 1000.0 * x.grad
    assert float((moved.mean(0) - mu_real).norm()) < float((x0.mean(0) - mu_real).norm())
    # and with equal distributions there is no gradient
    assert float(dmd_gradient(x0, fake(x_t, sigma), fake(x_t, sigma)).abs().max()) == 0.0
