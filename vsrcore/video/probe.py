"""`probe(path)`: container and stream metadata from headers, without decoding a frame."""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from vsrcore.deps import require
from vsrcore.errors import MediaError
from vsrcore.video.types import AudioStreamMeta, FrameCheck, VideoMeta


_MP4_CONTAINERS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")
_PLAYLIST_FORMATS = frozenset({"concat", "hls", "dash", "ffmetadata"})
AVFMT_NOTIMESTAMPS = 0x80  # libavformat's flag for formats that store no timestamps (raw elementary streams)


def link_problem(path: str | Path) -> str | None:
    """What is wrong with `path` as a symbolic link: a loop (links that point at each other, or a folder link to
    the folder holding it or above), a broken link, or None (not a link, or a link to something that exists)."""
    import errno
    import os

    p = Path(path)
    if not p.is_symlink():
        return None
    target = os.readlink(p)
    try:
        os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"symbolic link loop ({p.name} -> {target} leads back to itself)"
        return f"broken symbolic link (to '{target}', which does not exist)"
    resolved, parent = p.resolve(), p.parent.resolve()
    if resolved.is_dir() and (resolved == parent or resolved in parent.parents):
        return f"symbolic link loop (folder link to '{target}', the folder holding it or above)"
    return None


def check_file(path: str | Path) -> Path:
    """Raise MediaError for a missing, non-regular or zero-byte file, or a link loop; return it as a Path."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, link_problem(p) or "file not found")
    if not p.is_file():
        raise MediaError(p, "not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(p, "empty file (0 bytes)")
    return p


def open_input(path: str | Path) -> Any:
    """Open a media file with PyAV, turning PyAV/FFmpeg errors into a one-line MediaError.

    Guarded by the stall timeout (`vsrcore.video.watchdog`): opening a hostile file can block for good. Files that
    FFmpeg reads as playlists of other files (concat, HLS, DASH) are refused: a scraped "video" must not make
    the toolkit read files it was not given.
    """
    require("av", feature="video I/O")
    import av

    from vsrcore.video.watchdog import watched_call

    p = check_file(path)

    def do_open() -> Any:
        try:
            return av.open(str(p), mode="r", metadata_errors="ignore")
        except av.error.FFmpegError as e:
            raise MediaError(p, f"not a readable media file ({_short(e)})") from None

    container = watched_call(do_open, path=p, what="opening the file")
    if container.format.name in _PLAYLIST_FORMATS:
        container.close()
        raise MediaError(p, f"is a {container.format.name} playlist that refers to other files; refused")
    return container


def _short(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e).splitlines()[0]


def video_stream(container: Any, path: str | Path) -> Any:
    """The first video stream, or MediaError naming what the file holds instead."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise MediaError(path, f"has no video stream (contains: {', '.join(kinds)})")
    return container.streams.video[0]


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per component of an FFmpeg pixel format name (8 unless the name says 9-16)."""
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt or pix_fmt.startswith(f"gray{depth}") or f"{depth}le" in pix_fmt:
            return depth
    return 8


def _mp4_rotation(path: Path) -> int:
    """Counter-clockwise display rotation from the first video track's tkhd matrix (0 if none)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size

        def boxes(start: int, end: int) -> list[tuple[bytes, int, int]]:
            out, pos = [], start
            while pos + 8 <= end:
                f.seek(pos)
                n, kind = struct.unpack(">I4s", f.read(8))
                header = 8
                if n == 1:
                    n, header = struct.unpack(">Q", f.read(8))[0], 16
                elif n == 0:
                    n = end - pos
                if n < header:
                    break
                out.append((kind, pos + header, min(pos + n, end)))
                pos += n
            return out

        for kind, body, end in boxes(0, size):
            if kind != b"moov":
                continue
            for tkind, tbody, tend in boxes(body, end):
                if tkind != b"trak":
                    continue
                children = {k: (b, e) for k, b, e in boxes(tbody, tend)}
                if "mdia" not in {k.decode("latin-1") for k in children}:
                    continue
                mdia = {k: (b, e) for k, b, e in boxes(*children[b"mdia"])}
                if b"hdlr" not in mdia or b"tkhd" not in children:
                    continue
                f.seek(mdia[b"hdlr"][0] + 8)
                if f.read(4) != b"vide":
                    continue
                f.seek(children[b"tkhd"][0])
                version = f.read(1)[0]
                f.seek(children[b"tkhd"][0] + (4 + 32 if version == 1 else 4 + 20) + 16)
                a, b = struct.unpack(">ii", f.read(8))
                return _quantise_rotation(-math.degrees(math.atan2(b / 65536.0, a / 65536.0)))
    return 0


