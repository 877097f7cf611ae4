"""The DiT and LQ projection a training stage (or a sampler, or the release's import) starts from."""

from __future__ import annotations

from torch import Tensor

from model.flashvsr.config import FlashVSRConfig
from model.flashvsr.lq_proj import LQProjection
from model.flashvsr.transformer import WanDiT
from training.checkpoint import part_state


def load_dit(model_cfg: FlashVSRConfig, tensors: dict[str, Tensor] | None = None) -> tuple[WanDiT, LQProjection]:
    """A DiT and its LQ projection, with a checkpoint's `dit.*` / `lq_proj.*` weights when given."""
    dit, lq_proj = WanDiT(model_cfg), LQProjection.from_config(model_cfg)
    if tensors is not None:
        dit.load_state_dict(part_state(tensors, "dit"))
        lq_proj.load_state_dict(part_state(tensors, "lq_proj"))
    return dit, lq_proj
