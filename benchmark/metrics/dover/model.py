"""The DOVER network (technical + aesthetic branches and their heads), its weights, and the score fusion.

`DOVERNet` has the module names of the official `DOVER(**dover.yml model.args)` (`technical_backbone`,
`aesthetic_backbone`, `technical_head`, `aesthetic_head`), so the released `DOVER.pth` loads with
`strict=True`. DOVER++ (`DOVER_plus_plus.pth`) was trained with the same model block (`divide.yml`), so it has
the same keys; files saved by upstream's training scripts wrap the state dict as `{"state_dict": ...}`, which
`load_dover` unwraps.

Fusion (upstream `evaluate_one_video.py` / `evaluate_a_set_of_videos.py`, identical constants): each branch's
head map is averaged over clips and positions into a raw score, z-normalised with fixed statistics,
`t = (technical - 0.1107) / 0.07355`, `a = (aesthetic + 0.08285) / 0.03774`, and
`overall = sigmoid(0.6104 t + 0.3896 a)` in [0, 1] (what `evaluate_one_video.py -f` prints);
`technical = 100 sigmoid(t)` and `aesthetic = 100 sigmoid(a)` (the x100 columns `evaluate_a_set_of_videos.py`
writes; SeedVR2 and FlashVSR report the technical one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmark.metrics.dover.convnext3d import ConvNeXt3D
from benchmark.metrics.dover.swin3d import SwinTransformer3D
from vsrcore.errors import UserFacingError


TECHNICAL_MEAN, TECHNICAL_STD = 0.1107, 0.07355
AESTHETIC_MEAN, AESTHETIC_STD = -0.08285, 0.03774
TECHNICAL_WEIGHT, AESTHETIC_WEIGHT = 0.6104, 0.3896


class VQAHead(nn.Module):
    """Per-position regression head: 1x1x1 Conv3d(768 -> 64) -> GELU -> Conv3d(64 -> 1). (B, 768, D, H, W) ->
    (B, 1, D, H, W); dropout (inactive at inference) omitted."""

    def __init__(self, in_channels: int = 768, hidden: int = 64) -> None:
        super().__init__()
        self.fc_hid = nn.Conv3d(in_channels, hidden, (1, 1, 1))
        self.fc_last = nn.Conv3d(hidden, 1, (1, 1, 1))
        self.gelu = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_last(self.gelu(self.fc_hid(x)))


class DOVERNet(nn.Module):
    """DOVER: Swin3D-T on fragments (technical) and ConvNeXt3D-T on the resized view (aesthetic), one head each."""

    def __init__(self) -> None:
        super().__init__()
        self.technical_backbone = SwinTransformer3D()
        self.aesthetic_backbone = ConvNeXt3D()
        self.technical_head = VQAHead()
        self.aesthetic_head = VQAHead()

    def forward(self, technical: torch.Tensor, aesthetic: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """technical (3, 3, 32, 224, 224), aesthetic (1, 3, 32, 224, 224) normalised views -> head maps
        (3, 1, 16, 7, 7) and (1, 1, 16, 7, 7)."""
        return (
            self.technical_head(self.technical_backbone(technical)),
            self.aesthetic_head(self.aesthetic_backbone(aesthetic)),
        )


@dataclass(frozen=True)
class DoverScores:
    """Raw branch scores (mean head outputs) and the three published scales."""

    technical_raw: float
    aesthetic_raw: float
    technical: float  # 100 * sigmoid(t), 0-100
    aesthetic: float  # 100 * sigmoid(a), 0-100
    overall: float  # sigmoid(0.6104 t + 0.3896 a), 0-1


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def fuse(technical_raw: float, aesthetic_raw: float) -> DoverScores:
    """The official score-level fusion of the two raw branch scores."""
    t = (technical_raw - TECHNICAL_MEAN) / TECHNICAL_STD
    a = (aesthetic_raw - AESTHETIC_MEAN) / AESTHETIC_STD
    return DoverScores(
        technical_raw=technical_raw,
        aesthetic_raw=aesthetic_raw,
        technical=100.0 * _sigmoid(t),
        aesthetic=100.0 * _sigmoid(a),
        overall=_sigmoid(TECHNICAL_WEIGHT * t + AESTHETIC_WEIGHT * a),
    )


def load_dover(path: str | Path, device: str | torch.device = "cpu") -> DOVERNet:
    """DOVERNet in eval mode with the weights of `path` (DOVER.pth layout), loaded with `weights_only=True` and
    `strict=True`; a file that is not such a state dict raises UserFacingError naming it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserFacingError(f"{path}: not a loadable DOVER checkpoint ({type(e).__name__}: {e})") from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserFacingError(f"{path}: expected a state dict of tensors (DOVER.pth layout)")
    net = DOVERNet()
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        first = (missing or unexpected or wrong)[0]
        raise UserFacingError(
            f"{path}: not the DOVER layout ({len(missing)} keys missing, {len(unexpected)} unexpected, "
            f"{len(wrong)} with other shapes; first: {first})"
        )
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)
