"""LPIPS (the lpips package) and DISTS (pyiqa), with backbone weights resolved locally.

The lpips package ships only its linear heads; the ImageNet backbone (AlexNet / VGG16) comes from
`vsrcore.weights` ('lpips-alex', 'lpips-vgg'). A missing backbone raises MissingWeights; nothing is
downloaded and no number is produced. `random_weights=True` builds a random backbone (plumbing tests
only: its scores mean nothing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from benchmark.metrics.base import Metric, torch_hub_with
from vsrcore.weights import resolve_weights, third_party_load


class LPIPS(Metric):
    """LPIPS v0.1 distance of (N, 3, H, W) frames in [0, 1] (mapped to [-1, 1]); lower is better."""

    name = "lpips"

    def __init__(self, *, net: str = "alex", random_weights: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        import lpips

        if net not in ("alex", "vgg"):
            raise ValueError(f"LPIPS net must be 'alex' or 'vgg', got '{net}'")
        self.random_weights = random_weights
        if random_weights:
            model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        else:
            files = resolve_weights(f"lpips-{net}", self.weights_dir)
            with third_party_load(files.values()), torch_hub_with(files):
                model = lpips.LPIPS(net=net, verbose=False)
        self.model = model.eval().to(self.device)

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        assert ref is not None
        return self.model(pred * 2 - 1, ref * 2 - 1).reshape(-1)


@contextlib.contextmanager
def _random_vgg16() -> Iterator[None]:
    """Make pyiqa's DISTS build an untrained VGG16 instead of loading ImageNet weights (plumbing tests)."""
    from pyiqa.archs import dists_arch

    original = dists_arch.models.vgg16
    dists_arch.models.vgg16 = lambda *a, **k: original(weights=None)
    try:
        yield
    finally:
        dists_arch.models.vgg16 = original


class DISTS(Metric):
    """DISTS (pyiqa implementation) of (N, 3, H, W) frames in [0, 1]; lower is better."""

    name = "dists"

    def __init__(self, *, random_weights: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        import pyiqa

        self.random_weights = random_weights
        if random_weights:
            with _random_vgg16():
                self.net = pyiqa.create_metric("dists", device=self.device, pretrained=False)
        else:
            files = resolve_weights("dists", self.weights_dir)
            with third_party_load(files.values()), torch_hub_with({"vgg16-397923af.pth": files["vgg16-397923af.pth"]}):
                self.net = pyiqa.create_metric(
                    "dists", device=self.device, pretrained_model_path=str(files["DISTS_weights-f5e65c96.pth"])
                )

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        assert ref is not None
        return self.net(pred, ref).reshape(-1)
