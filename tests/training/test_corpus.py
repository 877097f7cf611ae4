"""The corpus sources table, its splits and the cross-split near-duplicate check (no download needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from training.corpus.catalogue import BENCH_EXCLUDED, RULES
from training.corpus.sources import Source, check_disjoint, read_table, split_of_group, write_table
from training.corpus.splits import check_table, near_duplicates
from vsrcore.errors import UserFacingError


def _row(name: str = "a", **kw: object) -> Source:
    base = dict(name=name, kind="image", manager="apt", package="p", version="1", path="x/a.png", licence="CC0",
                content="photo", group=f"p:{name}", split="train", sha256="0" * 63 + "1", bytes=10)  # fmt: skip
    return Source(**{**base, **kw})


def test_committed_table_is_disjoint_and_large_enough() -> None:
    rows = read_table()
    check_table(rows)  # disjoint by group and content; no benchmark sample file
    images = [r for r in rows if r.kind == "image"]
    assert len(images) >= 500
    assert {r.split for r in rows} == {"train", "validation", "test"}
    for split in ("validation", "test"):
        assert any(r.kind == "video" and r.split == split for r in rows)
    excluded_paths = {p for _, p in BENCH_EXCLUDED}
    assert not [r for r in rows if r.path in excluded_paths]


def test_group_split_is_fixed_by_hash_or_rule() -> None:
    fixed = {r.package.name + ":" + Path(g).stem: r.split for r in RULES if r.split for g in r.include}
    for row in read_table():
        assert row.split == fixed.get(row.group, split_of_group(row.group)), row.name
    assert split_of_group("any:group") == split_of_group("any:group")


def test_table_round_trip_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.tsv"
    write_table([_row("a"), _row("b", sha256="f" * 64, split="test")], path)
    assert [r.name for r in read_table(path)] == ["a", "b"]
    text = path.read_text()
    path.write_text(text.replace("f" * 64, "xyz"))
    with pytest.raises(UserFacingError, match=r"s.tsv:3: sha256 'xyz'"):
        read_table(path)
    path.write_text(text.replace("x/a.png", "../a.png", 1))
    with pytest.raises(UserFacingError, match="must stay inside its package"):
        read_table(path)


def test_a_group_in_two_splits_is_refused() -> None:
    with pytest.raises(UserFacingError, match="group p:g is in both 'train' and 'test'"):
        check_disjoint([_row("a", group="p:g"), _row("b", group="p:g", split="test", sha256="2" * 64)])
    with pytest.raises(UserFacingError, match="sha256"):
        check_disjoint([_row("a"), replace(_row("b"), split="test")])


def test_near_duplicates_train_gives_way_and_bench_items_go() -> None:
    df = pd.DataFrame(
        {
            "id": ["t1", "v1", "x1", "t2"],
            "split": ["train", "validation", "test", "train"],
            "dhash": [str(0b1111), str(0b0111), str(0xFFFF << 40), str(0xFFFF << 40 | 1)],
        }
    )
    drop = near_duplicates(df, bench_hashes=[], neardup=2)
    assert set(drop) == {"t1", "t2"}  # t1 ~ v1 (1 bit), t2 ~ x1 (1 bit): the train side goes
    assert "v1" in drop["t1"]
    drop = near_duplicates(df, bench_hashes=[0b0111], neardup=1)
    assert {"t1", "v1"} <= set(drop) and "benchmark" in drop["v1"]
