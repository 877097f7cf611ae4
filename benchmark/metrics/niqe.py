"""The `niqe` metrics: NIQE per frame with the shipped pristine model (see `vsrcore.quality.niqe`).

`space="gray"` (the `niqe` metric) feeds MATLAB `rgb2gray` luma rounded to integers, as the reference MATLAB
script is run (pyiqa's calibration) and within rounding ties of pyiqa's default YIQ luma; `space="y"` (`niqe_y`)
feeds BT.601 studio-swing Y rounded to integers, BasicSR's `calculate_niqe` default.
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.metrics.base import Metric
from vsrcore.quality.niqe import PARAMS_PATH, niqe_y, pristine_params, rgb_to_gray255
from vsrcore.tensors import rgb_to_y


__all__ = ["NIQE", "PARAMS_PATH"]


class NIQE(Metric):
    """NIQE per frame of (N, C, H, W) frames in [0, 1], averaged over the clip; lower is better.

    Args:
        space: "gray" (MATLAB rgb2gray, rounded) or "y" (BT.601 studio-swing Y, rounded).
    """

    name = "niqe"
    needs_reference = False

    def __init__(self, *, space: str = "gray", **kw: Any) -> None:
        super().__init__(**kw)
        if space not in ("gray", "y"):
            raise ValueError(f"NIQE space must be 'gray' or 'y', got '{space}'")
        self.space = space
        pristine_params()

    def _luma255(self, pred: torch.Tensor):
        if pred.shape[1] == 1:
            return (pred.double()[:, 0] * 255).round().clamp(0, 255).cpu().numpy()
        if self.space == "gray":
            return rgb_to_gray255((pred.double() * 255).round().permute(0, 2, 3, 1).cpu().numpy())
        y = rgb_to_y(pred.double(), channel_axis=-3)
        return (y * 255).round().clamp(0, 255).cpu().numpy()[:, 0]

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        return torch.tensor([niqe_y(f) for f in self._luma255(pred)], dtype=torch.float64)
