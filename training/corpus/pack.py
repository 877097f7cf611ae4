"""A compact copy of the built corpus for a GPU machine that has no PyAV: train photos and clips as JPEG, the
validation split as an evaluation set with its LQ made here.

    python -m training.corpus.pack DATA/shards OUT [--max-side 512] [--quality 85] [--eval-crop 192]

OUT (a git-ignored folder, e.g. `.pack/`):
- `train/<id>.jpg`: every train photo, its long side bounded to `--max-side` (antialiased bicubic), JPEG
  `--quality`; `train/<id>.frames/%08d.jpg`: every train clip's first `--max-frames` frames, long side bounded to
  `--clip-side`, JPEG `--clip-quality` (`flashvsr train --data OUT/train` reads both, `training.data.list_media`);
- `validation/gt/<id>.png` (lossless): each validation photo bounded as above, then centre-cropped to at most
  `--eval-crop` square (a multiple of the scale); a clip as `validation/gt/<id>/%08d.png`;
  `validation/lq-bi/...` and `validation/lq-realbasicvsr/...`: the x4 LQ made from that GT with `degradation.degrade`
  (seed 0, clip id = item id), as `flashvsr bench --dataset NAME=DIR` reads a `gt/` + `lq/` folder;
- `MANIFEST.tsv`: one row per item (id, split, kind, path in the pack, frames, size, source, licence, origin, the
  sha256 of the curated shard member it came from); `SHA256SUMS`: every file of the pack (`sha256sum -c` checks it).

The test split is not packed: it is scored once per released model, on this machine, from DATA/eval/test.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from vsrcore.cliargs import one_line_main
from vsrcore.errors import UserFacingError


EVAL_LQ = {"bi": "bicubic", "realbasicvsr": "realbasicvsr"}  # bench's --lq names -> degradation presets
FIELDS = ("id", "split", "kind", "path", "frames", "width", "height", "source_name", "licence", "origin",
          "curated_sha256")  # fmt: skip


def bound(frames: np.ndarray, max_side: int) -> np.ndarray:
    """uint8 (T, H, W, C) frames with the long side scaled down to `max_side` (antialiased bicubic; never up)."""
    from PIL import Image

    h, w = frames.shape[1:3]
    f = max_side / max(h, w)
    if f >= 1:
        return frames
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.stack([np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BICUBIC)) for x in frames])


def centre_crop(frames: np.ndarray, size: int, multiple: int) -> np.ndarray:
    """The centre crop of at most `size` x `size`, each side a multiple of `multiple`."""
    h, w = frames.shape[1:3]
    ch, cw = min(size, h) // multiple * multiple, min(size, w) // multiple * multiple
    if ch == 0 or cw == 0:
        raise ValueError(f"a {w}x{h} frame has no crop that is a multiple of {multiple}")
    top, left = (h - ch) // 2, (w - cw) // 2
    return frames[:, top : top + ch, left : left + cw]


def decode_item(row: dict[str, Any], data: bytes, max_frames: int) -> np.ndarray:
    """An item's media as uint8 (T, H, W, C): a photo as 1 frame, a clip's first `max_frames` frames."""
    if row["kind"] == "image":
        from vsrcore.video.image import decode_image

        return decode_image(data, name=row["member"])[None]
    from vsrcore.video.decode import read_frames

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(row["member"]).name
        path.write_bytes(data)
        frames = read_frames(path)
    return frames[:max_frames]


def save(frames: np.ndarray, target: Path, *, ext: str, quality: int = 95) -> list[Path]:
    """One frame as `target.<ext>`, several as `target/%08d.<ext>` (JPEG at `quality`, PNG lossless)."""
    from PIL import Image

    def one(frame: np.ndarray, path: Path) -> Path:
        buf = io.BytesIO()
        if ext == "jpg":
            Image.fromarray(frame).save(buf, format="JPEG", quality=quality, subsampling=0 if quality >= 95 else 2)
        else:
            Image.fromarray(frame).save(buf, format="PNG", optimize=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
        return path

    if len(frames) == 1 and target.suffix != ".frames":
        return [one(frames[0], target.with_name(f"{target.name}.{ext}"))]
    return [one(f, target / f"{i:08d}.{ext}") for i, f in enumerate(frames)]


def build_pack(shards: Path, out: Path, *, max_side: int = 512, clip_side: int = 320, quality: int = 85,
               clip_quality: int = 85, eval_crop: int = 192, max_frames: int = 17, scale: int = 4,
               limit: int = 0) -> dict[str, Any]:  # fmt: skip
    """Write the pack (layout in the module docstring) into `out` (emptied first); returns counts and bytes.
    `limit` > 0 keeps only the first `limit` items of each split and kind (a toy pack for tests)."""
    from degradation.pipeline import degrade
    from vsrcore.shards import ShardReader

    reader = ShardReader(shards)
    df = reader.manifest()
    missing = [c for c in ("licence", "origin", "source_name") if c not in df]
    if missing:
        raise UserFacingError(f"{shards}: manifest has no {missing[0]} column (build it with fetch_sources)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rows: list[dict[str, Any]] = []
    taken: dict[tuple[str, str], int] = {}
    for split in ("train", "validation"):
        for row, data in reader.iter_items(split):
            key = (split, row["kind"])
            if limit and taken.get(key, 0) >= limit:
                continue
            taken[key] = taken.get(key, 0) + 1
            frames = decode_item(row, data, max_frames)
            if split == "train":
                clip = row["kind"] != "image"
                small = bound(frames, clip_side if clip else max_side)
                name = f"{row['id']}.frames" if clip else row["id"]
                files = save(small, out / "train" / name, ext="jpg", quality=clip_quality if clip else quality)
                path = (out / "train" / name) if clip else files[0]
            else:
                gt = centre_crop(bound(frames, max_side), eval_crop, scale)
                files = save(gt, out / "validation" / "gt" / row["id"], ext="png")
                path = files[0] if len(files) == 1 else files[0].parent
                for lq_name, preset in EVAL_LQ.items():
                    lq = degrade(gt, preset, seed=0, clip_id=row["id"], scale=scale).lq
                    save(lq, out / "validation" / f"lq-{lq_name}" / row["id"], ext="png")
                small = gt
            rows.append({
                "id": row["id"], "split": split, "kind": "clip" if row["kind"] != "image" else "image",
                "path": path.relative_to(out).as_posix(), "frames": len(small), "width": small.shape[2],
                "height": small.shape[1], "source_name": row["source_name"], "licence": row["licence"],
                "origin": row["origin"], "curated_sha256": hashlib.sha256(data).hexdigest(),
            })  # fmt: skip
    write_tables(out, rows)
    files = [p for p in out.rglob("*") if p.is_file()]
    counts = {f"{s}/{k}": n for (s, k), n in sorted(taken.items())}
    return {"items": counts, "files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def write_tables(out: Path, rows: list[dict[str, Any]]) -> None:
    """MANIFEST.tsv (one row per item) and SHA256SUMS (every other file of the pack, relative paths, sorted)."""
    lines = ["\t".join(FIELDS)] + ["\t".join(str(r[f]).replace("\t", " ") for f in FIELDS) for r in rows]
    (out / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")
    sums = []
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            sums.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}")
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point: build the pack from a split shard directory."""
    p = argparse.ArgumentParser(prog="python -m training.corpus.pack", description=__doc__.split("\n")[0])
    p.add_argument("shards", type=Path, help="DATA/shards of training.corpus.fetch_sources")
    p.add_argument("out", type=Path, help="the pack folder (emptied first), e.g. .pack")
    p.add_argument("--max-side", type=int, default=512, help="train photos / eval GT: long side bound (px)")
    p.add_argument("--clip-side", type=int, default=320, help="train clip frames: long side bound (px)")
    p.add_argument("--quality", type=int, default=85, help="JPEG quality of train photos")
    p.add_argument("--clip-quality", type=int, default=85, help="JPEG quality of train clip frames")
    p.add_argument("--eval-crop", type=int, default=192, help="validation GT: centre crop (px, square at most)")
    p.add_argument("--max-frames", type=int, default=17, help="frames kept per clip (a 4-latent clip is 17)")
    p.add_argument("--limit", type=int, default=0, help="first N items per split and kind (a toy pack)")
    args = p.parse_args(argv)

    def work() -> str:
        summary = build_pack(args.shards, args.out, max_side=args.max_side, clip_side=args.clip_side,
                             quality=args.quality, clip_quality=args.clip_quality, eval_crop=args.eval_crop,
                             max_frames=args.max_frames, limit=args.limit)  # fmt: skip
        return f"{args.out}: {summary['files']} files, {summary['bytes'] / 2**20:.1f} MiB; {summary['items']}"

    return one_line_main("pack", work)


if __name__ == "__main__":
    sys.exit(main())
