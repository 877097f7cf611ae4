"""Hostile inputs built at test time: malicious VSR shard directories, hostile media files, pickle weights,
decompression-bomb PNGs, videos whose headers lie about their frame count, variable-frame-rate video and a file
that hangs the decoder.

Shards are built with `tarfile` (one hostile member each).

Each case is a shard directory with a manifest row naming one member and a tar holding that member in a hostile
form (path traversal, absolute name, links out, a device file, a FIFO, an oversize member), next to one good PNG
item, so a test can check that the bad item is refused and the good one still goes through.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from vsrcore.shards import MANIFEST, REQUIRED_COLUMNS, SHARD_DIR


GOOD_ID = "good"
OVERSIZE_CAP = 4096  # bytes: set $FLASHVSR_MAX_MEMBER_BYTES to this for the "oversize" case

# case -> (manifest member name, how the tar stores it)
CASES = ("dotdot", "absolute", "symlink", "hardlink", "device", "fifo", "oversize")


def png_bytes(height: int = 24, width: int = 32, seed: int = 0) -> bytes:
    """A small real RGB PNG."""
    from PIL import Image

    from vsrcore.testing import smooth_texture

    buf = io.BytesIO()
    Image.fromarray(smooth_texture(height, width, seed)).save(buf, format="PNG")
    return buf.getvalue()


def _row(item_id: str, member: str) -> dict:
    row = {c: None for c in REQUIRED_COLUMNS}
    row.update(
        id=item_id,
        kind="image",
        source_path="x.png",
        source_hash="h",
        start_frame=0,
        end_frame=1,
        width=32,
        height=24,
        fps=25.0,
        frame_count=1,
        codec="png",
        split="train",
        shard="000000.tar",
        member=member,
    )
    return row


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def malicious_shard(root: Path, case: str, escape: Path) -> tuple[Path, str]:
    """Write a shard directory at `root` whose item 'evil' is hostile as `case` says, plus item 'good' (a PNG).

    `escape` is the outside path the hostile member aims at (a test asserts it never appears). Returns the tar's
    path and the hostile member's name as the tar stores it.
    """
    assert case in CASES, case
    (root / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    tar_path = root / SHARD_DIR / "000000.tar"
    payload = png_bytes(seed=1)
    depth = len(root.resolve().parts)  # enough '..' to reach / from the shard folder
    traversal = "../" * (depth + 2) + str(escape.resolve()).lstrip("/")
    member = {
        "dotdot": traversal,
        "absolute": str(escape.resolve()),
    }.get(case, "evil.png")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, f"{GOOD_ID}.png", png_bytes())
        if case in ("dotdot", "absolute"):
            _add(tar, member, payload)
        elif case == "symlink":
            _add(tar, member, kind=tarfile.SYMTYPE, link=str(escape.resolve()))
        elif case == "hardlink":
            _add(tar, member, kind=tarfile.LNKTYPE, link=traversal)
        elif case == "device":
            _add(tar, member, kind=tarfile.CHRTYPE)
        elif case == "fifo":
            _add(tar, member, kind=tarfile.FIFOTYPE)
        else:  # oversize: a real PNG padded past OVERSIZE_CAP
            _add(tar, member, payload + bytes(OVERSIZE_CAP + 1))
    rows = [_row(GOOD_ID, f"{GOOD_ID}.png"), _row("evil", member)]
    pd.DataFrame(rows).to_parquet(root / MANIFEST, index=False)
    return tar_path, member


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file (and link) under `folder`: relative path -> content (link target for links)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = str(p.readlink()).encode()
        elif p.is_file():
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes whose header declares `width` x `height` RGB pixels (a decompression bomb's
    header: decoding it would allocate width * height * 3 bytes). Its pixel data is one valid zlib stream of
    blank rows for the first 16 rows only, so a decoder that trusted the header would fail late."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(bytes(min(height, 16) * (1 + 3 * min(width, 64))), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- hostile media files
#
# `hostile_media(folder)` writes one file (or folder) per case below and returns {case: path}. Everything is made
# here with PyAV, PIL and byte edits; nothing is downloaded. Cases marked "valid" are real media a tool must handle
# correctly (odd formats, odd names); the others are broken or malicious and must end as one line naming the file.

MEDIA_CASES: dict[str, str] = {
    "good": "valid: a 12-frame 64x48 H.264 .mp4 (the control row)",
    "truncated-10": "the good .mp4 cut to its first 10% of bytes",
    "truncated-50": "the good .mp4 cut at 50%",
    "truncated-90": "the good .mp4 cut at 90% (the index at the end is lost)",
    "zero-bytes": "an empty .mp4",
    "random-mp4": "4 KiB of random bytes named .mp4",
    "random-mkv": "4 KiB of random bytes named .mkv",
    "random-png": "4 KiB of random bytes named .png",
    "no-moov": "the good .mp4 with its 'moov' box renamed 'free' (no index)",
    "corrupt-nal": "H.264 in .mkv whose packet payloads are overwritten with random bytes after the first keyframe",
    "vfr": "valid: an .mkv with irregular frame times on a 40 ms grid, two of them repeated (0, 40, 40, 120 ms ...)",
    "rotated": "valid: an .mp4 whose header says rotate 90 degrees",
    "10bit": "valid: H.264 High 10 (yuv420p10le)",
    "444": "valid: H.264 4:4:4 (yuv444p)",
    "gray-video": "valid: FFV1 gray",
    "gray-png": "valid: an 8-bit grayscale PNG",
    "1x1-video": "valid: a 1x1 FFV1 .mkv",
    "1x1-png": "valid: a 1x1 PNG",
    "odd-size": "valid: a 33x17 FFV1 .mkv",
    "absurd-y4m": "a .y4m whose header declares 100000x100000 pixels and holds a few bytes",
    "bomb-png": "a PNG of a few hundred bytes declaring 100000x100000 pixels (decompression bomb)",
    "audio-only": "an .mp4 holding only an AAC track",
    "count-mismatch": "an MPEG-4 .avi whose header says 444 frames while it holds 12",
    "gif": "valid: an animated .gif (a readable format some folders hold)",
    "unicode-name": "valid: the good clip named 'clip ünïcode 雪 with spaces.mkv'",
    "symlink-loop": "a folder holding a symlink to itself and two links pointing at each other",
    "unreadable": "the good clip with mode 000 (refused only when not run as root)",
}


def _encode(path: Path, frames: np.ndarray, codec: str, pix_fmt: str, fps: int = 25, **options: str) -> Path:
    import av

    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        stream.options = options
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _clip(frames: int = 12, height: int = 48, width: int = 64) -> np.ndarray:
    from vsrcore.testing import moving_texture

    return moving_texture(frames, height, width, dx=2)


def _vfr(path: Path) -> Path:
    from fractions import Fraction

    import av

    frames = _clip()
    gaps = [40, 10, 70, 40, 20, 100, 40, 40, 10, 60, 40, 30]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.height, stream.width, stream.pix_fmt = 48, 64, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        pts = 0
        for f, gap in zip(frames, gaps, strict=True):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += gap
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _corrupt_nal(path: Path, seed: int = 0) -> Path:
    """Re-mux the H.264 packets of a clip, overwriting each packet after the first with random bytes (past a
    4-byte length prefix), so the container is sound and the NAL units are garbage."""
    import av

    rng = np.random.default_rng(seed)
    src = path.with_name(".src-" + path.name)
    _encode(src, _clip(), "libx264", "yuv420p", g="4", bf="0")
    with av.open(str(src)) as inp, av.open(str(path), mode="w") as out:
        in_stream = inp.streams.video[0]
        stream = out.add_stream_from_template(in_stream)
        for i, packet in enumerate(inp.demux(in_stream)):
            if packet.size == 0:
                continue
            data = bytes(packet)
            if i > 0:
                data = data[:4] + rng.integers(0, 256, len(data) - 4, dtype=np.uint8).tobytes()
            new = av.Packet(data)
            new.pts, new.dts, new.time_base, new.stream = packet.pts, packet.dts, packet.time_base, stream
            new.is_keyframe = packet.is_keyframe
            out.mux(new)
    src.unlink()
    return path


def _audio_only(path: Path) -> Path:
    import av

    from vsrcore.testing import sine_audio

    samples = sine_audio(0.5, rate=48000, channels=2)  # (channels, n) float32
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _count_mismatch(path: Path, declared: int = 444) -> Path:
    """An AVI whose main header (avih dwTotalFrames) and stream header (strh dwLength) declare `declared` frames."""
    _encode(path, _clip(), "mpeg4", "yuv420p")
    data = bytearray(path.read_bytes())
    avih = data.index(b"avih")
    struct.pack_into("<I", data, avih + 8 + 16, declared)  # after size, then 4 DWORDs: dwTotalFrames
    strh = data.index(b"strh")
    struct.pack_into(
        "<I", data, strh + 8 + 32, declared
    )  # fccType fccHandler flags prio+lang initial scale rate start
    path.write_bytes(bytes(data))
    return path


def _boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """Top-level ISO-BMFF boxes of an .mp4: (offset, size, type)."""
    out, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        size = size or len(data) - at
        out.append((at, size, kind))
        at += size
    return out


def _without_moov(good: bytes) -> bytes:
    """The .mp4 with its 'moov' box (the index) cut out, as a recording killed before it was finalised."""
    at, size, _ = next(b for b in _boxes(good) if b[2] == b"moov")
    return good[:at] + good[at + size :]


def _rotated(path: Path) -> Path:
    """An .mp4 whose track header matrix rotates the picture by 90 degrees (what phones write)."""
    _encode(path, _clip(), "libx264", "yuv420p")
    data = bytearray(path.read_bytes())
    tkhd = data.index(b"tkhd") - 4
    version = data[tkhd + 8]
    matrix = tkhd + 8 + 4 + (32 if version == 1 else 20) + 8 + 8  # after version/flags, times, reserved, layer...
    struct.pack_into(">9i", data, matrix, 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


def _gif(path: Path) -> Path:
    from PIL import Image

    frames = [Image.fromarray(f) for f in _clip(6)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0)
    return path


def hostile_media(folder: Path, cases: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Write the hostile media `cases` (default: all of MEDIA_CASES) under `folder`; {case: path}.

    Each case gets its own sub-folder, so a tool can be pointed at one file or at one folder at a time.
    """
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    good_dir = folder / ".good"
    good_dir.mkdir(exist_ok=True)
    good_path = _encode(good_dir / "good.mp4", _clip(), "libx264", "yuv420p", g="4")
    good = good_path.read_bytes()
    made: dict[str, Path] = {}
    for case in cases or tuple(MEDIA_CASES):
        d = folder / case
        d.mkdir(exist_ok=True)
        if case == "good":
            p = d / "good.mp4"
            p.write_bytes(good)
        elif case.startswith("truncated-"):
            p = d / f"{case}.mp4"
            p.write_bytes(good[: len(good) * int(case.split("-")[1]) // 100])
        elif case == "zero-bytes":
            p = d / "empty.mp4"
            p.write_bytes(b"")
        elif case.startswith("random-"):
            p = d / f"random.{case.split('-')[1]}"
            p.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        elif case == "no-moov":
            p = d / "no-moov.mp4"
            p.write_bytes(_without_moov(good))
        elif case == "corrupt-nal":
            p = _corrupt_nal(d / "corrupt-nal.mkv")
        elif case == "vfr":
            p = _vfr(d / "vfr.mkv")
        elif case == "rotated":
            p = _rotated(d / "rotated.mp4")
        elif case == "10bit":
            p = _encode(d / "10bit.mkv", _clip(), "libx264", "yuv420p10le")
        elif case == "444":
            p = _encode(d / "444.mp4", _clip(), "libx264", "yuv444p")
        elif case == "gray-video":
            p = _encode(d / "gray.mkv", _clip(), "ffv1", "gray")
        elif case == "gray-png":
            p = d / "gray.png"
            Image.fromarray(_clip(1)[0, :, :, 0]).save(p)
        elif case == "1x1-video":
            p = _encode(d / "one.mkv", _clip(4, 1, 1), "ffv1", "yuv444p")
        elif case == "1x1-png":
            p = d / "one.png"
            Image.fromarray(np.full((1, 1, 3), 128, np.uint8)).save(p)
        elif case == "odd-size":
            p = _encode(d / "odd.mkv", _clip(6, 17, 33), "ffv1", "yuv444p")
        elif case == "absurd-y4m":
            p = d / "absurd.y4m"
            p.write_bytes(b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(64))
        elif case == "bomb-png":
            p = d / "bomb.png"
            p.write_bytes(bomb_png(100_000, 100_000))
        elif case == "audio-only":
            p = _audio_only(d / "audio-only.mp4")
        elif case == "count-mismatch":
            p = _count_mismatch(d / "count-mismatch.avi")
        elif case == "gif":
            p = _gif(d / "anim.gif")
        elif case == "unicode-name":
            p = d / "clip ünïcode 雪 with spaces.mp4"
            p.write_bytes(good)
        elif case == "symlink-loop":
            (d / "self").symlink_to(".", target_is_directory=True)
            (d / "a.mp4").symlink_to("b.mp4")
            (d / "b.mp4").symlink_to("a.mp4")
            p = d / "a.mp4"
        elif case == "unreadable":
            p = d / "unreadable.mp4"
            p.write_bytes(good)
            p.chmod(0)
        else:
            raise ValueError(f"unknown hostile media case {case!r}")
        made[case] = p
    return made


# ------------------------------------------------------------------------------------------------------------
# Videos whose headers lie, variable frame rate, and a file that hangs the decoder
# ------------------------------------------------------------------------------------------------------------
def _encode_timed(
    path: Path, frames: np.ndarray, codec: str, fmt: str, rate: int = 25, times_s: list[float] | None = None
):
    """Encode uint8 RGB (T, H, W, C) frames with PyAV (independently of vsrcore's writer); `times_s` sets each
    frame's presentation time (variable frame rate)."""
    import av

    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        if times_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if times_s is not None:
                vf.pts, vf.time_base = round(times_s[i] * 1000), Fraction(1, 1000)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def mpeg1_declaring_one_frame(path: Path, frames: int = 79, height: int = 48, width: int = 64) -> Path:
    """An MPEG-1 video elementary stream (.mpg) holding `frames` frames whose sequence headers declare a bit rate
    so high that FFmpeg's header duration (file size / bit rate) is one frame long."""
    from vsrcore.testing import moving_texture

    _encode_timed(path, moving_texture(frames, height, width), "mpeg1video", "mpeg1video")
    data = bytearray(path.read_bytes())
    rate_units = int(len(data) * 8 * 25 / 400)  # bits per second in 400 bit/s units, for a 1/25 s duration
    pos = data.find(b"\x00\x00\x01\xb3")
    while pos >= 0:  # sequence header: 12 bits width, 12 height, 4 aspect, 4 rate code, 18 bits bit_rate, ...
        value = int.from_bytes(data[pos + 4 : pos + 12], "big")
        value = (value & ~(((1 << 18) - 1) << 14)) | (rate_units << 14)
        data[pos + 4 : pos + 12] = value.to_bytes(8, "big")
        pos = data.find(b"\x00\x00\x01\xb3", pos + 4)
    path.write_bytes(bytes(data))
    return path


def truncated_avi(path: Path, declared: int = 444, kept: int = 68, height: int = 48, width: int = 64) -> Path:
    """An AVI whose headers declare `declared` frames but whose data stops after `kept` (a cut-off download: cut
    right after frame `kept`'s packet, so the index at the end is gone too)."""
    import av

    from vsrcore.testing import moving_texture

    _encode_timed(path, moving_texture(declared, height, width), "mpeg4", "avi")
    with av.open(str(path)) as container:
        packets = [pk for pk in container.demux(video=0) if pk.size > 0]
        cut = packets[kept - 1].pos + packets[kept - 1].size
    path.write_bytes(path.read_bytes()[:cut])
    return path


# presentation times (s) of a variable-frame-rate clip: 25 fps, a 0.3 s gap, then 10 fps
VFR_TIMES = [i * 0.04 for i in range(10)] + [0.66 + i * 0.1 for i in range(8)]


def vfr_video(path: Path, times_s: list[float] = VFR_TIMES, height: int = 48, width: int = 64) -> Path:
    """An H.264 video (mkv or mp4, by suffix) whose frames sit at `times_s` (variable frame rate)."""
    from vsrcore.testing import moving_texture

    fmt = {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov"}[path.suffix]
    return _encode_timed(path, moving_texture(len(times_s), height, width), "libx264", fmt, times_s=times_s)


def hanging_video(folder: Path) -> Path:
    """`hang.mp4`: an FFmpeg concat playlist naming a FIFO nobody writes to, so opening it blocks in open(2) for
    good (a real decoder hang, not a simulated one). Returns the .mp4 path."""
    import os

    fifo = folder / "stall"
    if not fifo.exists():
        os.mkfifo(fifo)
    path = folder / "hang.mp4"
    path.write_text("ffconcat version 1.0\nfile stall\n")
    return path
