"""Result records: one row per (method, dataset, clip, metric, protocol), kept in a results folder.

A record says what was measured and how: the value (None unless status is 'ok'), the status
('ok' | 'not-applicable' | 'missing-weights' | 'missing-dependency' | 'error') and its reason, the metric's
metadata (direction, scale, implementation), the protocol (scale, colour space, crop, frames, LQ source and
seed) and the provenance (git commit, package versions, weights checksum, device, date). Published numbers
transcribed from papers use the same schema with `reported=True` and a citation.

On disk (`RecordStore`), a results folder holds `results.parquet` (the table as of the last compaction; the
single file older versions wrote) and `records/part-NNNNNN.parquet`, one part per flush since, each written
atomically: appending costs O(rows appended). Readers take the latest row per key (`KEY`) in the order
results.parquet, part 1, part 2, ..., so a re-computed cell replaces the old one and nothing shows twice;
`compact()` folds the parts into results.parquet (the runner does it at the end of a run).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from vsrcore.atomic import atomic_path
from vsrcore.errors import UserFacingError
from vsrcore.hashing import file_sha256
from vsrcore.version import git_commit


STATUSES = ("ok", "not-applicable", "missing-weights", "missing-dependency", "error")
# a resumed run keeps these; every other status (missing weights or dependency, error) is tried again
FINAL_STATUSES = ("ok", "not-applicable")
KEY = ("method", "dataset", "clip", "metric", "protocol_key")
RESULTS_FILE = "results.parquet"
PARTS_DIR = "records"
# column -> arrow type of a stored row (`Record.row()`); parts share it so they concatenate cleanly
COLUMNS: dict[str, str] = {
    "method": "string", "dataset": "string", "clip": "string", "metric": "string", "value": "float64",
    "status": "string", "reason": "string", "higher_is_better": "bool", "metric_label": "string",
    "metric_scale": "string", "metric_impl": "string", "per": "string", "protocol": "string",
    "provenance": "string", "reported": "bool", "citation": "string", "protocol_key": "string",
}  # fmt: skip
VERSIONED_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "opencv-python-headless",
    "pyiqa",
    "lpips",
    "imageio-ffmpeg",
    "av",
)


def protocol_key(protocol: dict[str, Any]) -> str:
    """A short stable hash of a protocol dict (part of the record key)."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass
class Record:
    """One measured (or reported) number. `protocol` and `provenance` are dicts, stored as JSON text."""

    method: str
    dataset: str
    clip: str
    metric: str
    value: float | None
    status: str = "ok"
    reason: str = ""
    higher_is_better: bool = True
    metric_label: str = ""
    metric_scale: str = ""
    metric_impl: str = ""
    per: str = "frame"
    protocol: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    reported: bool = False
    citation: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got '{self.status}'")
        if self.status != "ok" and self.value is not None:
            raise ValueError(f"a '{self.status}' record carries no value (got {self.value})")
        if self.status == "ok" and self.value is None:
            raise ValueError("an 'ok' record needs a value")

    def row(self) -> dict[str, Any]:
        """Flat row for the table (protocol/provenance as JSON text, plus the protocol key)."""
        d = asdict(self)
        d["protocol_key"] = protocol_key(self.protocol)
        d["protocol"] = json.dumps(self.protocol, sort_keys=True, default=str)
        d["provenance"] = json.dumps(self.provenance, sort_keys=True, default=str)
        d["value"] = None if self.value is None else float(self.value)
        return d


def record_from_outcome(
    outcome: Any, *, method: str, dataset: str, clip: str, protocol: dict[str, Any], provenance: dict[str, Any]
) -> Record:
    """A Record from a `benchmark.metrics.evaluate.MetricOutcome`."""
    meta = outcome.meta
    return Record(
        method=method,
        dataset=dataset,
        clip=clip,
        metric=outcome.metric,
        value=outcome.value,
        status=outcome.status,
        reason=outcome.reason,
        higher_is_better=bool(meta.get("higher_is_better", True)),
        metric_label=str(meta.get("label", outcome.metric)),
        metric_scale=str(meta.get("scale", "")),
        metric_impl=str(meta.get("impl", "")),
        per=str(meta.get("per", "frame")),
        protocol=protocol,
        provenance=provenance,
    )


def package_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of `packages` (absent ones omitted)."""
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def weights_sha256(weights: dict[str, str | Path] | None) -> dict[str, str]:
    """file name -> sha256 of each weights file (the `weights_sha256` of a provenance dict)."""
    return {str(Path(p).name): file_sha256(p) for p in (weights or {}).values()}


def weights_key(sha256s: dict[str, str]) -> str:
    """A short stable hash of a `weights_sha256` dict ('' for a method without weights files): a resumed run keeps
    a record only when the method's weights still have the key it was computed with."""
    if not sha256s:
        return ""
    return hashlib.sha256(json.dumps(sha256s, sort_keys=True).encode()).hexdigest()[:12]


