"""The interface every upscaler in `model` shares: a scale and a streaming `push`/`flush`, whole-clip `upscale`.

Frames are float32 in [0, 1], (T, C, H, W) per clip (vsrcore.tensors). An upscaler may hold frames back (FlashVSR
looks 4 frames ahead and works in 8-frame steps), so `push` returns whatever output is ready and `flush` the rest;
`stream` wraps both, and `upscale` is `stream` over one chunk. Output frame count equals input frame count and
output size is exactly `scale` x the input size, except in FlashVSR's `compat="official"`, which reproduces the
release's crop and frame-count rule (and so needs the frame count up front: `expect_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor


class VSRModel:
    """Base class: subclasses implement `reset`, `push` and `flush`."""

    name: str = "vsr"
    scale: int = 4
    needs_weights: bool = False
    random_weights: bool = False
    uint8_rounding: str = "round"  # how output frames become uint8: "round" or "truncate" (the release's)

    def expect_frames(self, n: int) -> None:
        """The total LR frame count of the next stream, for models whose output depends on it (default: unused)."""

    def reset(self) -> None:
        """Start a new video."""

    def push(self, frames: Tensor) -> list[Tensor]:
        """Feed LR frames (t, C, h, w) in [0, 1]; returns the output chunks (t', C, scale*h, scale*w) now ready."""
        raise NotImplementedError

    def flush(self) -> list[Tensor]:
        """End of the video: the remaining output chunks."""
        return []

    def stream(self, chunks: Iterable[Tensor], total: int | None = None) -> Iterator[Tensor]:
        """LR chunks (t_i, C, h, w) in, HR chunks out (same total frame count), holding only a bounded window.
        `total`: the input's frame count, when known (passed to `expect_frames`)."""
        self.reset()
        if total is not None:
            self.expect_frames(total)
        for chunk in chunks:
            _check_frames(chunk)
            yield from (c for c in self.push(chunk) if c.shape[0])
        yield from (c for c in self.flush() if c.shape[0])

    def upscale(self, frames: Tensor) -> Tensor:
        """Whole clip (T, C, h, w) -> (T, C, scale*h, scale*w)."""
        _check_frames(frames)
        return torch.cat(list(self.stream([frames], total=frames.shape[0])), dim=0)


def _check_frames(frames: Tensor) -> None:
    if not isinstance(frames, Tensor) or frames.ndim != 4 or frames.shape[1] != 3:
        shape = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
        raise ValueError(f"expected float frames (T, 3, H, W) in [0, 1], got {shape}")
    if not frames.is_floating_point():
        raise ValueError(f"expected float frames in [0, 1], got {frames.dtype}")
