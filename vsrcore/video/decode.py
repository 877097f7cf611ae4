"""Sequential decoding through PyAV: frames as uint8 RGB (H, W, C), rotation applied, any input depth.

10-bit and grayscale sources are converted to 8-bit RGB with a warning (once per file). Every decode is guarded:
the pixel cap and the decoded-bytes budget (`vsrcore.limits`) are checked from the stream's declared size before
a frame is decoded, and a decoder that makes no progress for the stall timeout ends with a MediaError naming the
file (`vsrcore.video.watchdog`). Frames come with their presentation times when asked (`iter_timed_frames`), so
variable-frame-rate input can be written back with its timing.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.errors import MediaError
from vsrcore.limits import check_decoded_bytes, check_frame_size, max_decoded_bytes
from vsrcore.video.probe import AVFMT_NOTIMESTAMPS, bit_depth_of, open_input, video_stream
from vsrcore.video.watchdog import watched_iter


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


def to_rgb(frame: Any) -> np.ndarray:
    """A decoded PyAV frame as `iter_frames` gives it: uint8 RGB (H, W, C), rotated for display."""
    return _to_rgb(frame, None)


def _decode(
    p: Path,
    start: int,
    end: int | None,
    stride: int,
    threads: int | None,
    apply_rotation: bool,
    hold: int | None,
    output: str = "rgb",
) -> Iterator[tuple[Any, float]]:
    """The unguarded decode loop behind `iter_timed_frames` (output "rgb"), `check_decodes` ("none": frames
    decoded but not converted, None in their place) and `iter_decoded` ("frame": the PyAV frames)."""
    import av

    container = open_input(p)
    try:
        stream = video_stream(container, p)
        ctx = stream.codec_context
        check_frame_size(p, ctx.width, ctx.height)  # before any frame decodes
        if hold:
            check_decoded_bytes(
                p, hold * ctx.width * ctx.height * 3, f"{hold} decoded frames of {ctx.width}x{ctx.height}"
            )
        stream.thread_type = "AUTO"
        ctx.thread_count = threads or default_threads()
        tb = float(stream.time_base) if stream.time_base else 0.0
        if container.format.flags & AVFMT_NOTIMESTAMPS:
            tb = 0.0  # raw elementary streams: the parser guesses times; frame i is at i / rate
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        first_pts: int | None = None
        last_t = -1.0 / rate
        checked = False
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                if not checked:
                    check_frame_size(p, frame.width, frame.height)  # a header may declare 0x0; frames may differ
                    if hold:
                        check_decoded_bytes(p, hold * frame.width * frame.height * 3, f"{hold} decoded frames")
                    _warn_conversion(p, frame.format.name)
                    checked = True
                if end is not None and index >= end:
                    break
                if frame.pts is not None and tb:
                    first_pts = frame.pts if first_pts is None else first_pts
                    t = (frame.pts - first_pts) * tb
                else:  # no timestamp (raw streams, damaged files): one frame interval after the previous
                    t = last_t + 1.0 / rate
                last_t = t
                if index >= start and (index - start) % stride == 0:
                    if output == "rgb":
                        yield _to_rgb(frame, None if apply_rotation else 0), t
                    else:
                        yield (frame if output == "frame" else None), t
        except av.error.FFmpegError as e:
            raise MediaError(p, f"decoding failed after {index + 1} frames ({e.strerror or e})") from None
        if index < 0:
            raise MediaError(p, "no video frame could be decoded (corrupt or truncated)")
    finally:
        container.close()


def iter_timed_frames(
    path: str | Path,
    *,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
    threads: int | None = None,
    apply_rotation: bool = True,
    hold: int | None = None,
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (frame, time) for decoded frames `start, start+stride, ... < end`: uint8 RGB (H, W, C) and the
    presentation time in seconds from the file's first frame (frames without a timestamp get the previous one's
    plus one frame interval).

    Decodes sequentially from the beginning (frame indices are decode-order positions, as in decord). `hold` is
    how many frames the caller keeps decoded at once: hold x width x height x 3 bytes must fit the decoded-bytes
    budget, checked from the header before decoding. Raises MediaError naming the file when the data is corrupt,
    no frame decodes, a limit is exceeded, or the decoder makes no progress for the stall timeout.
    """
    if start < 0 or stride < 1 or (end is not None and end < start):
        raise ValueError(f"bad frame range start={start} end={end} stride={stride}")
    p = Path(path)
    return watched_iter(lambda: _decode(p, start, end, stride, threads, apply_rotation, hold), path=p)


