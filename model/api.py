"""Python API mirroring `flashvsr upscale`: `load` a model by name, `upscale` a file or frames, `stream` chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from model.base import VSRModel


def load(name: str, **options: Any) -> VSRModel:
    """Build a registered model (`flashvsr-v1`, `flashvsr-v1.1`, `flashvsr-tiny`, `bicubic`, `lanczos`).

    options: scale, device, dtype, weights_dir, allow_random_weights, mode, sparse_ratio, kv_ratio, local_range,
    tile, tile_overlap, color_fix, seed (FlashVSR); scale, device (baselines).
    """
    from model import MODELS

    if MODELS.spec(name).target.startswith("model.baselines"):
        options = {k: v for k, v in options.items() if k in ("scale", "device")}
    return MODELS.build(name, **{k: v for k, v in options.items() if v is not None})


def upscale(source: Any, output: str | Path | None = None, *, model: str | VSRModel = "flashvsr-v1.1",
            **options: Any) -> Any:  # fmt: skip
    """Upscale a video file into `output` (returns an UpscaleReport) or frames (T, C, H, W) in [0, 1] (returns
    (T, C, sH, sW)). `options` go to `load` (and chunk / lossless / codec / crf to the file engine)."""
    io_keys = ("chunk", "lossless", "codec", "crf", "audio", "progress")
    io = {k: options.pop(k) for k in io_keys if k in options}
    m = model if isinstance(model, VSRModel) else load(model, **options)
    if isinstance(source, (str, Path)):
        if output is None:
            raise ValueError("upscaling a file needs an output path")
        from model.engine import upscale_video

        return upscale_video(source, output, m, **io)
    return m.upscale(source)


def stream(chunks: Iterable[Any], *, model: str | VSRModel = "flashvsr-v1.1", **options: Any) -> Iterator[Any]:
    """Upscale an iterable of LR chunks (t, C, H, W) in [0, 1], yielding HR chunks as they are ready."""
    m = model if isinstance(model, VSRModel) else load(model, **options)
    return m.stream(chunks)
