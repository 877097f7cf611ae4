"""BRISQUE (Mittal et al. 2012) through pyiqa, with its SVM file from the local weights folder.

pyiqa's default `brisque` ('original' version: the 36 NSS features of the authors' release, scaled by their
feature ranges, RBF SVM of their LIVE model) reads `brisque_svm_weights.pth` (two tensors: SVM coefficients and
support vectors). The file is found through `vsrcore.weights` ('brisque'); it is loaded inside
`third_party_load`, so it can only yield tensors (no full sha256 of it is published to pin). Without it the
cell is `missing-weights` naming the file and where it comes from; nothing is downloaded. pyiqa scores YIQ luma
rounded to integers (test_y_channel, its default).
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.metrics.base import Metric
from vsrcore.weights import resolve_weights, third_party_load


WEIGHTS_FILE = "brisque_svm_weights.pth"


class BRISQUE(Metric):
    """BRISQUE per frame of (N, 3, H, W) frames in [0, 1] (pyiqa), averaged over the clip; lower is better."""

    name = "brisque"
    needs_reference = False

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        import pyiqa

        path = resolve_weights("brisque", self.weights_dir)[WEIGHTS_FILE]
        with third_party_load([path]):
            self.net = pyiqa.create_metric(
                "brisque", device=self.device, as_loss=False, pretrained_model_path=str(path)
            )

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        return self.net(pred).reshape(-1).double()
