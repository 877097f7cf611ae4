"""The metric interface and the input conventions every metric shares.

A metric scores one clip: `metric(pred, ref) -> float`, where `pred` and `ref` are float32 [0, 1]
(T, C, H, W) torch tensors (uint8 (T, H, W, C) numpy arrays are accepted and converted). Per-frame
metrics score frames in batches of `batch_size` on `device` and average over the clip's frames (the
BasicSR / DOVE convention: per frame, then per clip; the runner averages clips). Video metrics score the
whole clip at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vsrcore.device import default_device
from vsrcore.tensors import uint8_to_float


def as_clip(x: Any, what: str = "clip") -> torch.Tensor:
    """float32 [0, 1] (T, C, H, W) tensor from a (T, C, H, W) float tensor or a uint8 (T, H, W, C) array."""
    if isinstance(x, np.ndarray):
        if x.dtype == np.uint8:
            return uint8_to_float(x)
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what}: expected a torch tensor or numpy array, got {type(x).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{what}: expected (T, C, H, W) with C in (1, 3), got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    x = x.float()
    if x.numel() and (float(x.min()) < -1e-3 or float(x.max()) > 1 + 1e-3):
        raise ValueError(f"{what}: float frames must be in [0, 1], got [{float(x.min()):.3f}, {float(x.max()):.3f}]")
    return x


def align(pred: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Truncate (T, C, H, W) clips to the shorter frame count and the common top-left H x W (DOVE's policy)."""
    t = min(pred.shape[0], ref.shape[0])
    h = min(pred.shape[-2], ref.shape[-2])
    w = min(pred.shape[-1], ref.shape[-1])
    return pred[:t, ..., :h, :w], ref[:t, ..., :h, :w]


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """Remove `border` pixels from each edge of (..., H, W)."""
    if border <= 0:
        return x
    if 2 * border >= min(x.shape[-2:]):
        raise ValueError(f"crop_border={border} leaves nothing of a {x.shape[-2]}x{x.shape[-1]} frame")
    return x[..., border:-border, border:-border]


class Metric:
    """Base class. Subclasses set `name`, `per`, `needs_reference` and implement `score_frames` or `score_clip`.

    Args:
        device: torch device ("cpu", "cuda", ...); None picks the GPU when present.
        batch_size: frames per batch for per-frame metrics.
        crop_border: pixels removed from each edge before scoring (recorded in the protocol).
        weights_dir: where to look for weights first (see `vsrcore.weights`).
    """

    name: ClassVar[str] = "metric"
    per: ClassVar[str] = "frame"
    needs_reference: ClassVar[bool] = True

    def __init__(
        self,
        *,
        device: str | None = None,
        batch_size: int = 8,
        crop_border: int = 0,
        weights_dir: str | Path | None = None,
    ) -> None:
        self.device = torch.device(default_device(device))
        self.batch_size = max(1, int(batch_size))
        self.crop_border = int(crop_border)
        self.weights_dir = weights_dir

    def _prepare(self, pred: Any, ref: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        p = as_clip(pred, "pred")
        r = None
        if self.needs_reference:
            if ref is None:
                raise ValueError(f"metric '{self.name}' needs a reference clip")
            p, r = align(p, as_clip(ref, "ref"))
            r = crop_border(r, self.crop_border)
        return crop_border(p, self.crop_border), r

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        """Scores (N,) of a batch of frames (N, C, H, W) already on `device`."""
        raise NotImplementedError

    def score_clip(self, pred: torch.Tensor, ref: torch.Tensor | None) -> float:
        """One score for a (T, C, H, W) clip (video metrics override this)."""
        return float(np.mean(self._per_frame(pred, ref)))

    def _per_frame(self, pred: torch.Tensor, ref: torch.Tensor | None) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, pred.shape[0], self.batch_size):
                p = pred[i : i + self.batch_size].to(self.device)
                r = None if ref is None else ref[i : i + self.batch_size].to(self.device)
                out.append(self.score_frames(p, r).detach().double().cpu().reshape(-1))
        return torch.cat(out).numpy() if out else np.zeros(0)

    def per_frame(self, pred: Any, ref: Any = None) -> np.ndarray:
        """Per-frame scores (T,) of a per-frame metric."""
        if self.per != "frame":
            raise TypeError(f"metric '{self.name}' scores whole videos, not frames")
        p, r = self._prepare(pred, ref)
        return self._per_frame(p, r)

    def __call__(self, pred: Any, ref: Any = None) -> float:
        """Score one clip: pred (and ref) float [0, 1] (T, C, H, W) or uint8 (T, H, W, C)."""
        p, r = self._prepare(pred, ref)
        if p.shape[0] == 0:
            raise ValueError(f"metric '{self.name}': empty clip")
        return self.score_clip(p, r)


@contextlib.contextmanager
def torch_hub_with(files: dict[str, Path], subdirs: tuple[str, ...] = ("checkpoints",)) -> Iterator[Path]:
    """Point torch.hub at a temporary folder holding links to local weight files, so libraries that call
    `load_state_dict_from_url` (torchvision, lpips, pyiqa, CLIP) find them instead of downloading."""
    old = torch.hub.get_dir()
    with tempfile.TemporaryDirectory(prefix="flashvsr-hub-") as tmp:
        for sub in subdirs:
            d = Path(tmp) / sub
            d.mkdir(parents=True, exist_ok=True)
            for name, path in files.items():
                os.symlink(Path(path).resolve(), d / name)
        torch.hub.set_dir(tmp)
        try:
            yield Path(tmp)
        finally:
            torch.hub.set_dir(old)
