"""Losses: rectified flow matching (Wan convention), distribution matching distillation, optional LPIPS.

Flow matching (as Wan / FlashVSR): x_t = (1 - s) x0 + s eps, timestep = 1000 s, the network predicts the velocity
v = eps - x0, so x0 = x_t - s v (at s = 1, x0 = eps - v: FlashVSR's one-step rule `predict_x0`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor


def sample_sigmas(n: int, generator: torch.Generator, shift: float = 5.0, device: str | torch.device = "cpu",
                  lo: float = 0.0, hi: float = 1.0) -> Tensor:  # fmt: skip
    """n noise levels in (lo, hi): uniform, then Wan's shift s' = shift s / (1 + (shift - 1) s). (n,) float32."""
    u = torch.rand(n, generator=generator).to(device) * (hi - lo) + lo
    return shift * u / (1 + (shift - 1) * u)


def fm_noisy(x0: Tensor, noise: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
    """x0, noise (B, C, F, h, w); sigma broadcastable to them -> (x_t, target velocity eps - x0)."""
    return (1 - sigma) * x0 + sigma * noise, noise - x0


def masked_mse(pred: Tensor, target: Tensor, frame_mask: Tensor | None = None) -> Tensor:
    """Mean squared error of (B, C, F, h, w) tensors over the frames where frame_mask (B, F) is True."""
    err = (pred.float() - target.float()).pow(2)
    if frame_mask is None:
        return err.mean()
    m = frame_mask[:, None, :, None, None].to(err.dtype).expand_as(err)
    return (err * m).sum() / m.sum().clamp_min(1)


def dmd_gradient(x0_pred: Tensor, x0_real: Tensor, x0_fake: Tensor, eps: float = 1e-6) -> Tensor:
    """DMD (Yin et al. 2024) gradient on the generator's x0 (B, ...): (fake - real) denoised predictions of the
    re-noised sample, normalised per sample by mean |x0_pred - x0_real|. Descending it moves x0_pred from the
    fake distribution towards the real one."""
    dims = tuple(range(1, x0_pred.ndim))
    weight = 1.0 / ((x0_pred - x0_real).abs().mean(dim=dims, keepdim=True) + eps)
    return (x0_fake - x0_real) * weight


def dmd_loss(x0_pred: Tensor, grad: Tensor) -> Tensor:
    """0.5 * ||x0_pred - sg(x0_pred - grad)||^2 (mean): its gradient w.r.t. x0_pred is grad / numel."""
    return 0.5 * F.mse_loss(x0_pred.float(), (x0_pred - grad).detach().float())


PerceptualFn = Callable[[Tensor, Tensor], Tensor]


def load_lpips(mode: str = "auto", device: str | torch.device = "cpu") -> tuple[PerceptualFn | None, str]:
    """LPIPS (AlexNet) as fn(a, b) on frames (N, 3, H, W) in [0, 1] -> scalar mean, or None and why.

    Never downloads: needs the `lpips` package (which ships its linear layers) and torchvision's AlexNet
    ImageNet weights already in the torch hub cache. mode "off" disables it; "auto" uses it when present.
    """
    if mode == "off":
        return None, "LPIPS disabled (--lpips off)"
    try:
        import lpips  # noqa: F401
        from torchvision.models import AlexNet_Weights
    except ImportError as e:
        return None, f"LPIPS unavailable: package missing ({e.name}; pip install lpips)"
    url = AlexNet_Weights.IMAGENET1K_V1.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if not cached.exists():
        return None, f"LPIPS unavailable: weights file {cached} missing (from {url}); pixel losses use MSE only"
    import lpips

    from vsrcore.weights import third_party_load

    with third_party_load([cached]):  # alexnet-owt-7be5be79.pth: pinned prefix, loaded weights_only
        net = lpips.LPIPS(net="alex", verbose=False).to(device).eval().requires_grad_(False)

    def fn(a: Tensor, b: Tensor) -> Tensor:
        return net(a.float() * 2 - 1, b.float() * 2 - 1).mean()

    return fn, f"LPIPS (alex) from {cached}"
