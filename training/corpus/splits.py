"""Train / validation / test: fixed per source group in the sources table, applied to the curated manifest.

The split of every source is decided before any training and committed (`sources.tsv`, column `split`). After
`flashvsr curate` (whose own dedup already drops items within 4 dHash bits of each other, across all splits), the
manifest's dHash of every item is compared across splits and against the benchmark's `samples` items: an item
within `neardup` bits of an item of another split is moved to split `excluded` (validation and test keep theirs,
train gives way; between validation and test, validation gives way), so no near-duplicate crosses a split.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from training.corpus.sources import SPLITS, Source, check_disjoint
from vsrcore.errors import UserFacingError
from vsrcore.shards import MANIFEST, SHARD_DIR, ShardReader


PRIORITY = {"test": 0, "validation": 1, "train": 2}  # lower wins a near-duplicate pair


def check_table(rows: list[Source]) -> None:
    """Disjoint splits, and none of the benchmark's `samples` files in the table (compared by sha256)."""
    check_disjoint(rows)
    bench = {sha for sha, _ in bench_files()}
    clash = [r.name for r in rows if r.sha256 in bench]
    if clash:
        raise UserFacingError(f"sources table: {clash[0]} is a file of the benchmark's samples set")


def bench_files() -> list[tuple[str, Path]]:
    """(sha256, path) of the benchmark's `samples` media that are present here (vsrcore.samples.HELDOUT)."""
    from vsrcore.hashing import file_sha256
    from vsrcore.samples import list_samples

    out = []
    for s in list_samples(split="heldout"):
        if s.available():
            out.append((file_sha256(s.path()), s.path()))
    return out


def stage_bench(folder: Path, cache: Path) -> Path:
    """Link the benchmark's samples into `folder` (for the near-duplicate check against the corpus)."""
    folder.mkdir(parents=True, exist_ok=True)
    for _, path in bench_files():
        dst = folder / path.name
        if not dst.exists():
            shutil.copyfile(path, dst)
    return folder


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes."""
    return bin(a ^ b).count("1")


def near_duplicates(df: Any, bench_hashes: list[int], neardup: int) -> dict[str, str]:
    """id -> reason for each item to exclude: within `neardup` dHash bits of an item of another split (the
    lower-priority side goes) or of a benchmark sample."""
    rows = [(r["id"], r["split"], int(r["dhash"])) for r in df.to_dict("records")]
    drop: dict[str, str] = {}
    for h in bench_hashes:
        for item, _, d in rows:
            if hamming(h, d) <= neardup:
                drop[item] = f"within {hamming(h, d)} dHash bits of a benchmark sample"
    for i, (a, sa, ha) in enumerate(rows):
        for b, sb, hb in rows[i + 1 :]:
            if sa == sb or a in drop or b in drop:
                continue
            dist = hamming(ha, hb)
            if dist <= neardup:
                loser, winner = (a, b) if PRIORITY[sa] > PRIORITY[sb] else (b, a)
                drop[loser] = f"within {dist} dHash bits of {winner} ({sb if loser == a else sa})"
    return drop


def build_split_shards(rows: list[Source], curated: Path, out: Path, bench: Path, *, neardup: int = 8) -> str:
    """Write `out` (a VSR shard directory): curated's tars (hard links) and its manifest with the table's split,
    licence and origin per row and near-duplicates excluded. Returns a one-line summary of the counts."""

    from vsrcore.atomic import atomic_path

    by_file = {r.filename: r for r in rows}
    df = ShardReader(curated).manifest().copy()
    names = df["source_path"].map(lambda p: Path(p).name)
    unknown = sorted(set(names) - set(by_file))
    if unknown:
        raise UserFacingError(f"{curated}/{MANIFEST}: source {unknown[0]} is not in the sources table")
    src = [by_file[n] for n in names]
    df["split"] = [r.split for r in src]
    df["source_name"] = [r.name for r in src]
    df["group"] = [r.group for r in src]
    df["licence"] = [r.licence for r in src]
    df["origin"] = [f"{r.manager} {r.package} {r.version}: {r.path} (sha256 {r.sha256})" for r in src]
    df["content"] = [r.content for r in src]
    bench_hashes: list[int] = []
    if (bench / MANIFEST).exists():
        bench_hashes = [int(h) for h in ShardReader(bench).manifest()["dhash"]]
    drop = near_duplicates(df, bench_hashes, neardup)
    df["excluded_reason"] = [drop.get(i, "") for i in df["id"]]
    df.loc[df["id"].isin(drop), "split"] = "excluded"
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    for tar in sorted((curated / SHARD_DIR).glob("*.tar")):
        dst = out / SHARD_DIR / tar.name
        dst.unlink(missing_ok=True)
        try:
            os.link(tar, dst)
        except OSError:
            shutil.copyfile(tar, dst)
    with atomic_path(out / MANIFEST) as tmp:
        df.to_parquet(tmp, index=False)
    counts = Counter(zip(df["split"], df["kind"], strict=True))
    sources = df.groupby("split")["source_name"].nunique().to_dict()
    parts = [f"{s}: {counts[(s, 'clip')]} clips, {counts[(s, 'image')]} images, {sources.get(s, 0)} sources"
             for s in (*SPLITS, "excluded")]  # fmt: skip
    return "; ".join(parts)


def export_eval(shards: Path, out: Path) -> None:
    """validation and test items as files under out/<split>/gt/ (a `flashvsr bench --dataset` folder each)."""
    reader = ShardReader(shards)
    df = reader.manifest()
    for split in ("validation", "test"):
        gt = out / split / "gt"
        gt.mkdir(parents=True, exist_ok=True)
        for item in df[df["split"] == split]["id"]:
            if not any(gt.glob(f"{item}.*")):
                reader.extract(item, gt)


def write_lists(shards: Path, out: Path) -> None:
    """out/<split>.sha256: `sha256  member` of every curated item of each split (what training reads)."""
    import hashlib

    reader = ShardReader(shards)
    out.mkdir(parents=True, exist_ok=True)
    for split in (*SPLITS, "excluded"):
        lines = [
            f"{hashlib.sha256(data).hexdigest()}  {row['member']}  {row['source_name']}"
            for row, data in reader.iter_items(split)
        ]
        (out / f"{split}.sha256").write_text("".join(sorted(f"{line}\n" for line in lines)))
