"""Result records: one row per (method, dataset, clip, metric, protocol), appended to a parquet file atomically.

A record says what was measured and how: the value (None unless status is 'ok'), the status
('ok' | 'missing-weights' | 'missing-dependency' | 'error') and its reason, the metric's metadata
(direction, scale, implementation), the protocol (scale, colour space, crop, frames, LQ source and seed)
and the provenance (git commit, package versions, weights checksum, device, date). Published numbers
transcribed from papers use the same schema with `reported=True` and a citation.

Writes replace rows with the same key and rename a complete temporary file into place, so a killed run
never leaves a half-written table and a re-run skips finished work (`done_keys`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from vsrcore.atomic import atomic_path
from vsrcore.hashing import file_sha256


STATUSES = ("ok", "missing-weights", "missing-dependency", "error")
KEY = ("method", "dataset", "clip", "metric", "protocol_key")
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


@cache
def git_commit(repo: str | None = None) -> str:
    """HEAD of the project's git checkout ('+dirty' when it has uncommitted changes), or 'unknown'."""
    cwd = repo or str(Path(__file__).resolve().parents[1])
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=cwd, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of `packages` (absent ones omitted)."""
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(
    *,
    device: str = "cpu",
    weights: dict[str, str | Path] | None = None,
    lq_seed: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance dict: git commit, package versions, weights checksums (file -> sha256), device, LQ seed, date."""
    return {
        "git_commit": git_commit(),
        "versions": package_versions(),
        "weights_sha256": {str(Path(p).name): file_sha256(p) for p in (weights or {}).values()},
        "device": device,
        "lq_seed": lq_seed,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }


def read_results(path: str | Path) -> Any:
    """The results table as a pandas DataFrame (empty, with the schema's columns, when the file is absent)."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        return pd.DataFrame(columns=[*Record.__dataclass_fields__, "protocol_key"])
    return pd.read_parquet(p)


def append_records(path: str | Path, records: Iterable[Record]) -> int:
    """Add records to the parquet at `path`, replacing rows with the same key; atomic. Returns rows written."""
    import pandas as pd

    new = pd.DataFrame([r.row() for r in records])
    if new.empty:
        return 0
    old = read_results(path)
    if not old.empty:
        keys = set(map(tuple, new[list(KEY)].astype(str).to_numpy()))
        keep = [tuple(k) not in keys for k in old[list(KEY)].astype(str).to_numpy()]
        new = pd.concat([old[keep], new], ignore_index=True)
    new = new.sort_values(list(KEY), kind="stable").reset_index(drop=True)
    with atomic_path(path) as tmp:
        new.to_parquet(tmp, index=False)
    return len(new)


def done_keys(path: str | Path, statuses: tuple[str, ...] = ("ok", "missing-weights", "missing-dependency")) -> set:
    """Keys (method, dataset, clip, metric, protocol_key) already recorded with one of `statuses` (resume)."""
    df = read_results(path)
    if df.empty:
        return set()
    df = df[df["status"].isin(statuses)]
    return {tuple(k) for k in df[list(KEY)].astype(str).to_numpy()}
