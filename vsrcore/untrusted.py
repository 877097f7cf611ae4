"""Reading untrusted containers: the one safe-name gate and the one tar member reader.

Every tar member the project reads goes through `read_members` (shard items, training data, degrade over shards),
and every path built from a name found in a tar or a manifest goes through `safe_name` / `safe_join` first. A
member is refused unless its name is a canonical relative path (no absolute name, no drive letter, no `..`, no
empty or `.` component, no backslash or control character) and it is a regular file no larger than the member cap
(`FLASHVSR_MAX_MEMBER_BYTES`, default 16 GiB). Links (symbolic or hard), devices, FIFOs and directories are never
read. Members are streamed out of the tar; nothing is extracted to disk here, so nothing can land outside the
caller's folder. Zip archives (downloaded datasets) pass the same gate member by member in `extract_zip`, the one
place the project writes archive members to disk.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from vsrcore.errors import MediaError, UserFacingError


DEFAULT_MAX_MEMBER_BYTES = 16 << 30
MAX_MEMBER_BYTES_ENV = "FLASHVSR_MAX_MEMBER_BYTES"
MAX_NAME_CHARS = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeName(UserFacingError, ValueError):
    """A member or manifest name that could address a path outside the destination folder."""


class UnsafeMember(UserFacingError):
    """A tar member refused by the gate; the message names the tar file, the member and the reason."""

    def __init__(self, tar_path: str | Path, member: str, reason: str) -> None:
        self.tar_path, self.member, self.reason = str(tar_path), member, reason
        super().__init__(f"{tar_path}: member {member!r} refused: {reason}")


def max_member_bytes() -> int:
    """The member size cap: $FLASHVSR_MAX_MEMBER_BYTES, else DEFAULT_MAX_MEMBER_BYTES."""
    env = os.environ.get(MAX_MEMBER_BYTES_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_MEMBER_BYTES
    try:
        value = int(env)
    except ValueError:
        raise UserFacingError(f"${MAX_MEMBER_BYTES_ENV}={env!r} is not a whole number of bytes") from None
    if value < 1:
        raise UserFacingError(f"${MAX_MEMBER_BYTES_ENV}={env!r} must be at least 1")
    return value


def name_problem(name: object, *, single: bool = False) -> str | None:
    """Why `name` is unsafe as a relative path (None when it is safe). `single`: must also be one component."""
    if not isinstance(name, str):
        return f"not a string ({type(name).__name__})"
    if not name:
        return "empty name"
    if len(name) > MAX_NAME_CHARS:
        return f"name longer than {MAX_NAME_CHARS} characters"
    if _CONTROL.search(name):
        return "control character in name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8 text"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute path"
    parts = name.split("/")
    if ".." in parts:
        return "'..' component"
    if any(p in ("", ".") for p in parts):
        return "empty or '.' component (name is not canonical)"
    if single and len(parts) > 1:
        return "name has a folder part"
    return None


def safe_name(name: object, *, single: bool = False, what: str = "name") -> str:
    """`name` itself when it passes the gate (see module doc), else UnsafeName naming it and the reason."""
    problem = name_problem(name, single=single)
    if problem is not None:
        raise UnsafeName(f"{what} {name!r} refused: {problem}")
    assert isinstance(name, str)
    return name


def safe_join(dest: str | Path, name: str, *, what: str = "name") -> Path:
    """`dest / name` for a gated `name`, checked to stay inside `dest` after resolving symlinks already on disk."""
    safe_name(name, what=what)
    root = os.path.realpath(dest)
    target = os.path.realpath(os.path.join(root, *name.split("/")))
    if os.path.commonpath([root, target]) != root or target == root:
        raise UnsafeName(f"{what} {name!r} refused: resolves outside {dest}")
    return Path(dest) / name


def _member_problem(info: tarfile.TarInfo, cap: int) -> str | None:
    problem = name_problem(info.name)
    if problem is not None:
        return problem
    if info.issym():
        return f"symbolic link (to {info.linkname!r})"
    if info.islnk():
        return f"hard link (to {info.linkname!r})"
    if info.ischr() or info.isblk():
        return "device file"
    if info.isfifo():
        return "FIFO"
    if not info.isfile():
        return "not a regular file"
    if info.size > cap:
        return f"{info.size:,} bytes exceeds the member cap of {cap:,} bytes (${MAX_MEMBER_BYTES_ENV})"
    return None


def read_members(
    tar_path: str | Path, names: Iterable[str] | None = None, *, max_bytes: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """Stream (name, bytes) of the regular-file members called `names` (None: every member) out of a tar.

    Members are read in the order the tar stores them, each name once (its first occurrence). A requested member
    that fails the gate raises UnsafeMember; with `names=None` any member that fails it does. A requested name that
    is not in the tar raises MediaError naming the tar and the missing names; an unreadable tar raises MediaError.
    """
    cap = max_member_bytes() if max_bytes is None else max_bytes
    wanted: set[str] | None = None
    if names is not None:
        wanted = set()
        for n in names:
            problem = name_problem(n)
            if problem is not None:
                raise UnsafeMember(tar_path, str(n), problem)
            wanted.add(n)
        if not wanted:
            return
    path = Path(tar_path)
    if not path.is_file():
        raise MediaError(path, "shard tar not found" if not path.exists() else "shard tar is not a regular file")
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in tar:
                if wanted is not None and info.name not in wanted:
                    continue
                problem = _member_problem(info, cap)
                if problem is not None:
                    raise UnsafeMember(path, info.name, problem)
                fh = tar.extractfile(info)
                assert fh is not None  # a regular file always has a file object
                data = fh.read()
                if len(data) != info.size:
                    raise MediaError(path, f"member {info.name!r} is truncated ({len(data)} of {info.size} bytes)")
                yield info.name, data
                if wanted is not None:
                    wanted.discard(info.name)
                    if not wanted:
                        return
    except (tarfile.TarError, EOFError, OSError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MediaError(path, f"not a readable tar ({reason})") from None
    if wanted:
        shown = ", ".join(repr(n) for n in sorted(wanted)[:5])
        raise MediaError(path, f"no member {shown} in this tar")


def read_member(tar_path: str | Path, name: str, *, max_bytes: int | None = None) -> bytes:
    """The bytes of one member (see `read_members`)."""
    for _, data in read_members(tar_path, [name], max_bytes=max_bytes):
        return data
    raise MediaError(tar_path, f"no member {name!r} in this tar")  # unreachable: read_members raises first


def zip_member_problem(info: zipfile.ZipInfo, cap: int) -> str | None:
    """Why a zip member must not be extracted (None when it may): the tar gate's rules applied to a zip entry.
    Folder entries (a name ending in '/') are checked without the trailing slash."""
    name = info.filename[:-1] if info.is_dir() else info.filename
    problem = name_problem(name)
    if problem is not None:
        return problem
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "encrypted member"
    if info.file_size > cap:
        return f"{info.file_size:,} bytes exceeds the member cap of {cap:,} bytes (${MAX_MEMBER_BYTES_ENV})"
    return None


def extract_zip(zip_path: str | Path, dest: str | Path, *, max_bytes: int | None = None) -> int:
    """Extract every member of a zip under `dest` after the whole archive passed the gate (UnsafeMember names the
    first refused member; nothing is written then). Resumable: a member already on disk with its size is kept;
    each member is written to a temporary name and renamed, so an interrupted run leaves no partial file under a
    member's name. Returns the number of members written. MediaError for an unreadable zip."""
    cap = max_member_bytes() if max_bytes is None else max_bytes
    path, root = Path(zip_path), Path(dest)
    written = 0
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            for info in infos:
                problem = zip_member_problem(info, cap)
                if problem is not None:
                    raise UnsafeMember(path, info.filename, problem)
            root.mkdir(parents=True, exist_ok=True)
            for info in infos:
                if info.is_dir():
                    safe_join(root, info.filename[:-1]).mkdir(parents=True, exist_ok=True)
                    continue
                target = safe_join(root, info.filename)
                if target.is_file() and target.stat().st_size == info.file_size:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
                try:
                    with zf.open(info) as src, open(tmp, "wb") as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                    os.replace(tmp, target)
                finally:
                    tmp.unlink(missing_ok=True)
                written += 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MediaError(path, f"not a readable zip ({reason})") from None
    return written
