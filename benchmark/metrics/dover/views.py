"""DOVER's input views: which frames and which 32x32 fragments each branch sees, as the official evaluation samples.

Settings from the official `dover.yml` (`data.val-l1080p.args.sample_types`, the set `evaluate_one_video.py` uses):

- technical branch: 3 clips x 32 frames, every 2nd frame; each frame is a 7x7 grid of 32x32 fragments (224x224),
  one fragment drawn inside each grid cell, its position redrawn for every 32-frame chunk;
- aesthetic branch: 1 clip of 32 frames, one frame drawn in each of 32 equal segments of the video, resized
  (bilinear, antialiased, uint8) to 224x224 without keeping the aspect ratio;
- both views are normalised with ImageNet mean/std on the 0-255 scale.

The frame sampler is `UnifiedFrameSampler` (no frame dropping): `fragments_t` equal segments of the video, a
window of `fsize_t` frames `frame_interval` apart starting at a uniform random offset inside each segment (offset
0 when the segment is too short), indices taken modulo the frame count. The technical view is built with
`UnifiedFrameSampler(32, 3, 2)` (the yml's `num_clips` becomes the number of segments), the aesthetic view with
`UnifiedFrameSampler(1, 32, 2, 1)`.

Upstream quirks kept on purpose, because the released weights were evaluated with them:

- frames smaller than 224 on their short side are upsampled bilinearly (on [0, 1], truncated back to uint8)
  before the fragments are cut, but the fragment grid is computed from the size *before* upsampling;
- a clip shorter than the sampled window wraps around (indices modulo the frame count).

Randomness: upstream draws the offsets from numpy's and torch's global generators. Here every draw comes from one
`torch.Generator` the caller seeds (see `benchmark.metrics.video.DOVER`), in a fixed order, from the same uniform
distributions, so a clip always gets the same views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch


# dover.yml, sample_types.technical
FRAGMENTS = 7  # fragments_h = fragments_w
FRAGMENT_SIZE = 32  # fsize_h = fsize_w
ALIGNED = 32  # frames that share one fragment position
TECHNICAL_CLIP_LEN = 32
TECHNICAL_NUM_CLIPS = 3
FRAME_INTERVAL = 2  # both branches
# dover.yml, sample_types.aesthetic
AESTHETIC_SIZE = 224
AESTHETIC_CLIP_LEN = 32
AESTHETIC_T_FRAG = 32
# evaluate_one_video.py / ViewDecompositionDataset: ImageNet statistics on the 0-255 scale
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class DoverSample:
    """The random choices behind one clip's views.

    technical_frames: (96,) frame indices, 3 clips x 32; aesthetic_frames: (32,) frame indices;
    offsets_h, offsets_w: (7, 7, 3) fragment offsets inside each grid cell, per 32-frame chunk.
    """

    technical_frames: torch.Tensor
    aesthetic_frames: torch.Tensor
    offsets_h: torch.Tensor
    offsets_w: torch.Tensor


def segment_frame_indices(
    num_frames: int, fsize_t: int, fragments_t: int, frame_interval: int, generator: torch.Generator
) -> torch.Tensor:
    """Frame indices of `UnifiedFrameSampler(fsize_t, fragments_t, frame_interval)` for one clip: (fragments_t *
    fsize_t,) int64, in segment order, modulo `num_frames`."""
    seg = num_frames // fragments_t
    starts = torch.arange(fragments_t, dtype=torch.int64) * seg
    span = fsize_t * frame_interval
    if seg > span:
        offsets = torch.randint(0, seg - span, (fragments_t,), generator=generator)
    else:
        offsets = torch.zeros(fragments_t, dtype=torch.int64)
    idx = torch.arange(fsize_t, dtype=torch.int64)[None, :] * frame_interval + (starts + offsets)[:, None]
    return idx.reshape(-1) % num_frames


def fragment_offsets(
    height: int, width: int, chunks: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets (7, 7, chunks) of each fragment inside its grid cell of a `height` x `width` frame (upstream's
    non-'random' mode): uniform in [0, cell - 32) when the cell is larger than a fragment, else 0."""
    shape = (FRAGMENTS, FRAGMENTS, chunks)
    out = []
    for res in (height, width):
        cell = res // FRAGMENTS
        if cell > FRAGMENT_SIZE:
            out.append(torch.randint(cell - FRAGMENT_SIZE, shape, generator=generator))
        else:
            out.append(torch.zeros(shape, dtype=torch.int64))
    return out[0], out[1]


def draw_sample(num_frames: int, height: int, width: int, generator: torch.Generator) -> DoverSample:
    """Draw every random choice for a clip of `num_frames` frames of `height` x `width`, in a fixed order:
    technical frames, aesthetic frames, fragment rows, fragment columns."""
    tech = segment_frame_indices(num_frames, TECHNICAL_CLIP_LEN, TECHNICAL_NUM_CLIPS, FRAME_INTERVAL, generator)
    aes = segment_frame_indices(
        num_frames, AESTHETIC_CLIP_LEN // AESTHETIC_T_FRAG, AESTHETIC_T_FRAG, FRAME_INTERVAL, generator
    )
    chunks = tech.numel() // ALIGNED
    offsets_h, offsets_w = fragment_offsets(height, width, chunks, generator)
    return DoverSample(tech, aes, offsets_h, offsets_w)


