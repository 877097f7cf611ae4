"""What a WanDiT call takes besides its weights and latents: how self-attention selects blocks
(`AttentionSettings`), the streaming KV cache (`KVCache`) and the 3D RoPE angles of a token grid.

Both paths of the DiT use these: the module path (transformer.py) and the GPU fast path (fast_dit.py), which the
module path dispatches to. Kept apart from both so neither imports the other back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from model.flashvsr import attention as A
from model.flashvsr.config import Boundary, FlashVSRConfig


VAE_STRIDE = 8  # latent -> pixel upsampling of the (Wan / TC) decoders


# ----------------------------------------------------------------------------------------------------------------
# settings and state
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class AttentionSettings:
    """How self-attention selects blocks. `topk_ratio` (official name) wins over `sparse_ratio` when both are set;
    `sparse_ratio=None` and `topk_ratio=None` keep every block the locality window allows; `local_range=None`
    drops the window. `causal_window` (whole-clip mode, e.g. training) restricts 2-frame query chunk i to key
    chunks i - causal_window < j <= i (first 3 chunks mutually visible), which equals streaming with a KV cache of
    kv_len = causal_window - 1 (see `attention.chunk_causal_mask`)."""

    sparse_ratio: float | None = 2.0
    topk_ratio: float | None = None
    local_range: int | None = 11
    boundary: Boundary = "truncated"
    backend: str | None = None
    causal_window: int | None = None

    @classmethod
    def from_config(cls, cfg: FlashVSRConfig, **overrides: object) -> AttentionSettings:
        base = {"sparse_ratio": cfg.sparse_ratio, "local_range": cfg.local_range, "boundary": cfg.boundary}
        return cls(**{**base, **overrides})  # type: ignore[arg-type]

    def topk(self, grid: tuple[int, int, int], patch: tuple[int, int, int]) -> int | None:
        """Official top-k count for a token grid (f, h, w)."""
        _, h, w = grid
        ratio = self.topk_ratio
        if ratio is None and self.sparse_ratio is not None:
            ratio = A.topk_ratio_for(h * patch[1] * VAE_STRIDE, w * patch[2] * VAE_STRIDE, self.sparse_ratio)
        if ratio is None:
            return None
        lb = (h // A.BLOCK[1]) * (w // A.BLOCK[2])
        return A.topk_for(lb, ratio)


@dataclass
class KVCache:
    """Streaming self-attention cache: per layer, block-ordered keys/values (B, heads, N, head_dim) after RoPE.

    Official eviction: after a call, if the cache holds more than `kv_len` = int(kv_ratio) 2-frame chunks, the
    oldest *one* chunk is dropped (so with kv_len < 3 the 3-chunk first call leaves 2 chunks).

    `bits=8` (the GPU fast path only, `fast_dit.RingCache`): keys and values are kept as int8 with one float32
    scale per (head, token) vector in `key_scales` / `value_scales`, half the memory of bf16; the module path
    (the reference) refuses it.
    """

    kv_len: int = 3
    keys: list[Tensor | None] = field(default_factory=list)
    values: list[Tensor | None] = field(default_factory=list)
    bits: int = 16
    key_scales: list[Tensor] = field(default_factory=list)
    value_scales: list[Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.bits not in (8, 16):
            raise ValueError(f"KV cache bits must be 8 or 16, not {self.bits}")

    @classmethod
    def from_ratio(cls, kv_ratio: float, bits: int = 16) -> KVCache:
        return cls(kv_len=int(kv_ratio), bits=bits)

    def reset(self) -> None:
        for held in (self.keys, self.values, self.key_scales, self.value_scales):
            held.clear()

    def get(self, layer: int) -> tuple[Tensor | None, Tensor | None]:
        if layer < len(self.keys):
            return self.keys[layer], self.values[layer]
        return None, None

    def put(self, layer: int, k: Tensor, v: Tensor, chunk_tokens: int) -> None:
        if self.bits != 16:
            raise ValueError("an 8-bit KV cache is a fast-path option (attention backend 'fast' on the GPU path)")
        if k.shape[2] // chunk_tokens > self.kv_len:
            k, v = k[:, :, chunk_tokens:], v[:, :, chunk_tokens:]
        while len(self.keys) <= layer:
            self.keys.append(None)
            self.values.append(None)
        self.keys[layer], self.values[layer] = k, v

    def num_chunks(self, chunk_tokens: int) -> int:
        return 0 if not self.keys or self.keys[0] is None else self.keys[0].shape[2] // chunk_tokens


def rope_angles(
    grid: tuple[int, int, int],
    dims: tuple[int, int, int],
    frame_offset: int = 0,
    theta: float = 10000.0,
    device: torch.device | str | None = None,
) -> Tensor:
    """3D RoPE angles (N, head_dim/2) for a raster token grid (f, h, w); frames start at `frame_offset`.

    Each axis a rotates `dims[a]` real dims (dims[a]/2 pairs) with frequencies theta^(-2i/dims[a]); pairs are
    laid out [t | h | w]. Computed in float64 from positions, so any frame index is valid (no 1024-entry table).
    """
    f, h, w = grid
    parts = []
    for n, d, start in ((f, dims[0], frame_offset), (h, dims[1], 0), (w, dims[2], 0)):
        inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64, device=device)[: d // 2] / d)
        parts.append(torch.outer(torch.arange(start, start + n, dtype=torch.float64, device=device), inv))
    ft, fh, fw = parts
    angles = torch.cat(
        [
            ft[:, None, None, :].expand(f, h, w, -1),
            fh[None, :, None, :].expand(f, h, w, -1),
            fw[None, None, :, :].expand(f, h, w, -1),
        ],
        dim=-1,
    )
    return angles.reshape(f * h * w, -1)
