"""Streaming file-to-file upscaling: decode a chunk, upscale what is ready, encode it, repeat; then copy the audio.

Memory is flat in the video length: the decoder yields uint8 (T, H, W, C) chunks of `chunk` frames, the model
holds a bounded window (FlashVSR: at most 25 LR frames plus one chunk, its KV cache and decoder state), and the
writer encodes each output chunk at once. Audio streams of the input are copied into the output (`mux_audio`).
Ctrl-C closes the video written so far (a playable partial file, audio added) and re-raises KeyboardInterrupt.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from model.base import VSRModel
from vsrcore.errors import MediaError, UserFacingError


LOSSY_DEFAULT = "x264"


@dataclass
class UpscaleReport:
    """What `upscale_video` did."""

    input: str
    output: str
    frames: int
    width: int
    height: int
    seconds: float
    audio: bool
    interrupted: bool = False
    input_frames: int = 0  # decoded from the input
    declared_frames: int = 0  # what the input's header declares
    frame_count_mismatch: bool = False  # header vs counted packets (count or duration)
    timestamps: str = "constant rate"  # or "source times" (variable frame rate input kept)
    max_time_shift_s: float = 0.0  # largest shift of a written frame time from its intended time

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def pick_codec(output: Path, lossless: bool, codec: str | None) -> str:
    """Encoder preset from flags and extension: explicit `codec`; lossless -> FFV1 in .mkv, x264rgb qp0 elsewhere;
    else x264 (CRF)."""
    if codec:
        return codec
    if output.suffix.lower() == ".webm":  # WebM holds VP8/VP9/AV1 video only
        if lossless:
            raise UserFacingError(f"{output}: --lossless needs .mkv, .mp4 or .mov (WebM holds lossy VP9 here)")
        return "vp9"
    if lossless:
        return "ffv1" if output.suffix.lower() == ".mkv" else "x264rgb-lossless"
    return LOSSY_DEFAULT


def _progress(total: int | None) -> Callable[[int, float], None]:
    def show(done: int, elapsed: float) -> None:
        fps = done / elapsed if elapsed > 0 else 0.0
        of = f"/{total}" if total else ""
        print(f"\rupscale: {done}{of} frames, {fps:.2f} fps", end="", file=sys.stderr, flush=True)

    return show


def upscale_video(
    input: str | Path,
    output: str | Path,
    model: VSRModel,
    *,
    chunk: int = 8,
    lossless: bool = False,
    codec: str | None = None,
    crf: int | None = None,
    audio: bool = True,
    progress: bool = True,
) -> UpscaleReport:
    """Upscale the video file `input` into `output` with `model`, streaming; see the module docstring."""
    import torch

    from vsrcore.tensors import float_to_uint8, uint8_to_float
    from vsrcore.video.decode import iter_timed_chunks
    from vsrcore.video.edit import mux_audio
    from vsrcore.video.probe import check_frames, probe
    from vsrcore.video.write import VideoWriter

    src, dst = Path(input), Path(output)
    meta = probe(src)  # MediaError (one line, naming the file) for missing / unreadable input
    if dst.resolve() == src.resolve():
        raise UserFacingError(f"{dst}: output would overwrite the input")
    dst.parent.mkdir(parents=True, exist_ok=True)
    has_audio = audio and bool(meta.audio)
    enc = pick_codec(dst, lossless, codec)
    counted = check_frames(src, meta)  # frame count, duration and VFR from the packets, not the header
    # the release's frame rule (compat official) needs the exact count
    total = counted.frames if getattr(model, "compat", "default") == "official" else None
    show = _progress(counted.frames) if progress else None
    if progress and hasattr(model, "memory_plan"):
        print(f"upscale: {model.memory_plan(meta.height, meta.width).describe()}", file=sys.stderr)
    t0 = time.perf_counter()
    frames = 0
    out_hw = (meta.height * model.scale, meta.width * model.scale)
    interrupted = False
    video_path = dst.with_name(f".{dst.stem}.video{dst.suffix}") if has_audio else dst
    from vsrcore.stale import remove_stale_temps

    for target in {video_path, dst}:  # a killed earlier run's partial files (their writers' pids are gone)
        remove_stale_temps(target)
    writer = VideoWriter(video_path, meta.fps_fraction, codec=enc, crf=crf)

    times: list[float] = []  # input frame times (s); VFR input is written back at these

    def lr_chunks() -> Iterator[torch.Tensor]:
        for c, t in iter_timed_chunks(src, chunk):
            times.extend(t)
            yield uint8_to_float(c)

    try:
        for out in model.stream(lr_chunks(), total=total):
            at = times[frames : frames + out.shape[0]] if counted.vfr else None
            writer.write(float_to_uint8(out, model.uint8_rounding), at)
            frames += out.shape[0]
            out_hw = (out.shape[-2], out.shape[-1])
            if show:
                show(frames, time.perf_counter() - t0)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        writer.abort()
        raise
    if frames == 0:
        writer.abort()
        raise MediaError(src, "no frames were upscaled")
    writer.close()
    if has_audio:
        try:
            mux_audio(video_path, src, dst)
        finally:
            video_path.unlink(missing_ok=True)
    if show:
        print(file=sys.stderr)
    report = UpscaleReport(
        str(src), str(dst), frames, out_hw[1], out_hw[0],
        time.perf_counter() - t0, has_audio, interrupted, len(times), counted.declared_frames, counted.mismatch,
        "source times" if counted.vfr else "constant rate", writer.max_time_shift_s,
    )  # fmt: skip
    if interrupted:
        raise KeyboardInterrupt(f"interrupted after {frames} frames; partial output in {dst}")
    return report
