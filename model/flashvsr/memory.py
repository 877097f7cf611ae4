"""Peak-memory estimate of a FlashVSR run and the tile size that keeps it under a budget (`--max-memory`).

The estimate adds three parts, in bytes (fp32 activations unless the model's dtype is smaller):
- weights: the parameters as loaded;
- the per-step canvas, proportional to the padded output area Hp x Wp: the upsampled LR frames of one step
  (25 at step 0) and their padded copy, and the step's output frames (21) with the copy handed out;
- the per-tile working set, proportional to the tile area: the TCDecoder's full-resolution stage (4 frames of
  its widest full-resolution features, a few live at once), the DiT's tokens (6 latent frames, one token per
  16 x 16 pixels, ~12 dim-wide and 2 ffn-wide tensors live), and the LQ projection's input clip.
The coefficients are counted from the architecture (not fitted); `python -m model.bench_cpu` prints the estimate
beside the measured peak RSS for each size (docs/model.md), which is how they were checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.flashvsr.config import FlashVSRConfig
from vsrcore.errors import UserFacingError


STEP_IN, STEP_OUT = 25, 21  # LR frames read and frames written by the first (largest) streaming step
RSS_BASE = 900 * 2**20  # the interpreter with torch and the project imported


@dataclass(frozen=True)
class MemoryPlan:
    """The tile chosen for a frame size (None = untiled) and the estimated peak bytes with it."""

    tile: int | None
    estimate: int
    budget: int | None

    def describe(self) -> str:
        tile = "untiled" if self.tile is None else f"tiles of {self.tile} px"
        budget = "" if self.budget is None else f" (budget {self.budget / 2**30:.1f} GiB)"
        return f"memory estimate {self.estimate / 2**30:.1f} GiB, {tile}{budget}"


def canvas_bytes_per_px(cfg: FlashVSRConfig) -> int:
    """Bytes per padded output pixel held for a whole step, whatever the tiling."""
    return 4 * 3 * (2 * STEP_IN + 2 * STEP_OUT) + 4


def tile_bytes_per_px(cfg: FlashVSRConfig, mode: str, itemsize: int = 4) -> float:
    """Bytes per pixel of a tile's working set (decoder, DiT, LQ projection)."""
    if mode == "full":  # Wan VAE decoder: widest full-resolution features, 4 frames
        decoder = 4 * (cfg.vae_dim * 4 + 12) * 4
    else:
        full_res = max(cfg.tc_channels[3], cfg.tc_cond_skip)
        decoder = 4 * (4 * cfg.tc_channels[3] + 2 * cfg.tc_cond_skip + 12) * 4
        decoder = max(decoder, 4 * 3 * full_res * 4)
    upsampled_lr = STEP_IN * 3 * 2 * 4
    if cfg.decoder_only:  # no DiT, no LQ projection: the decoder and the upsampled LR frames it is conditioned on
        return decoder + upsampled_lr
    tokens_per_px = 6 / (16 * 16)
    dit = tokens_per_px * (12 * cfg.dim + 2 * cfg.ffn_dim) * itemsize
    lq = upsampled_lr + STEP_IN / 256 * cfg.lq_channels * itemsize
    return decoder + dit + lq


def estimate_bytes(cfg: FlashVSRConfig, mode: str, height: int, width: int, tile: int | None,
                   weight_bytes: int, itemsize: int = 4) -> int:  # fmt: skip
    """Estimated peak bytes for a padded output canvas (height, width) split into `tile`-sized tiles."""
    th = height if not tile else min(tile, height)
    tw = width if not tile else min(tile, width)
    return int(
        RSS_BASE
        + weight_bytes
        + height * width * canvas_bytes_per_px(cfg)
        + th * tw * tile_bytes_per_px(cfg, mode, itemsize)
    )


def plan_memory(cfg: FlashVSRConfig, mode: str, height: int, width: int, weight_bytes: int, budget: int | None,
                multiple: int = 128, itemsize: int = 4) -> MemoryPlan:  # fmt: skip
    """The largest tile (a multiple of `multiple`; untiled if it fits) whose estimate fits `budget`."""
    whole = estimate_bytes(cfg, mode, height, width, None, weight_bytes, itemsize)
    if budget is None or whole <= budget:
        return MemoryPlan(None, whole, budget)
    size = max(height, width) // multiple * multiple
    while size >= 2 * multiple:  # a tile needs room for its overlap
        size -= multiple
        est = estimate_bytes(cfg, mode, height, width, size, weight_bytes, itemsize)
        if est <= budget:
            return MemoryPlan(size, est, budget)
    smallest = estimate_bytes(cfg, mode, height, width, 2 * multiple, weight_bytes, itemsize)
    raise UserFacingError(
        f"--max-memory {budget / 2**30:.1f} GiB is too small for a {width}x{height} output: even {2 * multiple} px "
        f"tiles need about {smallest / 2**30:.1f} GiB"
    )


def parse_bytes(text: str) -> int:
    """'8G', '512M', '8GB', '1.5g' or a plain number of bytes -> bytes (binary units)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        return int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(float(t))
    except ValueError:
        raise UserFacingError(f"--max-memory: '{text}' is not a size like 8G or 512M") from None


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def default_budget(device: str = "cpu") -> int | None:
    """Without --max-memory: 80 % of the memory available now on `device` (None where that cannot be read)."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free * 0.8)
    avail = available_bytes()
    return None if avail is None else int(avail * 0.8)
