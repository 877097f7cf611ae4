"""What the golden FlashVSR tests and `make_golden.py` share: seeded weights, inputs and tensor summaries.

Both sides (the official code in `make_golden.py`, this project in `tests/model/test_golden.py`) build their
modules from the same `seeded_state` of the official key/shape layout, so the committed fixture holds numbers only
(a few KB): per stage a strided sample of the tensor plus its moments.
"""

from __future__ import annotations

import base64
import hashlib
import math
import zlib
from typing import Any

import numpy as np
import torch


# The `tiny` preset of model/flashvsr/config.py, in the official constructors' terms.
DIT = {"dim": 64, "in_dim": 16, "ffn_dim": 128, "out_dim": 16, "text_dim": 32, "freq_dim": 32, "eps": 1e-6,
       "patch_size": [1, 2, 2], "num_heads": 2, "num_layers": 2}  # fmt: skip
LQ_HIDDEN = (32, 48)
TC_CHANNELS = [32, 16, 8, 8]
TC_LATENT_CHANNELS = 16 + 768
CONTEXT_SHAPE = (1, 8, 32)
SEED = 0
# Golden geometries: (LR height, LR width, frames, sparse_ratio). "a": 4 streaming steps (KV eviction with
# kv_ratio 3), the release's sparsity rule at a small size; "b": non-square, a tiny top-k that leaves mask rows empty.
GEOMETRIES = {"a": (32, 64, 45, 2.0), "b": (64, 96, 29, 0.08)}
LOCAL_RANGE = {"a": 11, "b": 3}
KV_RATIO = 3.0
SAMPLES = 160


def _key_seed(key: str, seed: int) -> int:
    return (zlib.crc32(key.encode()) ^ (seed * 0x9E3779B1)) & 0x7FFFFFFF


def seeded_tensor(key: str, shape: tuple[int, ...], seed: int = SEED) -> torch.Tensor:
    """One weight tensor, drawn from a generator seeded by (key, seed): independent of construction order.

    Norm gains around 1, biases small, everything else N(0, 1/fan_in), so activations stay in a useful range.
    """
    g = torch.Generator().manual_seed(_key_seed(key, seed))
    x = torch.randn(shape, generator=g)
    leaf = key.rsplit(".", 1)[-1]
    if "norm" in key and leaf in ("weight", "gamma") or leaf == "gamma":
        return 1 + 0.1 * x
    if leaf == "bias":
        return 0.02 * x
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
    return x / math.sqrt(max(fan_in, 1))


def seeded_state(shapes: dict[str, tuple[int, ...]], seed: int = SEED) -> dict[str, torch.Tensor]:
    """A full state dict for a {key: shape} layout (the official one, which ours shares key for key)."""
    return {k: seeded_tensor(k, tuple(s), seed) for k, s in shapes.items()}


def seeded_context(seed: int = SEED) -> torch.Tensor:
    """The prompt context (1, S, text_dim) standing in for posi_prompt.pth."""
    return seeded_tensor("context", CONTEXT_SHAPE, seed)


def lr_frames(height: int, width: int, frames: int, seed: int = SEED) -> np.ndarray:
    """A smooth, moving synthetic LR clip: uint8 (T, H, W, 3). A box-blurred random texture panned 1 px/frame."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, size=(height + frames + 8, width + frames + 8, 3)).astype(np.float64)
    k = 5
    c = np.cumsum(np.cumsum(np.pad(big, ((1, 0), (1, 0), (0, 0))), 0), 1)
    blur = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    out = [blur[t : t + height, 2 * t // 3 : 2 * t // 3 + width] for t in range(frames)]
    return np.clip(np.stack(out) * 1.6 - 80, 0, 255).astype(np.uint8)


def summarize(x: torch.Tensor | np.ndarray, samples: int = SAMPLES) -> dict[str, Any]:
    """Shape, moments and an evenly strided sample of a tensor (float64 arithmetic, float values)."""
    a = np.asarray(x.detach().float().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64).reshape(-1)
    idx = np.linspace(0, a.size - 1, num=min(samples, a.size)).round().astype(np.int64)
    return {
        "shape": list(x.shape),
        "mean": float(a.mean()),
        "rms": float(np.sqrt((a * a).mean())),
        "abs_mean": float(np.abs(a).mean()),
        "sample": base64.b64encode(a[idx].astype("<f4").tobytes()).decode(),
    }


def _sample(record: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(record["sample"]), dtype="<f4").astype(np.float64)


def layout_digest(shapes: dict[str, Any]) -> str:
    """sha256 of a module's sorted `key:shape` lines: both sides seeded the same layout."""
    text = "\n".join(f"{k}:{list(v)}" for k, v in sorted(shapes.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def compare(name: str, got: torch.Tensor | np.ndarray, want: dict[str, Any], atol: float) -> None:
    """Assert `got` matches a `summarize` record: same shape, sample within atol, moments within atol / 10."""
    want_sample = _sample(want)
    g = summarize(got, want_sample.size)
    if g["shape"] != want["shape"]:
        raise AssertionError(f"golden stage '{name}': shape {g['shape']} != {want['shape']}")
    diff = np.abs(_sample(g) - want_sample).max()
    moments = max(abs(g[m] - want[m]) for m in ("mean", "rms", "abs_mean"))
    if diff > atol or moments > atol / 10:
        raise AssertionError(
            f"golden stage '{name}' moved: max sample diff {diff:.3g} (atol {atol:g}), moment diff {moments:.3g}"
        )


def low_contrast_pair(seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """(content, reference) frames (T=2, C=3, 24, 32) in [0, 1] with standard deviations around 1e-3 - 1e-2,
    where the colour fix's eps (added to a variance) matters most."""
    g = torch.Generator().manual_seed(seed)
    content = 0.45 + 0.004 * torch.randn(2, 3, 24, 32, generator=g)
    reference = 0.55 + torch.tensor([0.002, 0.01, 0.001]).view(1, 3, 1, 1) * torch.randn(2, 3, 24, 32, generator=g)
    return content, reference
