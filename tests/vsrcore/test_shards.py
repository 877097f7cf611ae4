from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from vsrcore.errors import MediaError
from vsrcore.hashing import make_id
from vsrcore.shards import MANIFEST, REQUIRED_COLUMNS, ShardReader, ShardWriter


def _row(i: int) -> dict:
    return {
        "id": make_id("src", i),
        "kind": "clip",
        "source_path": "/raw/a.mp4",
        "source_hash": "abc",
        "start_frame": 10 * i,
        "end_frame": 10 * i + 10,
        "width": 64,
        "height": 48,
        "fps": 25.0,
        "frame_count": 10,
        "codec": "h264",
        "scores": {"aesthetic": 5.0 + i},
        "split": "train" if i % 4 else "val",
    }


def _fill(root: Path, items: range, **kw) -> ShardWriter:
    w = ShardWriter(root, max_items=3, **kw)
    for i in items:
        w.add(_row(i), f"media-{i}".encode(), "mp4")
    return w


def test_write_read_round_trip(tmp_path: Path) -> None:
    with _fill(tmp_path, range(7)):
        pass
    reader = ShardReader(tmp_path)
    df = reader.manifest()
    assert len(df) == 7 and set(REQUIRED_COLUMNS) <= set(df.columns)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == ["000000.tar", "000001.tar", "000002.tar"]
    assert json.loads(df["scores"].iloc[1]) == {"aesthetic": 6.0}
    items = {row["id"]: data for row, data in reader.iter_items()}
    assert items[_row(5)["id"]] == b"media-5"
    assert [r["id"] for r, _ in reader.iter_items(split="val")] == [_row(0)["id"], _row(4)["id"]]
    assert reader.read_member(_row(2)["id"]) == b"media-2"
    assert reader.extract(_row(2)["id"], tmp_path / "x").read_bytes() == b"media-2"


def test_webdataset_layout(tmp_path: Path) -> None:
    with _fill(tmp_path, range(2)):
        pass
    with tarfile.open(tmp_path / "shards" / "000000.tar") as tar:
        names = tar.getnames()
        sidecar = json.loads(tar.extractfile(names[1]).read())
    first = _row(0)["id"]
    assert names[:2] == [f"{first}.mp4", f"{first}.json"]
    assert sidecar["member"] == f"{first}.mp4" and sidecar["shard"] == "000000.tar"


def test_rerun_skips_existing_ids(tmp_path: Path) -> None:
    with _fill(tmp_path, range(5)):
        pass
    with _fill(tmp_path, range(8)) as w:
        assert _row(0)["id"] in w
    df = ShardReader(tmp_path).manifest()
    assert len(df) == 8 and df["id"].is_unique


def test_interrupted_run_resumes_without_duplicates(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with _fill(tmp_path, range(5)):  # shard 0 (3 items) committed, items 3-4 in an open tar
            raise RuntimeError("worker died")
    assert len(ShardReader(tmp_path).manifest()) == 3
    assert not list((tmp_path / "shards").glob(".*"))
    with _fill(tmp_path, range(7)):
        pass
    df = ShardReader(tmp_path).manifest()
    assert len(df) == 7 and df["id"].is_unique
    all_members = []
    for tar_path in sorted((tmp_path / "shards").glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            all_members += tar.getnames()
    assert len(all_members) == len(set(all_members)) == 14


def test_orphan_tar_from_a_crash_before_commit_is_dropped(tmp_path: Path) -> None:
    with _fill(tmp_path, range(3)):
        pass
    (tmp_path / "shards" / "000001.tar").write_bytes(b"left by a crash between rename and manifest write")
    with _fill(tmp_path, range(6)):
        pass
    df = ShardReader(tmp_path).manifest()
    assert len(df) == 6 and sorted(df["shard"].unique()) == ["000000.tar", "000001.tar"]
    assert ShardReader(tmp_path).read_member(_row(4)["id"]) == b"media-4"


def test_same_items_give_identical_tar_bytes(tmp_path: Path) -> None:
    for d in ("a", "b"):
        with _fill(tmp_path / d, range(3)):
            pass
    a, b = ((tmp_path / d / "shards" / "000000.tar").read_bytes() for d in ("a", "b"))
    assert a == b


def test_bad_ids_and_missing_columns(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path)
    with pytest.raises(ValueError, match="must not contain"):
        w.add({"id": "a.b"}, b"x", "mp4")
    w.add({"id": "only-id"}, b"x", "png")
    with pytest.raises(ValueError, match="required columns"):
        w.flush()
    with pytest.raises(MediaError, match="not a VSR shard directory"):
        ShardReader(tmp_path / "nothing")
    assert not (tmp_path / MANIFEST).exists()
