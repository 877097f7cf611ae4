"""Property-based: shard manifest rows with arbitrary ids and values round-trip through ShardWriter / ShardReader
or are rejected cleanly (a one-line UserFacingError or ValueError), never another exception; a manifest edited by
hand with arbitrary names is refused by the gate or read back, and never written outside."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vsrcore.errors import UserFacingError
from vsrcore.shards import MANIFEST, ShardReader, ShardWriter
from vsrcore.untrusted import name_problem


_BASE = {
    "kind": "clip",
    "source_path": "x.mp4",
    "source_hash": "h",
    "start_frame": 0,
    "end_frame": 1,
    "width": 8,
    "height": 8,
    "fps": 25.0,
    "frame_count": 1,
    "codec": "h264",
}
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True), st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_ids = st.one_of(st.text(max_size=16), st.sampled_from(["a", "../x", "/abs", "a/b", "a.b", "", "ok_id-1"]))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_ids, st.dictionaries(st.sampled_from(["score", "note", "extra"]), _values, max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_writer_rows_round_trip_or_are_rejected_cleanly(rows: list[tuple[str, dict[str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shard"
        added: dict[str, dict[str, Any]] = {}
        try:
            with ShardWriter(root, max_items=2) as w:
                for i, (item_id, extra) in enumerate(rows):
                    try:
                        if w.add({**_BASE, **extra, "id": item_id}, f"m{i}".encode(), "mp4"):
                            added[item_id] = {**extra, "data": f"m{i}".encode()}
                    except (UserFacingError, ValueError) as e:
                        assert "\n" not in str(e)
        except (UserFacingError, ValueError) as e:  # a flush that cannot store the rows says so in one line
            assert "\n" not in str(e)
            return
        if not added:
            return
        reader = ShardReader(root)
        df = reader.manifest().set_index("id")
        for item_id, expect in added.items():
            assert reader.read_member(item_id) == expect["data"]
            for key, value in expect.items():
                if key == "data":
                    continue
                cell = df.loc[item_id, key]
                if isinstance(value, dict | list | tuple):
                    assert json.loads(cell) == json.loads(json.dumps(value, sort_keys=True))
                elif value is None:
                    assert cell is None or (isinstance(cell, float) and math.isnan(cell))
                else:
                    assert _same(cell, value) or str(cell) == str(value), (key, value, cell)


@settings(max_examples=150, deadline=None)
@given(item_id=_ids, shard=_ids, member=_ids)
def test_hand_edited_manifest_names_are_gated(item_id: str, shard: str, member: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "a" / "shard"
        (root / "shards").mkdir(parents=True)
        pd.DataFrame([{"id": item_id, "shard": shard, "member": member, "split": "train"}]).to_parquet(
            root / MANIFEST, index=False
        )
        before = sorted(Path(tmp).rglob("*"))
        reader = ShardReader(root)
        safe = all(name_problem(v, single=True) is None for v in (item_id, shard, member))
        try:
            reader.read_member(item_id)
            raise AssertionError("the shard tar does not exist: reading cannot succeed")
        except UserFacingError as e:
            assert "\n" not in str(e)
            assert ("refused" in str(e)) != safe  # unsafe names: refused by the gate; safe: the tar is missing
        try:
            reader.extract(item_id, Path(tmp) / "a" / "out")
        except UserFacingError:
            pass
        assert sorted(Path(tmp).rglob("*")) == before
