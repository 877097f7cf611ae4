"""Content hashes and deterministic ids for files, clips and shard members."""

from __future__ import annotations

import hashlib
from pathlib import Path


_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Full SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def content_id(path: str | Path, *, sample_bytes: int = 4 * _CHUNK) -> str:
    """A fast 16-hex content id: SHA-256 of the size plus the first and last `sample_bytes` bytes.

    Identical files always agree; renamed or moved copies keep their id. Use `file_sha256` where
    collisions between files that differ only in the middle must be excluded.
    """
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        if size <= 2 * sample_bytes:
            h.update(f.read())
        else:
            h.update(f.read(sample_bytes))
            f.seek(size - sample_bytes)
            h.update(f.read(sample_bytes))
    return h.hexdigest()[:16]


def make_id(*parts: object, length: int = 16) -> str:
    """Deterministic id from parts (e.g. source id and span): hex SHA-256 prefix of their joined text."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:length]
