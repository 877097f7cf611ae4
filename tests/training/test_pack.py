"""The GPU pack (training.corpus.pack): train media as JPEG readable without PyAV, validation GT + LQ for bench,
a manifest with licence and origin per item and a SHA256SUMS that checks."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from training.corpus.pack import build_pack
from vsrcore import testing
from vsrcore.shards import ShardWriter


def _shards(root: Path, tmp: Path) -> Path:
    """A split shard directory like fetch_sources writes: 2 train photos, 1 train clip, 1 validation photo and 1
    validation clip, 1 test photo (never packed), with licence / origin / source_name columns."""
    from PIL import Image

    from vsrcore.video.write import write_video

    rng = np.random.default_rng(0)
    items = []
    for i, split in enumerate(("train", "train", "validation", "test")):
        img = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
        path = tmp / f"p{i}.png"
        Image.fromarray(img).resize((160, 120), Image.BICUBIC).save(path)
        items.append((f"p{i}", "image", split, path, 1))
    for i, split in enumerate(("train", "validation")):
        path = tmp / f"c{i}.mkv"
        write_video(path, testing.moving_texture(22, 64, 80, dx=2), fps=25, codec="ffv1")
        items.append((f"c{i}", "clip", split, path, 22))
    with ShardWriter(root, max_items=4) as writer:
        for item_id, kind, split, path, n in items:
            row = {"id": item_id, "kind": kind, "source_path": str(path), "source_hash": "x", "start_frame": 0,
                   "end_frame": n, "width": 80, "height": 64, "fps": 25.0, "frame_count": n, "codec": "ffv1",
                   "split": split, "source_name": f"src-{item_id}", "licence": "CC0 (test)",
                   "origin": f"test {item_id}"}  # fmt: skip
            writer.add(row, path, path.suffix)
    return root


def test_pack_layout_manifest_and_sums(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shards = _shards(tmp_path / "shards", tmp_path)
    out = tmp_path / "pack"
    summary = build_pack(shards, out, max_side=96, clip_side=64, eval_crop=48, max_frames=17)
    assert summary["items"] == {"train/clip": 1, "train/image": 2, "validation/clip": 1, "validation/image": 1}
    rows = [line.split("\t") for line in (out / "MANIFEST.tsv").read_text().splitlines()]
    header, rows = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header[:4] == ["id", "split", "kind", "path"] and {r["split"] for r in rows} == {"train", "validation"}
    assert all(r["licence"] == "CC0 (test)" and r["origin"] == f"test {r['id']}" for r in rows)
    photo = next(r for r in rows if r["id"] == "p0")
    assert (photo["path"], photo["width"], photo["height"]) == ("train/p0.jpg", "96", "72")  # long side bounded
    clip = next(r for r in rows if r["id"] == "c0")
    assert clip["path"] == "train/c0.frames" and clip["frames"] == "17"
    # validation: PNG GT (centre crop, multiple of 4) and the x4 LQ of both presets, as bench pairs them
    gt = out / "validation" / "gt"
    assert sorted(p.name for p in gt.iterdir()) == ["c1", "p2.png"]
    for lq in ("lq-bi", "lq-realbasicvsr"):
        assert (out / "validation" / lq / "p2.png").is_file() and len(
            list((out / "validation" / lq / "c1").iterdir())
        ) == 17
    from PIL import Image

    assert Image.open(gt / "p2.png").size == (48, 48) and Image.open(out / "validation/lq-bi/p2.png").size == (12, 12)
    # every file is in SHA256SUMS with its digest
    sums = dict(reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    assert sorted(sums) == files
    assert sums["train/p0.jpg"] == hashlib.sha256((out / "train/p0.jpg").read_bytes()).hexdigest()
    # the train folder trains without PyAV
    from training.data import list_media

    monkeypatch.setitem(sys.modules, "av", None)
    media = list_media(out / "train", split="train")
    assert [(m.id, m.kind, m.frames) for m in media] == [("c0", "clip", 17), ("p0", "image", 1), ("p1", "image", 1)]
