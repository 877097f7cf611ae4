"""Metrics computed by pyiqa itself: the pyiqa-compatible fidelity variants and MUSIQ / CLIP-IQA.

Weights are never downloaded: a weights-needing metric resolves its files through `vsrcore.weights`
(MissingWeights names what is absent) and hands pyiqa local paths, or a temporary torch.hub folder
of links where pyiqa only knows how to look there (CLIP). pyiqa unpickles what it loads
(`weights_only=False`), so it runs inside `vsrcore.weights.third_party_load`: each file must match its pinned
sha256 (`vsrcore.pinned_weights`) first, and a file without a full pin can only load as plain tensors.

Note the licence: pyiqa is non-commercial (PolyForm Noncommercial 1.0.0 since 2026-04); the default
fidelity metrics (`psnr`, `ssim_y`, ...) and NIQE are our own implementations and do not need it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from benchmark.metrics.base import Metric, torch_hub_with
from vsrcore.weights import resolve_weights, third_party_load


_WEIGHTS = {"musiq": "musiq-koniq", "clipiqa": "clipiqa", "dists": "dists"}
_NR = {"musiq", "clipiqa", "niqe", "brisque"}


class PyiqaMetric(Metric):
    """A pyiqa metric by its pyiqa name; `random_weights=True` builds an untrained network (plumbing tests only).

    Extra keyword arguments go to `pyiqa.create_metric` (e.g. `color_space="ycbcr"`).
    """

    def __init__(self, *, pyiqa_name: str, random_weights: bool = False, **kw: Any) -> None:
        opts = {k: kw.pop(k) for k in list(kw) if k not in ("device", "batch_size", "crop_border", "weights_dir")}
        super().__init__(**kw)
        import pyiqa

        self.name = f"pyiqa_{pyiqa_name}"  # type: ignore[misc]
        self.needs_reference = pyiqa_name not in _NR  # type: ignore[misc]
        self.random_weights = random_weights
        hub: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        guard: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if pyiqa_name in _WEIGHTS:
            if random_weights:
                opts["pretrained"] = False
            else:
                files = resolve_weights(_WEIGHTS[pyiqa_name], self.weights_dir)
                if pyiqa_name == "musiq":
                    opts["pretrained_model_path"] = str(files["musiq_koniq_ckpt-e95806b9.pth"])
                elif pyiqa_name == "dists":
                    opts["pretrained_model_path"] = str(files["DISTS_weights-f5e65c96.pth"])
                hub = torch_hub_with(files, subdirs=("checkpoints", "clip"))
                guard = third_party_load(files.values())
        if self.crop_border and pyiqa_name in ("psnr", "psnry", "ssim", "ssimc"):
            opts["crop_border"], self.crop_border = self.crop_border, 0  # pyiqa crops itself
        with guard, hub:
            self.net = pyiqa.create_metric(pyiqa_name, device=self.device, as_loss=False, **opts)

    def score_frames(self, pred: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        out = self.net(pred) if ref is None else self.net(pred, ref)
        return out.reshape(-1)
