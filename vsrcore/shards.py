"""VSR shards: `manifest.parquet` (one row per clip or image) + `shards/NNNNNN.tar` in WebDataset layout.

Each tar holds, per item, `<id>.<ext>` (mp4/mkv/png/jpg, the ground-truth media, never lossily
re-encoded) followed by `<id>.json` (the item's manifest row). A tar is written under a temporary name
and renamed when full; only then are its rows added to the manifest (itself replaced atomically). A
writer opened on an existing directory resumes: ids already in the manifest are skipped, and a tar left
half-written by an interrupted run is discarded and its items redone, so nothing is duplicated or lost.
"""

from __future__ import annotations

import io
import json
import numbers
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vsrcore.atomic import atomic_path
from vsrcore.untrusted import UnsafeMember, UnsafeName, name_problem, read_members, safe_join, safe_name


MANIFEST = "manifest.parquet"
SHARD_DIR = "shards"
# Columns every manifest has (others, such as scores and decisions, are free to add).
REQUIRED_COLUMNS = (
    "id",
    "kind",
    "source_path",
    "source_hash",
    "start_frame",
    "end_frame",
    "width",
    "height",
    "fps",
    "frame_count",
    "codec",
    "split",
    "shard",
    "member",
)
MEDIA_EXTS = ("mp4", "mkv", "mov", "avi", "png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff")


def _json_cell(value: Any) -> Any:
    """Dicts and lists are stored as JSON text so the parquet schema stays flat and stable."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list | tuple) else value


def _cell_kind(value: Any) -> str | None:
    """The manifest column kind of a stored cell: 'bool', 'number', 'text', None (missing) or the type's name."""
    if value is None:
        return None
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "bool"
    if isinstance(value, numbers.Integral):
        if not -(2**63) <= int(value) < 2**63:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        return "number"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) for lone surrogates
        return "text"
    return type(value).__name__


def _column_kinds(df: Any) -> dict[str, str]:
    """Kind of each column of an existing manifest (from its first non-missing value)."""
    kinds = {}
    for column in df.columns:
        values = df[column].dropna()
        kind = _cell_kind(values.iloc[0]) if len(values) else None
        if kind is not None:
            kinds[str(column)] = kind
    return kinds


