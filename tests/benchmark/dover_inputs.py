"""Inputs shared by the DOVER fidelity fixture script and its test: the synthetic clips and the seeded weights.

Both are plain numpy/torch recipes (no project code), so `make_dover_fixture.py` can build them beside the
official DOVER code and `test_dover.py` can rebuild exactly the same tensors.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch


WEIGHTS_SEED = 20231
# name -> (frames, height, width, seed). 'large' exercises the random frame offsets of both samplers (> 195
# frames) and the random fragment offsets (cells wider than 32 px); 'small' exercises upsampling of frames below
# 224 px (grid from the size before upsampling), random offsets along the width only, and wrap-around of indices.
CLIPS = {
    "large": (200, 240, 320, 7),
    "small": (48, 120, 400, 11),
}


def synthetic_clip(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """uint8 (T, H, W, 3): moving sinusoids per channel, a drifting bright square and seeded noise, so both the
    frame choice and the fragment positions change the pixels."""
    rng = np.random.default_rng(seed)
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        r = 128 + 70 * np.sin(2 * np.pi * (x / 37.0 + t / 17.0)) + 30 * np.cos(2 * np.pi * y / 23.0)
        g = 128 + 60 * np.sin(2 * np.pi * (y / 29.0 - t / 23.0)) * np.cos(2 * np.pi * x / 53.0)
        b = 100 + 0.4 * x + 0.3 * y + 20 * np.sin(2 * np.pi * t / 11.0)
        img = np.stack(np.broadcast_arrays(r, g, b), -1)
        cy, cx = (5 * t) % max(1, height - 24), (7 * t) % max(1, width - 24)
        img[cy : cy + 24, cx : cx + 24] = 245
        img = img + rng.normal(0.0, 10.0, img.shape)
        out[t] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return out


def seeded_state_dict(reference: dict[str, torch.Tensor], seed: int = WEIGHTS_SEED) -> dict[str, torch.Tensor]:
    """Random values for every floating tensor of `reference` (integer buffers are copied), each drawn from its
    own generator seeded by (seed, key), so the result does not depend on key order.

    Scales keep activations O(1) through the depth, so every input detail moves the outputs: weights
    N(0, 1/fan_in), LayerNorm weights 1 + N(0, 0.1^2), biases N(0, 0.05^2), layer scales N(0, 0.3^2),
    position-bias tables N(0, 0.5^2). The heads' last layer gets a tenth of its scale, so the raw scores land
    near the official normalisation constants and none of the fused sigmoids saturates."""
    out = {}
    for key in sorted(reference):
        ref = reference[key]
        if not ref.is_floating_point():
            out[key] = ref.clone()
            continue
        g = torch.Generator().manual_seed(
            int.from_bytes(hashlib.sha256(f"{seed}/{key}".encode()).digest()[:7], "little")
        )
        z = torch.randn(ref.shape, generator=g, dtype=torch.float32)
        if key.endswith("position_bias_table"):
            v = 0.5 * z
        elif key.endswith("gamma"):
            v = 0.3 * z
        elif key.endswith("head.fc_last.weight"):
            v = 0.1 * z / math.sqrt(ref[0].numel())
        elif ref.ndim >= 2:
            v = z / math.sqrt(ref[0].numel())
        elif key.endswith("weight"):
            v = 1.0 + 0.1 * z
        else:
            v = 0.05 * z
        out[key] = v.to(ref.dtype)
    return out


def layout_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 of the sorted 'key shape' lines of a state dict (its layout, not its values)."""
    lines = "\n".join(f"{k} {tuple(state[k].shape)}" for k in sorted(state))
    return hashlib.sha256(lines.encode()).hexdigest()


def tensor_digest(x: torch.Tensor) -> str:
    """sha256 of a tensor's values as contiguous bytes."""
    return hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest()
