"""The `niqe` metric: NIQE per frame with the shipped pristine model (see `vsrcore.quality.niqe`)."""

from __future__ import annotations

from typing import Any

import torch

from benchmark.metrics.base import Metric
from vsrcore.quality.niqe import PARAMS_PATH, niqe_y, pristine_params
from vsrcore.tensors import rgb_to_y


__all__ = ["NIQE", "PARAMS_PATH"]


class NIQE(Metric):
    """NIQE per frame (BT.601 Y, rounded), averaged over the clip; lower is better."""

    name = "niqe"
    needs_reference = False

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        pristine_params()

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        y = rgb_to_y(pred.double(), channel_axis=-3) if pred.shape[1] == 3 else pred.double()
        y = (y * 255).round().clamp(0, 255).cpu().numpy()[:, 0]
        return torch.tensor([niqe_y(f) for f in y], dtype=torch.float64)
