"""BRISQUE through OpenCV's quality module (opencv-contrib) and the LIVE model files of Debian `opencv-data`.

The plain opencv-python wheels this project installs have no `cv2.quality`; opencv-contrib clashes with
them, so where the module is absent BRISQUE raises MissingDependency (the runner records it as missing
with this reason) instead of approximating it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.metrics.base import Metric
from vsrcore.errors import MissingDependency


MODEL_FILES = ("brisque_model_live.yml", "brisque_range_live.yml")
SEARCH = (os.environ.get("FLASHVSR_BRISQUE_DIR", ""), "/usr/share/opencv4/quality", "/usr/share/opencv/quality")


def brisque_model() -> tuple[Path, Path]:
    """Paths of the LIVE model and range files, or MissingDependency naming where they come from."""
    for d in SEARCH:
        if d and all((Path(d) / f).is_file() for f in MODEL_FILES):
            return Path(d) / MODEL_FILES[0], Path(d) / MODEL_FILES[1]
    raise MissingDependency(
        f"BRISQUE needs {' and '.join(MODEL_FILES)} (Debian package opencv-data: apt-get install opencv-data), "
        f"searched {', '.join(d for d in SEARCH if d)}"
    )


class BRISQUE(Metric):
    """BRISQUE per frame (OpenCV), averaged over the clip; lower is better."""

    name = "brisque"
    needs_reference = False

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        import cv2

        if not hasattr(cv2, "quality"):
            raise MissingDependency(
                "BRISQUE needs OpenCV's quality module (opencv-contrib-python-headless), which clashes with the "
                "opencv-python wheels installed here; not computed"
            )
        self._cv2 = cv2
        self.model, self.range = brisque_model()

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        frames = (pred.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        scores = [
            float(
                self._cv2.quality.QualityBRISQUE_compute(
                    np.ascontiguousarray(f[..., ::-1]), str(self.model), str(self.range)
                )[0]
            )
            for f in frames
        ]
        return torch.tensor(scores, dtype=torch.float64)
