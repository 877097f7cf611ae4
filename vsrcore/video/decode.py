"""Sequential decoding through PyAV: frames as uint8 RGB (H, W, C), rotation applied, any input depth.

10-bit and grayscale sources are converted to 8-bit RGB with a warning (once per file).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.errors import MediaError
from vsrcore.limits import check_frame_size
from vsrcore.video.probe import bit_depth_of, open_input, video_stream


def default_threads() -> int:
    """Decoder threads: $FLASHVSR_DECODE_THREADS, else the CPU count capped at 8."""
    env = os.environ.get("FLASHVSR_DECODE_THREADS")
    return int(env) if env else min(8, os.cpu_count() or 1)


def rotate_frame(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an (H, W, C) frame counter-clockwise by `rotation` degrees (a multiple of 90)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(frame, k=k)) if k else frame


def _warn_conversion(path: Path, pix_fmt: str) -> None:
    if bit_depth_of(pix_fmt) > 8:
        warnings.warn(f"{path}: {pix_fmt} is {bit_depth_of(pix_fmt)}-bit; converting to 8-bit RGB", stacklevel=3)
    elif pix_fmt.startswith(("gray", "ya", "monob", "monow")):
        warnings.warn(f"{path}: grayscale ({pix_fmt}); converting to 8-bit RGB", stacklevel=3)


def _to_rgb(frame: Any, rotation: int | None) -> np.ndarray:
    rgb = frame.to_ndarray(format="rgb24")
    return rotate_frame(rgb, frame.rotation if rotation is None else rotation)


def iter_frames(
    path: str | Path,
    *,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
    threads: int | None = None,
    apply_rotation: bool = True,
) -> Iterator[np.ndarray]:
    """Yield decoded frames `start, start+stride, ... < end` as uint8 RGB (H, W, C) arrays.

    Decodes sequentially from the beginning (frame indices are decode-order positions, as in decord).
    Raises MediaError naming the file when the data is corrupt or no frame decodes.
    """
    import av

    if start < 0 or stride < 1 or (end is not None and end < start):
        raise ValueError(f"bad frame range start={start} end={end} stride={stride}")
    p = Path(path)
    container = open_input(p)
    try:
        stream = video_stream(container, p)
        check_frame_size(p, stream.codec_context.width, stream.codec_context.height)  # before any frame decodes
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads or default_threads()
        warned = False
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                if not warned:
                    check_frame_size(p, frame.width, frame.height)  # a header may declare 0x0; frames may differ
                    _warn_conversion(p, frame.format.name)
                    warned = True
                if end is not None and index >= end:
                    break
                if index >= start and (index - start) % stride == 0:
                    yield _to_rgb(frame, None if apply_rotation else 0)
        except av.error.FFmpegError as e:
            raise MediaError(p, f"decoding failed after {index + 1} frames ({e.strerror or e})") from None
        if index < 0:
            raise MediaError(p, "no video frame could be decoded (corrupt or truncated)")
    finally:
        container.close()


def iter_chunks(path: str | Path, chunk: int, **kwargs: Any) -> Iterator[np.ndarray]:
    """Yield uint8 (T, H, W, C) chunks of up to `chunk` frames; memory holds one chunk at a time."""
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    buf: list[np.ndarray] = []
    for frame in iter_frames(path, **kwargs):
        buf.append(frame)
        if len(buf) == chunk:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def read_frames(path: str | Path, **kwargs: Any) -> np.ndarray:
    """Decode a whole range into one uint8 (T, H, W, C) array (see `iter_frames` for the arguments)."""
    frames = list(iter_frames(path, **kwargs))
    if not frames:
        raise MediaError(path, "the requested frame range is empty")
    return np.stack(frames)
