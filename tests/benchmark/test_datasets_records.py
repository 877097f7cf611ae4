"""Datasets (samples, folder layouts, synthetic variants) and result records (schema, atomic append, resume)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.datasets import DATASETS, DatasetError, get_dataset, select_frames, synthetic
from benchmark.records import (
    Record,
    RecordStore,
    StoreBusy,
    append_records,
    done_keys,
    protocol_key,
    provenance,
    read_results,
)
from vsrcore.video.write import write_image_sequence


def test_registered_datasets_carry_protocols() -> None:
    expected = {"samples", "reds4", "reds30", "udm10", "spmcs", "vid4", "youhq40", "videolq", "realvsr", "mvsr4x"}
    assert expected <= set(DATASETS.names())
    assert DATASETS.spec("realvsr").meta["scale"] == 1 and DATASETS.spec("mvsr4x").meta["scale"] == 1
    assert DATASETS.spec("videolq").meta["has_gt"] is False
    assert DATASETS.spec("reds4").meta["space"] == "rgb" and DATASETS.spec("vid4").meta["space"] == "y"


def test_samples_dataset_is_small_and_paired() -> None:
    ds = get_dataset("samples")
    clips = list(ds.clips(lq="bi"))
    assert len(clips) >= 3
    for c in clips:
        assert c.gt is not None and c.gt.dtype == np.uint8
        t, h, w, _ = c.gt.shape
        assert t <= 16 and h % 4 == 0 and w % 4 == 0 and h * w <= 272 * 480
        assert c.lq.shape == (t, h // 4, w // 4, 3)
        assert c.lq_seed == 0 and c.record["preset"] == "bicubic"
    # fixed seed: the same LQ twice
    again = next(iter(ds.clips(lq="bi")))
    np.testing.assert_array_equal(again.lq, clips[0].lq)
    with pytest.raises(DatasetError, match="one of"):
        next(iter(ds.clips(lq="jpeg")))
    # the reference is the source HR for every LQ variant (RealBasicVSR's own GT is USM-sharpened), and the set
    # is the held-out split that training never reads
    real = next(iter(ds.clips(lq="realbasicvsr")))
    np.testing.assert_array_equal(real.gt, clips[0].gt)
    from vsrcore.samples import HELDOUT

    assert {c.name for c in clips} <= HELDOUT


def test_folder_dataset_names_exactly_what_is_missing(tmp_path: Path) -> None:
    ds = get_dataset("vid4")
    with pytest.raises(DatasetError, match="needs --data-root"):
        ds.verify(None)
    with pytest.raises(DatasetError, match=r"missing .*Vid4/BIx4 \(and 1 more\)"):
        ds.verify(tmp_path)
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    for clip in ("calendar", "city", "foliage", "walk"):
        write_image_sequence(tmp_path / "Vid4/GT" / clip, np.zeros((3, 64, 64, 3), np.uint8))
        if clip != "walk":
            write_image_sequence(tmp_path / "Vid4/BIx4" / clip, frames)
    with pytest.raises(DatasetError) as e:
        ds.verify(tmp_path)
    msg = str(e.value)
    assert "Vid4/BIx4/walk" in msg and "\n" not in msg and "(and" not in msg
    write_image_sequence(tmp_path / "Vid4/BIx4/walk", frames)
    clips = list(ds.clips(tmp_path))
    assert [c.name for c in clips] == ["calendar", "city", "foliage", "walk"]
    assert clips[0].gt.shape == (3, 64, 64, 3)


def test_synthetic_variant_keeps_seed_and_record(tmp_path: Path) -> None:
    for clip in ("calendar", "city", "foliage", "walk"):
        write_image_sequence(tmp_path / "Vid4/GT" / clip, np.full((2, 66, 70, 3), 128, np.uint8))
        write_image_sequence(tmp_path / "Vid4/BIx4" / clip, np.zeros((2, 16, 17, 3), np.uint8))
    ds = synthetic(get_dataset("vid4"), "bd", seed=3)
    assert ds.protocol.lq_source == "ours:bd:seed=3"
    c = next(iter(ds.clips(tmp_path)))
    assert c.lq_seed == 3 and c.record["seed"] == 3 and c.record["clip_id"] == "vid4/calendar"
    assert c.gt.shape[1:3] == (64, 68) and c.lq.shape[1:3] == (16, 17)


def test_select_frames() -> None:
    x = np.arange(7)[:, None, None, None]
    assert select_frames(x, "center").ravel().tolist() == [3]
    assert select_frames(x, "first:2").ravel().tolist() == [0, 1]
    assert len(select_frames(x, "all")) == 7


def _rec(clip: str, metric: str = "psnr", value: float | None = 30.0, status: str = "ok", **kw) -> Record:
    return Record("bicubic", "samples", clip, metric, value, status, protocol={"lq_source": "bi", "scale": 4}, **kw)


def test_record_schema_rules() -> None:
    with pytest.raises(ValueError, match="carries no value"):
        _rec("a", value=1.0, status="missing-weights")
    with pytest.raises(ValueError, match="needs a value"):
        _rec("a", value=None)
    with pytest.raises(ValueError, match="status"):
        _rec("a", status="skipped")
    p = provenance(device="cpu", lq_seed=0)
    assert {"git_commit", "versions", "weights_sha256", "device", "lq_seed", "date"} <= set(p)


def test_append_writes_one_part_and_the_latest_row_per_key_wins(tmp_path: Path) -> None:
    append_records(tmp_path, [_rec("a"), _rec("b"), _rec("a", "lpips", None, "missing-weights", reason="no weights")])
    append_records(tmp_path, [_rec("a", value=31.0), _rec("c", value=None, status="error", reason="boom")])
    assert [p.name for p in RecordStore(tmp_path).parts()] == ["part-000001.parquet", "part-000002.parquet"]
    df = read_results(tmp_path)
    assert len(df) == 4
    assert df[(df["clip"] == "a") & (df["metric"] == "psnr")]["value"].tolist() == [31.0]
    assert json.loads(df["protocol"].iloc[0]) == {"lq_source": "bi", "scale": 4}
    key = protocol_key({"lq_source": "bi", "scale": 4})
    done = done_keys(tmp_path)
    assert ("bicubic", "samples", "a", "psnr", key) in done
    # a resumed run tries these again: missing weights may have arrived, an error's cause may be gone
    assert ("bicubic", "samples", "a", "lpips", key) not in done
    assert ("bicubic", "samples", "c", "psnr", key) not in done
    assert not list(tmp_path.rglob(".*tmp*"))


def test_compaction_folds_parts_into_results_parquet_and_reads_stay_the_same(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.append([_rec("a"), _rec("b", value=None, status="error", reason="boom")])
    store.append([_rec("b", value=29.0)])
    before = store.read()
    assert store.compact() == 2 and store.parts() == []
    pd.testing.assert_frame_equal(store.read(), before)
    pd.testing.assert_frame_equal(read_results(tmp_path / "results.parquet"), before)
    # a part written after compaction (a resumed run) overrides the compacted row
    store.append([_rec("a", value=33.0)])
    assert read_results(tmp_path).set_index("clip")["value"].to_dict() == {"a": 33.0, "b": 29.0}


def test_a_single_results_file_of_older_versions_is_the_base_of_a_folder(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the old layout: one parquet file written by pandas, a value column that is all null
    old = [_rec("a", value=None, status="missing-weights", reason="no weights").row(), _rec("b").row()]
    pq.write_table(pa.Table.from_pylist(old), tmp_path / "results.parquet")
    append_records(tmp_path, [_rec("a", value=30.5)])
    df = read_results(tmp_path)
    assert df.set_index("clip")["value"].to_dict() == {"a": 30.5, "b": 30.0}
    assert set(df["status"]) == {"ok"}
    # the leaderboard reads the same folder to the same rows (no torch, no pandas)
    from leaderboard.board import load_records

    rows = load_records(tmp_path)
    assert sorted((r["clip"], r["value"]) for r in rows) == [("a", 30.5), ("b", 30.0)]


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.lock():
        (tmp_path / "records" / ".part-000009.123-ab.tmp.parquet").write_bytes(b"half")
        with pytest.raises(StoreBusy, match="another run is writing here"):
            with RecordStore(tmp_path).lock():
                pass
    with store.lock():  # released; a temporary part left by a killed writer is cleaned up
        assert not list((tmp_path / "records").glob(".part-*"))