def provenance(
    *,
    device: str = "cpu",
    sha256s: dict[str, str] | None = None,
    lq_seed: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance dict: git commit, package versions, weights checksums (file -> sha256, see `weights_sha256`),
    device, LQ seed, date."""
    return {
        "git_commit": git_commit() or "unknown",
        "versions": package_versions(),
        "weights_sha256": dict(sha256s or {}),
        "device": device,
        "lq_seed": lq_seed,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }


class StoreBusy(UserFacingError):
    """Another process is writing to the same results folder."""


class RecordStore:
    """The records of one results folder: `results.parquet` (compacted) + `records/part-NNNNNN.parquet` (appended).

    One writer at a time (`lock()`); any number of readers. `read()` is the deduplicated table.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.base = self.folder / RESULTS_FILE
        self.parts_dir = self.folder / PARTS_DIR
        self._next: int | None = None

    def parts(self) -> list[Path]:
        """Part files in write order."""
        return part_files(self.parts_dir)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for writing (StoreBusy when another process holds it); stale temporary parts left by a
        killed writer are removed. The lock dies with its process, so a kill -9 never leaves the folder locked."""
        import fcntl

        self.parts_dir.mkdir(parents=True, exist_ok=True)
        with open(self.parts_dir / ".lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                raise StoreBusy(f"{self.folder}: another run is writing here ({f.read().strip()})") from None
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}")
            f.flush()
            for stale in self.parts_dir.glob(".part-*.tmp.parquet"):
                stale.unlink(missing_ok=True)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def append(self, records: Iterable[Record]) -> int:
        """Write `records` as one new part (atomic); returns the rows written."""
        rows = [r.row() for r in records]
        if not rows:
            return 0
        if self._next is None:
            parts = self.parts()
            self._next = _part_number(parts[-1]) + 1 if parts else 1
        path = self.parts_dir / f"part-{self._next:06d}.parquet"
        _write_rows(path, rows)
        self._next += 1
        return len(rows)

    def read(self) -> Any:
        """The table (a pandas DataFrame): the latest row per key, sorted by key."""
        return self._read(self.parts())

    def _read(self, parts: list[Path]) -> Any:
        import pandas as pd

        frames = [pd.read_parquet(p) for p in ([self.base] if self.base.is_file() else []) + parts]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=_pandas_dtype(t)) for c, t in COLUMNS.items()})
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        df = df.drop_duplicates(list(KEY), keep="last")
        return df.sort_values(list(KEY), kind="stable").reset_index(drop=True)

    def compact(self) -> int:
        """Fold the parts into `results.parquet` (atomic), then delete them; returns the rows in the table."""
        parts = self.parts()
        if not parts and self.base.is_file():
            return len(self.read())
        df = self._read(parts)
        _write_rows(self.base, df.to_dict("records"))
        for p in parts:  # a kill here leaves parts whose rows results.parquet already holds: reads stay the same
            p.unlink(missing_ok=True)
        return len(df)

    def statuses(self) -> dict[tuple[str, ...], str]:
        """key (method, dataset, clip, metric, protocol_key) -> status of its latest row."""
        df = self.read()
        return {tuple(k): s for k, s in zip(df[list(KEY)].astype(str).to_numpy(), df["status"], strict=True)}

    def states(self) -> dict[tuple[str, ...], tuple[str, str]]:
        """key -> (status, weights key) of its latest row: the weights key of the row's provenance (`weights_key`)."""
        df = self.read()
        return {
            tuple(k): (s, weights_key(_provenance_weights(p)))
            for k, s, p in zip(df[list(KEY)].astype(str).to_numpy(), df["status"], df["provenance"], strict=True)
        }


def _provenance_weights(text: Any) -> dict[str, str]:
    try:
        found = json.loads(text).get("weights_sha256") if isinstance(text, str) else None
    except (ValueError, AttributeError):
        return {}
    return found if isinstance(found, dict) else {}


def part_files(folder: Path) -> list[Path]:
    """`part-N.parquet` files of a parts folder, in write order (temporary files ignored)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("part-*.parquet"), key=_part_number)


def _part_number(p: Path) -> int:
    return int(p.stem.split("-", 1)[1])


def _pandas_dtype(arrow_type: str) -> str:
    return {"string": "object", "float64": "float64", "bool": "bool"}[arrow_type]


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.type_for_alias(t)) for c, t in COLUMNS.items()])
    clean = [{c: (None if _isnan(r.get(c)) else r.get(c)) for c in COLUMNS} for r in rows]
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(clean, schema=schema), tmp)


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and x != x


def read_results(path: str | Path) -> Any:
    """The results table as a pandas DataFrame (latest row per key). `path` is a results folder or a single parquet
    file (the layout older versions wrote); an absent path gives an empty table with the schema's columns."""
    p = Path(path)
    if p.is_file():
        import pandas as pd

        return pd.read_parquet(p)
    return RecordStore(p).read()


def append_records(folder: str | Path, records: Iterable[Record]) -> int:
    """Append records to the results folder `folder` as one new part; returns the rows written."""
    return RecordStore(folder).append(records)


def done_keys(folder: str | Path, statuses: tuple[str, ...] = FINAL_STATUSES) -> set[tuple[str, ...]]:
    """Keys (method, dataset, clip, metric, protocol_key) whose latest row has one of `statuses` (what a resumed run
    keeps: scored or not applicable; missing weights/dependencies and errors are tried again)."""
    return {k for k, s in RecordStore(folder).statuses().items() if s in statuses}