def check_decodes(path: str | Path, threads: int | None = None) -> int:
    """Decode every frame of `path` (nothing converted or kept) and return how many decoded: a file whose packets
    demux but whose data is corrupt (damaged NAL units, say) fails here, as it would in any later decode, with a
    MediaError naming the file (`decoding failed after N frames (...)`). Guarded like `iter_timed_frames`."""
    p = Path(path)
    count = 0
    for _ in watched_iter(lambda: _decode(p, 0, None, 1, threads, False, None, output="none"), path=p):
        count += 1
    return count


def iter_decoded(path: str | Path, threads: int | None = None) -> Iterator[Any]:
    """Every frame of `path` as the PyAV frame (not converted: `to_rgb` converts one), in decode order, with the
    checks and errors of `iter_timed_frames`."""
    p = Path(path)
    return (frame for frame, _t in watched_iter(lambda: _decode(p, 0, None, 1, threads, False, None, "frame"), path=p))


def iter_frames(path: str | Path, **kwargs: Any) -> Iterator[np.ndarray]:
    """Yield decoded frames as uint8 RGB (H, W, C) arrays (arguments as `iter_timed_frames`)."""
    for frame, _ in iter_timed_frames(path, **kwargs):
        yield frame


def iter_chunks(path: str | Path, chunk: int, **kwargs: Any) -> Iterator[np.ndarray]:
    """Yield uint8 (T, H, W, C) chunks of up to `chunk` frames; memory holds one chunk at a time."""
    for frames, _ in iter_timed_chunks(path, chunk, **kwargs):
        yield frames


def iter_timed_chunks(path: str | Path, chunk: int, **kwargs: Any) -> Iterator[tuple[np.ndarray, list[float]]]:
    """Yield (uint8 (T, H, W, C) chunk of up to `chunk` frames, their times in seconds); see `iter_timed_frames`."""
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    frames: list[np.ndarray] = []
    times: list[float] = []
    for frame, t in iter_timed_frames(path, hold=chunk, **kwargs):
        frames.append(frame)
        times.append(t)
        if len(frames) == chunk:
            yield np.stack(frames), times
            frames, times = [], []
    if frames:
        yield np.stack(frames), times


def read_timed_frames(path: str | Path, **kwargs: Any) -> tuple[np.ndarray, list[float]]:
    """Decode a whole range into one uint8 (T, H, W, C) array plus each frame's time in seconds (arguments as
    `iter_timed_frames`). The range must fit the decoded-bytes budget: checked before decoding when `end` is
    given, and on the running total otherwise."""
    start, end, stride = kwargs.get("start", 0), kwargs.get("end"), kwargs.get("stride", 1)
    hold = -(-(end - start) // stride) if end is not None and end > start else None
    budget = max_decoded_bytes()
    frames: list[np.ndarray] = []
    times: list[float] = []
    held = 0
    for frame, t in iter_timed_frames(path, hold=hold, **kwargs):
        held += frame.nbytes
        check_decoded_bytes(path, held, f"more than {len(frames)} decoded frames", budget=budget)
        frames.append(frame)
        times.append(t)
    if not frames:
        raise MediaError(path, "the requested frame range is empty")
    return np.stack(frames), times


def read_frames(path: str | Path, **kwargs: Any) -> np.ndarray:
    """Decode a whole range into one uint8 (T, H, W, C) array (see `read_timed_frames`)."""
    return read_timed_frames(path, **kwargs)[0]