class ShardWriter:
    """Appends items to a shard directory; safe to re-run on the same directory (see module doc).

    Args:
        root: the shard directory (created if missing).
        max_items: items per tar before it is closed.
        max_bytes: approximate tar size limit before it is closed.
    """

    def __init__(self, root: str | Path, *, max_items: int = 256, max_bytes: int = 1 << 30) -> None:
        import pandas as pd

        self.root = Path(root)
        (self.root / SHARD_DIR).mkdir(parents=True, exist_ok=True)
        self.max_items = max_items
        self.max_bytes = max_bytes
        for stale in (self.root / SHARD_DIR).glob(".*.tmp.tar"):
            stale.unlink()  # an interrupted run's unfinished tar; its items are not in the manifest
        path = self.root / MANIFEST
        self._done = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=list(REQUIRED_COLUMNS))
        self._ids = set(self._done["id"])
        self._kinds = _column_kinds(self._done)  # one kind per column: parquet cannot mix them
        referenced = set(self._done["shard"])
        for orphan in (self.root / SHARD_DIR).glob("[0-9]*.tar"):
            if orphan.name not in referenced:
                orphan.unlink()  # renamed but never committed to the manifest: redo its items
        existing = [int(p.stem) for p in (self.root / SHARD_DIR).glob("[0-9]*.tar")]
        self._next_shard = max(existing, default=-1) + 1
        self._tar: tarfile.TarFile | None = None
        self._tar_ctx: Any = None
        self._pending: list[dict[str, Any]] = []
        self._bytes = 0

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._ids or any(r["id"] == item_id for r in self._pending)

    @property
    def shard_name(self) -> str:
        return f"{self._next_shard:06d}.tar"

    def add(self, row: dict[str, Any], media: bytes | str | Path, ext: str) -> bool:
        """Add one item: `row` (manifest fields, `id` required) and its media bytes or file.

        Returns False (and writes nothing) when the id is already present.
        """
        item_id = str(row["id"])
        safe_name(item_id, single=True, what="item id")
        if "." in item_id:
            raise UnsafeName(f"item id {item_id!r} refused: it must not contain '.' (WebDataset key)")
        ext = ext.lower().lstrip(".")
        if ext not in MEDIA_EXTS:
            raise ValueError(f"unsupported media extension '{ext}' (known: {', '.join(MEDIA_EXTS)})")
        if item_id in self:
            return False
        data = media if isinstance(media, bytes) else Path(media).read_bytes()
        if self._tar is None:
            self._tar_ctx = atomic_path(self.root / SHARD_DIR / self.shard_name)
            self._tar = tarfile.open(self._tar_ctx.__enter__(), "w")
        full = {"split": "train", **row, "id": item_id, "shard": self.shard_name, "member": f"{item_id}.{ext}"}
        kinds, sidecar = self._check_row(full)
        self._kinds.update(kinds)
        for name, payload in ((f"{item_id}.{ext}", data), (f"{item_id}.json", sidecar)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 0  # deterministic tar bytes
            self._tar.addfile(info, io.BytesIO(payload))
        self._pending.append(full)
        self._bytes += len(data) + len(sidecar)
        if len(self._pending) >= self.max_items or self._bytes >= self.max_bytes:
            self.flush()
        return True

    def _check_row(self, full: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """(column kinds, JSON sidecar) of a row, or ValueError (one line) when a manifest could not store it."""
        item = full["id"]
        kinds = {}
        for key, value in full.items():
            if not isinstance(key, str):
                raise ValueError(f"item {item!r}: field name {key!r} is not text")
            try:
                kind = _cell_kind(_json_cell(value))
            except (TypeError, ValueError) as e:
                raise ValueError(f"item {item!r}: field {key!r} cannot be stored ({e})") from None
            if kind not in (None, "bool", "number", "text"):
                raise ValueError(f"item {item!r}: field {key!r} holds a {kind}, which a manifest cannot store")
            if kind is not None and self._kinds.get(key, kind) != kind:
                raise ValueError(
                    f"item {item!r}: field {key!r} is {kind} but earlier rows hold {self._kinds[key]} "
                    "(one type per manifest column)"
                )
            if kind is not None:
                kinds[key] = kind
        try:
            sidecar = json.dumps(full, sort_keys=True, default=str).encode()
        except (TypeError, ValueError) as e:
            raise ValueError(f"item {item!r}: row cannot be written as JSON ({e})") from None
        return kinds, sidecar

    def flush(self) -> None:
        """Close the current tar (if any), move it into place and commit its rows to the manifest."""
        if self._tar is None:
            return
        import pandas as pd

        self._tar.close()
        self._tar_ctx.__exit__(None, None, None)
        self._tar = self._tar_ctx = None
        new = pd.DataFrame([{k: _json_cell(v) for k, v in r.items()} for r in self._pending])
        self._done = new if self._done.empty else pd.concat([self._done, new], ignore_index=True)
        missing = [c for c in REQUIRED_COLUMNS if c not in self._done.columns]
        if missing:
            raise ValueError(f"manifest rows lack required columns: {', '.join(missing)}")
        with atomic_path(self.root / MANIFEST) as tmp:
            self._done.to_parquet(tmp, index=False)
        self._ids.update(r["id"] for r in self._pending)
        self._pending, self._bytes = [], 0
        self._next_shard += 1

    def close(self) -> None:
        """Flush the last tar."""
        self.flush()

    def abort(self) -> None:
        """Drop the unfinished tar (its items will be redone by the next run)."""
        if self._tar is not None:
            self._tar.close()
            self._tar_ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
        self._tar = self._tar_ctx = None
        self._pending, self._bytes = [], 0

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None or exc_type is KeyboardInterrupt:
            self.close()  # keep every complete item on Ctrl-C
        else:
            self.abort()


class ShardReader:
    """Reads a shard directory: the manifest with pandas, members streamed straight out of the tars.

    Every manifest row's `id`, `shard` and `member` pass the safe-name gate (`vsrcore.untrusted`) before a path is
    built from them, and every member is read through `read_members` (regular files only, size-capped); a refused
    row or member raises a one-line UnsafeMember naming the shard file and the member.
    """

    def __init__(self, root: str | Path) -> None:
        from vsrcore.errors import MediaError

        self.root = Path(root)
        if not (self.root / MANIFEST).exists():
            raise MediaError(self.root, f"not a VSR shard directory (no {MANIFEST})")
        self._manifest: Any = None

    def manifest(self) -> Any:
        """The manifest as a pandas DataFrame (JSON columns left as text; names not yet checked: see `check_row`)."""
        import pandas as pd

        if self._manifest is None:
            from vsrcore.errors import MediaError

            try:
                df = pd.read_parquet(self.root / MANIFEST)
            except Exception as e:  # pyarrow raises several types for a damaged file
                problem = f"not a readable parquet manifest ({type(e).__name__})"
                raise MediaError(self.root / MANIFEST, problem) from None
            missing = [c for c in ("id", "shard", "member") if c not in df.columns]
            if missing:
                raise MediaError(self.root / MANIFEST, f"manifest lacks columns: {', '.join(missing)}")
            self._manifest = df
        return self._manifest

    def check_row(self, row: Any) -> tuple[Path, str]:
        """(tar path, member name) of a manifest row, after its id, shard and member pass the gate; else
        UnsafeMember naming the shard file and the member."""
        shard, member, item_id = row["shard"], row["member"], row["id"]
        unsafe_shard = name_problem(shard, single=True) is not None
        where = self.root / SHARD_DIR / ("<shard named in the manifest>" if unsafe_shard else str(shard))
        for value, what in ((shard, "shard"), (member, "member"), (item_id, "id")):
            problem = name_problem(value, single=True)
            if problem is not None:
                reason = f"in the manifest: {problem}" if what == "member" else f"manifest {what} {value!r}: {problem}"
                raise UnsafeMember(where, str(member), reason)
        return where, member

    def iter_items(self, split: str | None = None) -> Iterator[tuple[dict[str, Any], bytes]]:
        """Yield (row, media bytes) for every manifest item (optionally one split), shard by shard."""
        df = self.manifest()
        if split is not None:
            df = df[df["split"] == split]
        by_tar: dict[Path, dict[str, dict[str, Any]]] = {}
        for row in df.to_dict("records"):
            tar_path, member = self.check_row(row)
            by_tar.setdefault(tar_path, {})[member] = row
        for tar_path in sorted(by_tar):
            wanted = by_tar[tar_path]
            for name, data in read_members(tar_path, list(wanted)):
                yield wanted[name], data

    def _row(self, item_id: str) -> Any:
        df = self.manifest()
        rows = df[df["id"] == item_id]
        if rows.empty:
            raise KeyError(f"{self.root}: no item '{item_id}'")
        return rows.iloc[0]

    def locate(self, item_id: str) -> tuple[Path, str]:
        """(tar path, member name) of one item, checked by `check_row`; KeyError when the id is unknown."""
        return self.check_row(self._row(item_id))

    def read_member(self, item_id: str) -> bytes:
        """Media bytes of one item."""
        tar_path, member = self.locate(item_id)
        for _, data in read_members(tar_path, [member]):
            return data
        raise AssertionError("read_members yields every requested member or raises")

    def extract(self, item_id: str, folder: str | Path) -> Path:
        """Write one item's media into `folder` as `<member name>` and return the path (never outside `folder`)."""
        tar_path, member = self.locate(item_id)
        target = safe_join(folder, member, what=f"{tar_path}: member")
        data = self.read_member(item_id)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return target
