"""Atomic file output: write to a temporary sibling, rename into place only when complete."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def temp_sibling(path: Path) -> Path:
    """A unique hidden temporary name in the same folder, keeping the suffix (so muxers infer the format)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")


def finished_files(folder: Path, suffix: str) -> list[Path]:
    """The files `folder/*{suffix}` that were renamed into place, sorted: `temp_sibling` names (hidden, still being
    written, or left by a killed process) are not results, although a plain `glob('*' + suffix)` matches them."""
    return sorted(p for p in folder.glob(f"*{suffix}") if not p.name.startswith("."))


@contextmanager
def atomic_path(path: str | Path, verify: Callable[[Path], object] | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to `path`, on error it is removed.

    `verify(tmp)`, when given, runs on the finished temporary file before the rename (for videos: re-open it and
    check its frame count); if it raises, the file is removed and never appears under `path`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not tmp.exists():
        raise FileNotFoundError(f"{target}: nothing was written to the temporary file")
    if verify is not None:
        try:
            verify(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.replace(tmp, target)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (fsync before rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write `obj` as pretty, key-sorted JSON atomically."""
    return write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())