def _quantise_rotation(deg: float) -> int:
    r = int(round(deg / 90.0)) * 90 % 360
    return r - 360 if r > 180 else r


def probe(path: str | Path) -> VideoMeta:
    """Describe a video from its container headers (size, fps, frames, duration, codec, format, rotation, audio).

    Raises MediaError (one line, naming the file) for missing, empty, unreadable or audio-only files.
    """
    p = check_file(path)
    container = open_input(p)
    try:
        stream = video_stream(container, p)
        ctx = stream.codec_context
        fmt = ctx.format
        pix_fmt = fmt.name if fmt is not None else (ctx.pix_fmt or "unknown")
        coded_w, coded_h = int(ctx.width), int(ctx.height)
        if coded_w <= 0 or coded_h <= 0:
            raise MediaError(p, "video stream has no frame size in its header (corrupt or truncated)")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise MediaError(p, "video stream has no frame rate")
        fps_frac = Fraction(rate)
        fps = float(fps_frac)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        exact = bool(stream.frames and stream.frames > 0)
        frame_count = int(stream.frames) if exact else int(round(duration * fps))
        if duration <= 0 and frame_count > 0:
            duration = frame_count / fps

        rotation = 0
        rotate_tag = stream.metadata.get("rotate")
        if rotate_tag:
            rotation = _quantise_rotation(-float(rotate_tag))
        elif any(n in container.format.name.split(",") for n in _MP4_CONTAINERS):
            rotation = _mp4_rotation(p)
        width, height = (coded_h, coded_w) if rotation in (90, -90) else (coded_w, coded_h)

        audio = tuple(
            AudioStreamMeta(
                index=int(a.index),
                codec=a.codec_context.codec.canonical_name,
                sample_rate=int(a.codec_context.sample_rate or 0),
                channels=int(a.codec_context.channels or 0),
                duration_s=float(a.duration * a.time_base) if a.duration is not None and a.time_base else None,
            )
            for a in container.streams.audio
        )
        return VideoMeta(
            path=str(p),
            container=container.format.name,
            codec=ctx.codec.canonical_name,
            width=width,
            height=height,
            coded_width=coded_w,
            coded_height=coded_h,
            fps=fps,
            fps_fraction=f"{fps_frac.numerator}/{fps_frac.denominator}",
            frame_count=frame_count,
            frame_count_exact=exact,
            duration_s=duration,
            pix_fmt=pix_fmt,
            bit_depth=bit_depth_of(pix_fmt),
            rotation=rotation,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            size_bytes=p.stat().st_size,
            audio=audio,
        )
    finally:
        container.close()


def count_frames(path: str | Path) -> int:
    """Exact number of video frames, by demuxing packets (no decoding): a fraction of a decode's cost.

    Use where headers estimate (no frame count in the container) or mislead (variable frame rate).
    """
    return check_frames(path).frames


def check_frames(path: str | Path, meta: VideoMeta | None = None) -> FrameCheck:
    """Frame count and duration from the packets (demuxed, not decoded), beside the header's (`meta`, probed
    when not given). Headers estimate (MPEG-PS, elementary streams), lie (a patched or truncated AVI) or
    average (variable frame rate); the packets are what a decode will see."""
    from vsrcore.video.watchdog import watched_iter

    p = check_file(path)
    meta = meta if meta is not None else probe(p)
    container = open_input(p)
    try:
        stream = video_stream(container, p)
        tb = float(stream.time_base) if stream.time_base else 0.0
        if container.format.flags & AVFMT_NOTIMESTAMPS:
            tb = 0.0  # raw elementary streams: the parser guesses these times, the frame rate is the truth

        def batches() -> Iterator[list[tuple[int | None, int]]]:
            batch = []
            for pk in container.demux(stream):
                if pk.size > 0:
                    batch.append((pk.pts, pk.duration or 0))
                if len(batch) == 256:
                    yield batch
                    batch = []
            yield batch

        frames, pts, last_duration = 0, [], 0
        for batch in watched_iter(batches, path=p, what="counting frames"):
            frames += len(batch)
            for ts, duration in batch:
                if ts is not None:
                    pts.append(ts)
                    last_duration = duration
    finally:
        container.close()
    vfr = False
    if tb and len(pts) == frames and frames > 1:
        pts.sort()
        steps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
        median = sorted(steps)[len(steps) // 2]
        duration = (pts[-1] - pts[0] + (last_duration or median)) * tb
        vfr = (max(steps) - min(steps)) * tb > max(0.002, 0.05 * median * tb)
    else:
        duration = frames / meta.fps if meta.fps else 0.0
    return FrameCheck(frames, float(duration), meta.frame_count, meta.frame_count_exact, meta.duration_s, vfr)
