"""Scorers that need pretrained weights: LAION aesthetic (open-clip ViT-L/14 + LAION head) and MUSIQ (pyiqa).

Each declares its weights (a `vsrcore.weights` entry). Libraries that load files themselves run inside
`vsrcore.weights.third_party_load` (the pinned sha256 first; without a full pin, tensors only); our own reads
use `load_tensors` (weights_only). `missing_weights()` lists absent files without loading anything, so a run can
skip the scorer (and record that) or stop before any work (`--require`). Models load once per worker in
`setup()`; `score(frames)` takes uint8 RGB (N, H, W, C) frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vsrcore.device import default_device
from vsrcore.weights import load_tensors, resolve_weights, third_party_load, weight_status


@dataclass
class WeightedScorer:
    """Base: a named score backed by a weights set."""

    name: ClassVar[str]
    weights: ClassVar[str]
    weights_dir: str | None = None
    device: str | None = None
    _model: Any = field(default=None, init=False, repr=False)

    def missing_weights(self) -> list[str]:
        """Absent file names (empty when the scorer can run)."""
        return weight_status(self.weights, self.weights_dir)[1]

    def _device(self) -> str:
        return default_device(self.device)

    def setup(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def score(self, frames: np.ndarray) -> float:  # pragma: no cover - overridden
        raise NotImplementedError


def linear_head(state: dict[str, Any]) -> Any:
    """The LAION aesthetic head from its state dict: one Linear (`weight`, `bias`; the original
    sa_0_4_vit_l_14_linear.pth) or the improved predictor's stack (`layers.N.weight`; Linear layers with
    dropout between them and no activation)."""
    import torch

    if "weight" in state:
        layer = torch.nn.Linear(state["weight"].shape[1], state["weight"].shape[0])
        layer.load_state_dict({"weight": state["weight"], "bias": state["bias"]})
        return layer
    keys = sorted({int(k.split(".")[1]) for k in state if k.startswith("layers.") and k.endswith(".weight")})
    if not keys:
        raise ValueError("unrecognised aesthetic head: expected 'weight'/'bias' or 'layers.N.weight' keys")
    layers = []
    for i in keys:
        w, b = state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.load_state_dict({"weight": w, "bias": b})
        layers.append(lin)
    return torch.nn.Sequential(*layers)


@dataclass
class AestheticScorer(WeightedScorer):
    """LAION aesthetic score (about 1-10) of the mean over frames: CLIP ViT-L/14 image embedding (L2-normalised)
    through the LAION head."""

    name: ClassVar[str] = "aesthetic"
    weights: ClassVar[str] = "laion-aesthetic"
    model_name: str = "ViT-L-14"

    def setup(self) -> None:
        import open_clip

        files = resolve_weights(self.weights, self.weights_dir)
        head = linear_head(load_tensors(files["sa_0_4_vit_l_14_linear.pth"]))  # type: ignore[arg-type]
        with third_party_load([files["open_clip_vit_l_14_openai.bin"]]):
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=str(files["open_clip_vit_l_14_openai.bin"])
            )
        dev = self._device()
        self._model = (model.eval().to(dev), head.eval().to(dev), preprocess, dev)

    def _embed(self, frames: np.ndarray) -> Any:
        import torch
        from PIL import Image

        model, _, preprocess, dev = self._model
        batch = torch.stack([preprocess(Image.fromarray(f)) for f in frames]).to(dev)
        with torch.no_grad():
            emb = model.encode_image(batch).float()
        return emb / emb.norm(dim=-1, keepdim=True)

    def score(self, frames: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            return float(self._model[1](self._embed(frames)).mean())

    def embed(self, frames: np.ndarray) -> list[float]:
        """Mean of the frames' L2-normalised CLIP image embeddings, renormalised (for near-duplicate search)."""
        mean = self._embed(frames).mean(0)
        return [float(v) for v in (mean / mean.norm()).cpu()]


@dataclass
class MusiqScorer(WeightedScorer):
    """MUSIQ (KonIQ-10k, about 0-100) at native resolution through pyiqa, averaged over frames."""

    name: ClassVar[str] = "musiq"
    weights: ClassVar[str] = "musiq-koniq"

    def setup(self) -> None:
        import pyiqa

        path = resolve_weights(self.weights, self.weights_dir)["musiq_koniq_ckpt-e95806b9.pth"]
        dev = self._device()
        with third_party_load([path]):  # pyiqa unpickles: the file must match its pinned sha256 first
            self._model = (pyiqa.create_metric("musiq", device=dev, pretrained_model_path=str(path)), dev)

    def score(self, frames: np.ndarray) -> float:
        import torch

        metric, dev = self._model
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div(255).to(dev)
        with torch.no_grad():
            return float(metric(x).mean())


SCORERS: dict[str, type[WeightedScorer]] = {s.name: s for s in (AestheticScorer, MusiqScorer)}


def check_required(names: list[str], weights_dir: str | Path | None) -> None:
    """Raise MissingWeights (all absent files of all required scorers) before any work starts."""
    from vsrcore.errors import MissingWeights
    from vsrcore.weights import WEIGHTS, search_dirs

    missing: list[str] = []
    for name in names:
        if name not in SCORERS:
            raise ValueError(f"unknown scorer '{name}' for --require (known: {', '.join(SCORERS)})")
        scorer = SCORERS[name](weights_dir=str(weights_dir) if weights_dir else None)
        missing += [f"{scorer.weights}/{f}" for f in scorer.missing_weights()]
    if missing:
        sources = "; ".join(f"{WEIGHTS[SCORERS[n].weights].name}: {WEIGHTS[SCORERS[n].weights].source}" for n in names)
        raise MissingWeights(",".join(names), missing, [str(d) for d in search_dirs(weights_dir)], sources)
