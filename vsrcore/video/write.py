"""Video and image-sequence writers (PyAV), atomic: output appears under its name only when complete.

Codec presets:
- "x264" / "x265": lossy, `crf` (default 18 / 20), yuv420p (yuv444p when a side is odd).
- "ffv1": lossless RGB (bgr0) in Matroska; decodes to exactly the frames written.
- "x264rgb-lossless": libx264rgb at qp 0 (RGB, exact), smaller than FFV1, widely playable.
- "vp9": lossy VP9 (libvpx, constant quality `crf`, default 32), the video codec WebM allows.

Every file is re-opened before it is renamed into place (`vsrcore.video.verify`): it must hold as many frames as
were written and start with a decodable keyframe. Frames may carry their own presentation times (variable frame
rate input keeps its timing); `VideoWriter.max_time_shift_s` says how far the written times moved from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.atomic import atomic_path
from vsrcore.deps import require
from vsrcore.video.verify import WrittenVideo, check_written_video


# Time base of timed (variable frame rate) output: 1/90000 s, the MPEG system clock; containers with a coarser
# clock (Matroska: 1 ms) round to theirs, and the writer reports the largest shift.
TIMED_TIME_BASE = Fraction(1, 90000)
MIN_GAP_TICKS = 90  # 1 ms: Matroska stores times in milliseconds, so a smaller step would repeat a time there


@dataclass(frozen=True)
class CodecPreset:
    """How one named preset drives the encoder."""

    codec: str
    lossless: bool
    pix_fmt: str | None
    options: tuple[tuple[str, str], ...] = ()
    default_crf: int | None = None


CODEC_PRESETS: dict[str, CodecPreset] = {
    "x264": CodecPreset("libx264", False, None, (("preset", "medium"),), default_crf=18),
    "x265": CodecPreset("libx265", False, None, (("preset", "medium"), ("x265-params", "log-level=error")), 20),
    "ffv1": CodecPreset("ffv1", True, "bgr0", (("level", "3"), ("g", "1"))),
    "x264rgb-lossless": CodecPreset("libx264rgb", True, "rgb24", (("qp", "0"), ("preset", "medium"))),
    "vp9": CodecPreset("libvpx-vp9", False, None, (("b", "0"), ("deadline", "good"), ("cpu-used", "4")), 32),
}


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB frame, got {frame.dtype} {frame.shape}")
    return np.ascontiguousarray(frame)


class VideoWriter:
    """Streaming writer: `write()` frames (H, W, C) or chunks (T, H, W, C) of uint8 RGB, then `close()`.

    The file is written to a temporary name beside `path`, re-opened and checked (frame count, first keyframe)
    and renamed on a clean close; on an exception inside a `with` block, or a failed check, it is removed.
    Frames written with `times_s` keep those presentation times (seconds; variable frame rate); without, frame i
    is shown at i / fps. After `close()`, `written` describes the file and `max_time_shift_s` is the largest
    difference between a frame's written time and the time it was given (i / fps when none was).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction | str,
        *,
        codec: str = "x264",
        crf: int | None = None,
        threads: int = 0,
        rotation: int = 0,
    ) -> None:
        require("av", feature="video writing")
        if codec not in CODEC_PRESETS:
            raise ValueError(f"unknown codec preset '{codec}' (known: {', '.join(CODEC_PRESETS)})")
        self.path = Path(path)
        self.preset = CODEC_PRESETS[codec]
        if self.preset.lossless and crf is not None:
            raise ValueError(f"codec preset '{codec}' is lossless; crf does not apply")
        self.crf = crf if crf is not None else self.preset.default_crf
        self.fps = Fraction(str(fps)).limit_denominator(1001 * 1000)
        self.threads = threads
        self.rotation = rotation
        self._atomic = atomic_path(self.path, verify=self._verify)
        self._tmp = self._atomic.__enter__()
        self._container: Any = None
        self._stream: Any = None
        self._timed: bool | None = None  # fixed by the first write: frames with or without times
        self._times: list[float] = []  # the times asked for
        self._pts: list[int] = []  # the ones written (strictly increasing)
        self.frames_written = 0
        self.written: WrittenVideo | None = None
        self.max_time_shift_s: float = 0.0

    def _open(self, width: int, height: int) -> None:
        import av

        self._container = av.open(str(self._tmp), mode="w", format=_format_for(self.path))
        stream = self._container.add_stream(self.preset.codec, rate=self.fps)
        stream.width, stream.height = width, height
        odd = width % 2 or height % 2
        stream.pix_fmt = self.preset.pix_fmt or ("yuv444p" if odd else "yuv420p")
        options = dict(self.preset.options)
        if self.crf is not None:
            options["crf"] = str(self.crf)
        stream.options = options
        stream.codec_context.thread_count = self.threads
        if self._timed:
            stream.codec_context.time_base = TIMED_TIME_BASE
        if self.rotation:
            stream.set_display_rotation(self.rotation)
        self._stream = stream

    def write(self, frames: np.ndarray, times_s: Sequence[float] | None = None) -> None:
        """Append one (H, W, C) frame or a (T, H, W, C) chunk, optionally with each frame's presentation time in
        seconds (every write of a file must give times, or none may). A time less than 1 ms after the previous
        frame's (a repeated or backward timestamp of a broken source) is written 1 ms after it: the shift shows in
        `max_time_shift_s` once the file is closed."""
        import av

        batch = frames[None] if frames.ndim == 3 else frames
        if times_s is not None and len(times_s) != len(batch):
            raise ValueError(f"{self.path}: {len(batch)} frames but {len(times_s)} times")
        if self._timed is None:
            self._timed = times_s is not None
        elif self._timed != (times_s is not None):
            raise ValueError(f"{self.path}: frames with and without times in one file")
        for i, frame in enumerate(batch):
            frame = _check_frame(frame)
            if self._stream is None:
                self._open(frame.shape[1], frame.shape[0])
            elif (frame.shape[1], frame.shape[0]) != (self._stream.width, self._stream.height):
                raise ValueError(
                    f"{self.path}: frame size {frame.shape[1]}x{frame.shape[0]} differs from "
                    f"{self._stream.width}x{self._stream.height}"
                )
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if times_s is not None:
                asked = float(times_s[i])
                pts = round(asked / TIMED_TIME_BASE)
                if self._pts and pts < self._pts[-1] + MIN_GAP_TICKS:  # repeated, backward or < 1 ms later
                    pts = self._pts[-1] + MIN_GAP_TICKS  # `max_time_shift_s` reports the shift
                vf.pts = pts
                vf.time_base = TIMED_TIME_BASE
                self._times.append(asked)
                self._pts.append(pts)
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
            self.frames_written += 1

    def _verify(self, tmp: Path) -> None:
        """Run on the finished temporary file before the rename (`atomic_path`)."""
        self.written = check_written_video(tmp, self.frames_written, name=self.path)
        wanted = [t - self._times[0] for t in self._times] if self._timed else None
        if wanted is None:
            wanted = [i / float(self.fps) for i in range(self.frames_written)]
        self.max_time_shift_s = max(
            (abs(a - b) for a, b in zip(self.written.times_s, wanted, strict=False)), default=0.0
        )

    def close(self) -> Path:
        """Flush the encoder and move the finished file into place; returns its path."""
        if self._stream is None:
            self.abort()
            raise ValueError(f"{self.path}: no frames were written")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except BaseException:
            self.abort()
            raise
        self._container = self._stream = None
        self._atomic.__exit__(None, None, None)  # verifies, then renames (or removes and raises)
        return self.path

    def abort(self) -> None:
        """Discard the partial output."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                pass
        self._container = self._stream = None
        self._atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _format_for(path: Path) -> str | None:
    return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}.get(path.suffix.lower())


def write_video(
    path: str | Path,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    times_s: Sequence[float] | None = None,
    **kwargs: Any,
) -> Path:
    """Write uint8 RGB frames ((T, H, W, C) array or iterable of (H, W, C)) to `path` atomically, at `times_s`
    (seconds, one per frame; variable frame rate) when given."""
    with VideoWriter(path, fps, **kwargs) as writer:
        if times_s is not None:
            arr = np.asarray(frames)
            writer.write(arr, list(times_s))
        else:
            for chunk in [frames] if isinstance(frames, np.ndarray) else frames:
                writer.write(chunk)
    return Path(path)


def write_image_sequence(
    folder: str | Path, frames: np.ndarray | Iterable[np.ndarray], *, ext: str = "png", start: int = 0
) -> list[Path]:
    """Write frames as `folder/%08d.<ext>` (png lossless, or jpg at quality 95), each file atomically."""
    from PIL import Image

    if ext not in ("png", "jpg"):
        raise ValueError("ext must be png or jpg")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames, start=start):
        target = out / f"{i:08d}.{ext}"
        with atomic_path(target) as tmp:
            Image.fromarray(_check_frame(frame)).save(tmp, format="PNG" if ext == "png" else "JPEG", quality=95)
        paths.append(target)
    return paths


def read_image(path: str | Path) -> np.ndarray:
    """One image as uint8 RGB (H, W, C); MediaError naming the file when it is missing, unreadable or above the
    pixel cap (`vsrcore.limits`, checked from the header before decoding)."""
    from vsrcore.video.image import decode_image
    from vsrcore.video.probe import check_file

    return decode_image(check_file(path))


def read_image_sequence(folder: str | Path) -> np.ndarray:
    """Read every png/jpg in `folder` (sorted by name) as uint8 RGB (T, H, W, C). The frames' declared sizes
    must fit the decoded-bytes budget together (`vsrcore.limits`), checked from their headers before decoding."""
    from vsrcore.errors import MediaError
    from vsrcore.limits import check_decoded_bytes
    from vsrcore.video.image import declared_size

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise MediaError(folder, "no .png/.jpg frames in folder")
    total = 0
    for f in files:
        w, h = declared_size(f)
        total += w * h * 3
    check_decoded_bytes(folder, total, f"{len(files)} decoded frames")
    return np.stack([read_image(f) for f in files])


def encode_decode(
    frames: np.ndarray,
    codec: str,
    *,
    fps: float | Fraction = 1,
    bitrate: int | None = None,
    crf: int | None = None,
    container: str = "mp4",
    pix_fmt: str = "yuv420p",
    threads: int = 1,
    options: dict[str, str] | None = None,
) -> np.ndarray:
    """Encode uint8 RGB (T, H, W, C) frames in memory with an FFmpeg encoder and decode them back.

    `codec` is an FFmpeg encoder name as PyAV resolves it (so "h264" gives libx264). `bitrate` is in bits
    per second of the stream at `fps` frames per second. Frames whose size differs from frame 0 are
    rescaled by the encoder's reformatter (swscale bilinear), as PyAV does. 4:2:0 needs even sizes:
    odd sizes are edge-padded before encoding and cropped after decoding. One encoder thread by default:
    multi-threaded rate control is not bit-reproducible. `options` are passed to the encoder.
    """
    import io

    import av

    t, h, w, _ = frames.shape
    ph, pw = h + h % 2, w + w % 2
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=Fraction(str(fps)).limit_denominator(1001 * 1000))
        stream.width, stream.height, stream.pix_fmt = pw, ph, pix_fmt
        stream.codec_context.thread_count = threads
        if bitrate is not None:
            stream.bit_rate = int(bitrate)
        stream.options = {**({"crf": str(crf)} if crf is not None else {}), **(options or {})}
        for frame in frames:
            frame = _check_frame(frame)
            if frame.shape[:2] != (ph, pw) and frame.shape[:2] == (h, w):
                frame = np.pad(frame, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pict_type = av.video.frame.PictureType.NONE
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, mode="r") as inp:
        decoded = [f.to_ndarray(format="rgb24")[:h, :w] for f in inp.decode(video=0)]
    if len(decoded) != t:
        raise RuntimeError(f"{codec} round trip returned {len(decoded)} of {t} frames")
    return np.stack(decoded)
