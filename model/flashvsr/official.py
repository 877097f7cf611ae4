"""The released inference script's input and output rules (`--compat official`), as pure functions.

`examples/WanVSR/infer_flashvsr_v1.1_tiny.py` (OpenImagingLab/FlashVSR at b527c6f, reference/flashvsr.md §2.3):
1. each LR frame is resized with PIL bicubic to (round(w * scale), round(h * scale)) and centre-cropped to the
   largest multiples of 128 (`official_geometry`, `pil_upscale_crop`);
2. the clip gets 4 copies of its last frame and is cut to the largest 8n+1 length F; the output has F - 4 frames
   (`official_output_frames`), at least 21 input frames being needed;
3. the noise is one tensor for the whole clip, (1, 16, (F - 1) // 4, H / 8, W / 8), drawn by `torch.randn` from a
   generator on the pipeline's device seeded with `seed` (`official_noise`);
4. output frames in [-1, 1] become uint8 by `((x + 1) * 127.5).clip(0, 255).astype(uint8)`: truncation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vsrcore.errors import UserFacingError


MULTIPLE = 128
MIN_FRAMES = 21  # the first streaming step needs 25 padded frames


@dataclass(frozen=True)
class OfficialGeometry:
    """PIL resize target (scaled_h, scaled_w) and the centred crop (top, left, height, width) of it."""

    scaled_h: int
    scaled_w: int
    top: int
    left: int
    height: int
    width: int


def largest_8n1(n: int) -> int:
    """The largest length 8k + 1 <= n (0 below 1)."""
    return 0 if n < 1 else (n - 1) // 8 * 8 + 1


def official_output_frames(n: int) -> int:
    """Output frame count of the release for an n-frame input: largest_8n1(n + 4) - 4; n >= 21."""
    if n < MIN_FRAMES:
        raise UserFacingError(f"--compat official needs at least {MIN_FRAMES} frames (the release's rule), got {n}")
    return largest_8n1(n + 4) - 4


def official_geometry(height: int, width: int, scale: float, multiple: int = MULTIPLE) -> OfficialGeometry:
    """Where an (height, width) LR frame lands: PIL resize by `scale`, then a centred crop to multiples of 128."""
    sw, sh = int(round(width * scale)), int(round(height * scale))
    tw, th = sw // multiple * multiple, sh // multiple * multiple
    if tw == 0 or th == 0:
        raise UserFacingError(
            f"--compat official: {width}x{height} x{scale:g} is {sw}x{sh}, smaller than {multiple} px on a side"
        )
    return OfficialGeometry(sh, sw, (sh - th) // 2, (sw - tw) // 2, th, tw)


def pil_upscale_crop(frames: Tensor, geom: OfficialGeometry) -> Tensor:
    """LR frames (T, C, h, w) in [0, 1] holding uint8 levels -> PIL-bicubic-resized, cropped (T, C, H, W) in [0, 1]."""
    from PIL import Image

    levels = frames.detach().float().mul(255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu()
    out = []
    for frame in levels.numpy():
        up = Image.fromarray(frame).resize((geom.scaled_w, geom.scaled_h), Image.BICUBIC)
        box = (geom.left, geom.top, geom.left + geom.width, geom.top + geom.height)
        out.append(np.asarray(up.crop(box), dtype=np.uint8))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0


def official_noise(
    channels: int, output_frames: int, height: int, width: int, seed: int, device: torch.device, dtype: torch.dtype
) -> Tensor:
    """The release's whole-clip latent noise (1, C, (F - 1) // 4, H / 8, W / 8), F = output_frames + 4."""
    f = output_frames + 4
    g = torch.Generator(device).manual_seed(seed)
    return torch.randn((1, channels, (f - 1) // 4, height // 8, width // 8), generator=g, device=device, dtype=dtype)
