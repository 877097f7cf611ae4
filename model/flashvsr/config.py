"""FlashVSR architecture configuration: one dataclass, named presets.

`official` reproduces the released model (Wan2.1-T2V-1.3B DiT + LQ projection + Tiny Conditional Decoder) so that
the official weight files load with strict key matching; `flashvsr-tiny` is the small model the toolkit trains and
bundles; `tiny` keeps every structural feature at toy widths for CPU tests. No torch import here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal


Boundary = Literal["truncated", "preserved"]


@dataclass(frozen=True)
class FlashVSRConfig:
    """All sizes of the DiT, the LQ projection, the TCDecoder and the Wan VAE decoder, plus the sparse-attention
    defaults.

    Token geometry: latents (B, C=in_dim, F, H/8, W/8) are patchified by `patch_size` into an (f, h, w) token grid;
    self-attention works on blocks of `attn_block` = (2, 8, 8) tokens (128 tokens, the kernel tile).
    """

    name: str = "official"
    # --- DiT (Wan2.1 T2V 1.3B) ---
    dim: int = 1536
    ffn_dim: int = 8960
    num_heads: int = 12
    num_layers: int = 30
    in_dim: int = 16  # latent channels
    out_dim: int = 16
    text_dim: int = 4096
    freq_dim: int = 256
    eps: float = 1e-6
    patch_size: tuple[int, int, int] = (1, 2, 2)
    # 3D RoPE split of the head dimension (t, h, w), in real dims; None = the official rule
    # (t = d - 2 * (d // 3), h = w = d // 3), which gives 44/42/42 at head dim 128.
    rope_split: tuple[int, int, int] | None = None
    rope_theta: float = 10000.0
    # --- LQ projection (Causal_LQ4x_Proj / Buffer_LQ4x_Proj) ---
    lq_in_dim: int = 3
    lq_unshuffle: tuple[int, int, int] = (1, 16, 16)  # (t, h, w) pixel-unshuffle of the x4-upsampled LR video
    lq_hidden: tuple[int, int] = (2048, 3072)
    lq_layer_num: int = 1  # how many blocks get an LQ injection (released weights: block 0 only)
    lq_variant: Literal["causal", "buffer"] = "causal"  # v1.1 = causal, v1 = buffer
    # --- Tiny Conditional Decoder (TAEHV-style, decoder only) ---
    tc_channels: tuple[int, int, int, int] = (512, 256, 128, 128)
    tc_cond_unshuffle: tuple[int, int, int] = (4, 8, 8)  # LR conditioning: 3 * 4 * 8 * 8 = 768 channels
    tc_time_upscale: tuple[bool, bool] = (True, True)
    tc_space_upscale: tuple[bool, bool, bool] = (True, True, True)
    # Residual TCDecoder (not in the release): output = upsampled LR + decoder(...), last conv zero-initialised,
    # so an untrained decoder returns the bicubic upsampling and training learns the correction.
    tc_residual: bool = False
    # Full-resolution conditioning branch (not in the release): the LR frames, upsampled to output size, go through
    # this many-channel 3x3 convs at full resolution and are added to the last stage's features, so the correction
    # sees sub-block detail that the 8x8 pixel-unshuffled conditioning only carries through the coarse path. 0 = off.
    tc_cond_skip: int = 0
    # Decoder-only model (a bundle trained with `decoder_latents="zero"`): no DiT and no LQ projection; the TCDecoder
    # decodes all-zero latents with its LR conditioning. Tiny mode only.
    decoder_only: bool = False
    # --- Wan2.1 VAE decoder (Full mode); latent channels = out_dim ---
    vae_dim: int = 96
    vae_dim_mult: tuple[int, int, int, int] = (1, 2, 4, 4)
    vae_num_res_blocks: int = 2
    vae_temporal_upsample: tuple[bool, bool, bool] = (True, True, False)
    # --- block-sparse attention defaults (official inference scripts) ---
    attn_block: tuple[int, int, int] = (2, 8, 8)
    sparse_ratio: float | None = 2.0
    local_range: int | None = 11
    boundary: Boundary = "truncated"
    kv_ratio: float = 3.0

    def __post_init__(self) -> None:
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")
        split = self.rope_dims
        if sum(split) != self.head_dim or any(d <= 0 or d % 2 for d in split):
            raise ValueError(
                f"rope split {split} must be three positive even sizes summing to head dim {self.head_dim}"
            )

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @property
    def rope_dims(self) -> tuple[int, int, int]:
        """(t, h, w) real head dims rotated by each RoPE axis."""
        if self.rope_split is not None:
            return tuple(self.rope_split)  # type: ignore[return-value]
        d = self.head_dim
        return (d - 2 * (d // 3), d // 3, d // 3)

    @property
    def lq_channels(self) -> int:
        t, h, w = self.lq_unshuffle
        return self.lq_in_dim * t * h * w

    @property
    def tc_cond_channels(self) -> int:
        t, h, w = self.tc_cond_unshuffle
        return self.lq_in_dim * t * h * w

    @property
    def tc_latent_channels(self) -> int:
        """Input channels of the TCDecoder's first conv: LR conditioning (first) + latent."""
        return self.tc_cond_channels + self.in_dim

    @classmethod
    def from_name(cls, name: str, **overrides: Any) -> FlashVSRConfig:
        """A named preset (`official`, `official-v1`, `flashvsr-tiny`, `tiny`) with optional field overrides
        (JSON lists become tuples)."""
        from vsrcore.registry import check_known

        check_known("FlashVSR config", [name], PRESETS)
        return replace(PRESETS[name], **_tuples(overrides))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FlashVSRConfig:
        """Inverse of `to_dict` after a JSON round trip (lists back to tuples)."""
        return cls(**_tuples(d))


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    """Field values after a JSON round trip: lists back to tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


PRESETS: dict[str, FlashVSRConfig] = {
    "official": FlashVSRConfig(),
    "official-v1": FlashVSRConfig(name="official-v1", lq_variant="buffer"),
    # The bundled, trained model (`flashvsr train`): every structural feature at small widths, a residual
    # TCDecoder. Head dim 32 -> RoPE split 12/10/10.
    "flashvsr-tiny": FlashVSRConfig(
        name="flashvsr-tiny",
        dim=128,
        ffn_dim=256,
        num_heads=4,
        num_layers=4,
        text_dim=32,
        freq_dim=64,
        lq_hidden=(64, 96),
        tc_channels=(64, 32, 16, 16),
        tc_residual=True,
        vae_dim=32,
    ),
    # Every structural feature, toy widths (tests). Head dim 32 -> RoPE split 12/10/10 by the official rule.
    "tiny": FlashVSRConfig(
        name="tiny",
        dim=64,
        ffn_dim=128,
        num_heads=2,
        num_layers=2,
        text_dim=32,
        freq_dim=32,
        lq_hidden=(32, 48),
        tc_channels=(32, 16, 8, 8),
        vae_dim=8,
    ),
}

# The FlashVSR model presets users name (`--model`, `flashvsr train --preset`) -> the FlashVSRConfig each is built
# from. The two official ones have released weights (vsrcore.weights); flashvsr-tiny is trained here.
MODEL_PRESETS: dict[str, str] = {
    "flashvsr-v1": "official-v1",
    "flashvsr-v1.1": "official",
    "flashvsr-tiny": "flashvsr-tiny",
}
OFFICIAL_PRESETS: tuple[str, ...] = tuple(p for p, c in MODEL_PRESETS.items() if c.startswith("official"))
