"""Hostile inputs built at test time: malicious VSR shard directories, decompression-bomb PNGs, videos whose
headers lie about their frame count, variable-frame-rate video and a file that hangs the decoder.

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


# ------------------------------------------------------------------------------------------------------------
# Videos whose headers lie, variable frame rate, and a file that hangs the decoder
# ------------------------------------------------------------------------------------------------------------
def _encode(path: Path, frames: np.ndarray, codec: str, fmt: str, rate: int = 25, times_s: list[float] | None = None):
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

    _encode(path, moving_texture(frames, height, width), "mpeg1video", "mpeg1video")
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

    _encode(path, moving_texture(declared, height, width), "mpeg4", "avi")
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
    return _encode(path, moving_texture(len(times_s), height, width), "libx264", fmt, times_s=times_s)


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
