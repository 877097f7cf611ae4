"""Property-based: result records with arbitrary text and values either are rejected cleanly when built (ValueError,
one line) or are written and read back unchanged; re-writing a key replaces its row."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.records import KEY, STATUSES, Record, append_records, protocol_key, read_results


_text = st.text(max_size=20)
_protocol = st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), _text),
    max_size=4,
)
_records = st.builds(
    dict,
    method=_text,
    dataset=_text,
    clip=_text,
    metric=_text,
    value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    status=st.one_of(st.sampled_from(STATUSES), _text),
    reason=_text,
    higher_is_better=st.booleans(),
    protocol=_protocol,
    reported=st.booleans(),
)


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b) and a is None):
        return (a is None) == (b is None or math.isnan(b))
    return (math.isnan(a) and math.isnan(b)) or a == b


def _key(f: dict) -> tuple:
    return (f["method"], f["dataset"], f["clip"], f["metric"], protocol_key(f["protocol"]))


@settings(max_examples=150, deadline=None)
@given(fields=st.lists(_records, min_size=1, max_size=4, unique_by=_key))
def test_records_round_trip_or_are_rejected_cleanly(fields: list[dict]) -> None:
    records = []
    for f in fields:
        try:
            records.append(Record(**f))
        except ValueError as e:  # a clean rejection that names the problem (records.py quotes the raw status)
            assert str(e).startswith(("status must be one of", "a '", "an 'ok' record needs a value"))
    if not records:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.parquet"
        append_records(path, records)
        df = read_results(path)
        latest = {tuple(str(getattr(r, k)) for k in KEY[:-1]) + (protocol_key(r.protocol),): r for r in records}
        assert len(df) == len(latest)
        rows = {tuple(str(v) for v in row[list(KEY)]): row for _, row in df.iterrows()}
        for key, rec in latest.items():
            row = rows[key]
            for name in ("method", "dataset", "clip", "metric", "status", "reason"):
                assert row[name] == getattr(rec, name)
            assert bool(row["reported"]) == rec.reported and bool(row["higher_is_better"]) == rec.higher_is_better
            assert _same_value(rec.value, None if row["value"] is None else float(row["value"]))
            assert json.loads(row["protocol"]) == json.loads(json.dumps(rec.protocol, sort_keys=True))
        append_records(path, records)  # writing the same keys again replaces, never duplicates
        assert len(read_results(path)) == len(latest)


def test_one_call_with_a_repeated_key_keeps_one_row(tmp_path: Path) -> None:
    first = Record("m", "d", "c", "psnr", 30.0)
    again = Record("m", "d", "c", "psnr", 31.0)
    append_records(tmp_path / "r.parquet", [first, again])
    assert list(read_results(tmp_path / "r.parquet")["value"]) == [31.0]