def seeded_sample(seed: int, num_frames: int, height: int, width: int) -> DoverSample:
    """`draw_sample` from a generator seeded with (seed, 'TxHxW'): the same clip size always gets the same draws."""
    from vsrcore.rng import derive_seed

    generator = torch.Generator().manual_seed(derive_seed(seed, f"{num_frames}x{height}x{width}", stream="dover"))
    return draw_sample(num_frames, height, width, generator)


def technical_view(frames: torch.Tensor, offsets_h: torch.Tensor, offsets_w: torch.Tensor) -> torch.Tensor:
    """Fragments of uint8 frames (C, T, H, W) -> float32 (C, T, 224, 224) with values 0-255.

    Frames whose short side is below 224 are first upsampled by 224 / short side; the grid uses the original
    size (upstream behaviour, see the module docstring)."""
    c, t, res_h, res_w = frames.shape
    if min(res_h, res_w) < FRAGMENT_SIZE:
        raise ValueError(f"DOVER needs frames of at least {FRAGMENT_SIZE}x{FRAGMENT_SIZE}, got {res_h}x{res_w}")
    if t % ALIGNED:
        raise ValueError(f"technical view needs a multiple of {ALIGNED} frames, got {t}")
    size = FRAGMENTS * FRAGMENT_SIZE
    video = frames
    ratio = min(res_h / size, res_w / size)
    if ratio < 1:
        scaled = torch.nn.functional.interpolate(frames / 255.0, scale_factor=1 / ratio, mode="bilinear")
        video = (scaled * 255.0).to(frames.dtype)
    grid_h = [min(res_h // FRAGMENTS * i, res_h - FRAGMENT_SIZE) for i in range(FRAGMENTS)]
    grid_w = [min(res_w // FRAGMENTS * j, res_w - FRAGMENT_SIZE) for j in range(FRAGMENTS)]
    out = torch.zeros((c, t, size, size), dtype=torch.float32, device=frames.device)
    f = FRAGMENT_SIZE
    for i, hs in enumerate(grid_h):
        for j, ws in enumerate(grid_w):
            for k in range(t // ALIGNED):
                h0 = hs + int(offsets_h[i, j, k])
                w0 = ws + int(offsets_w[i, j, k])
                out[:, k * ALIGNED : (k + 1) * ALIGNED, i * f : (i + 1) * f, j * f : (j + 1) * f] = video[
                    :, k * ALIGNED : (k + 1) * ALIGNED, h0 : h0 + f, w0 : w0 + f
                ]
    return out


def aesthetic_view(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames (C, T, H, W) -> uint8 (C, T, 224, 224): torchvision bilinear resize with antialiasing (what
    `torchvision.transforms.Resize((224, 224))` does to a uint8 tensor in the pinned torchvision)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.functional import resize

    size = [AESTHETIC_SIZE, AESTHETIC_SIZE]
    resized = resize(frames.permute(1, 0, 2, 3), size, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return resized.permute(1, 0, 2, 3)


def normalise(view: torch.Tensor, num_clips: int) -> torch.Tensor:
    """(C, T, H, W) on 0-255 -> (num_clips, C, T / num_clips, H, W) float32, ImageNet mean/std per channel."""
    mean = torch.tensor(MEAN, dtype=torch.float32, device=view.device)
    std = torch.tensor(STD, dtype=torch.float32, device=view.device)
    x = ((view.permute(1, 2, 3, 0) - mean) / std).permute(3, 0, 1, 2)
    c, t, h, w = x.shape
    return x.reshape(c, num_clips, t // num_clips, h, w).transpose(0, 1)


def build_views(frames: Mapping[int, torch.Tensor], sample: DoverSample) -> dict[str, torch.Tensor]:
    """Network inputs from decoded frames: {'technical': (3, 3, 32, 224, 224), 'aesthetic': (1, 3, 32, 224, 224)},
    float32, normalised.

    `frames` maps each sampled index to its uint8 (H, W, 3) frame, as upstream decodes them (each index once).
    Stacking (H, W, C) frames and permuting to (C, T, H, W) reproduces upstream's memory layout, so torch picks the
    same resize kernels (the uint8 antialiased resize has a channels-last path whose rounding can differ)."""
    for i in (*sample.technical_frames.tolist(), *sample.aesthetic_frames.tolist()):
        f = frames[i]
        if f.dtype != torch.uint8 or f.ndim != 3 or f.shape[-1] != 3:
            raise ValueError(f"DOVER views need uint8 (H, W, 3) frames, got {f.dtype} {tuple(f.shape)} at {i}")
    tech = torch.stack([frames[i] for i in sample.technical_frames.tolist()], 0).permute(3, 0, 1, 2)
    aes = torch.stack([frames[i] for i in sample.aesthetic_frames.tolist()], 0).permute(3, 0, 1, 2)
    return {
        "technical": normalise(technical_view(tech, sample.offsets_h, sample.offsets_w), TECHNICAL_NUM_CLIPS),
        "aesthetic": normalise(aesthetic_view(aes), 1),
    }
