"""Hostile inputs built at test time: malicious VSR shard directories and decompression-bomb PNGs.

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
from pathlib import Path

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
