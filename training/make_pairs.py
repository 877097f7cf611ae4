"""Degraded pairs made ahead of training, for a machine that cannot run a degradation chain (no PyAV for
RealBasicVSR's codec step on the GPU machine).

    python -m training.make_pairs TRAIN_DIR OUT --preset realbasicvsr [--photos 4] [--clips 8] [--frames 9]

For every photo of TRAIN_DIR (`training.data.list_media`) `--photos` crops, for every clip `--clips` windows of
`--frames` frames, each `--crop` x `--crop` at a position drawn from (seed, item, index); each crop is degraded with
the training chain itself (`training.data.Degrader`, `--preset`, target "source", x`--scale`) and its LQ saved as
one lossless PNG strip (T*h, w, C). OUT/pairs.tsv lists them: the item id, kind, first frame, crop box and the LQ
file. The GT is not stored: the trainer cuts it from the same TRAIN_DIR item by the recorded box
(`flashvsr train --pairs OUT --pair-share P`), so a pair costs ~1/16 of its GT's pixels, losslessly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from training.data import Degrader, list_media, load_frames
from training.pairs import PAIR_FIELDS, TABLE, Pair, read_pairs
from vsrcore.atomic import write_bytes_atomic
from vsrcore.cliargs import one_line_main
from vsrcore.errors import UserFacingError
from vsrcore.rng import for_item


def make_pairs(
    train: Path,
    out: Path,
    *,
    preset: str,
    photos: int = 4,
    clips: int = 8,
    frames: int = 9,
    crop: int = 128,
    scale: int = 4,
    seed: int = 0,
) -> list[Pair]:
    """Write the pairs of every item of `train` into `out` (shapes and layout in the module docstring)."""
    from PIL import Image

    if crop % scale:
        raise UserFacingError(f"--crop {crop} is not a multiple of --scale {scale}")
    items = list_media(train, split=None)
    degrader = Degrader(preset, scale, seed, target="source")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for n, item in enumerate(items, 1):
        count = photos if item.kind == "image" else clips
        t = 1 if item.kind == "image" else frames
        for j in range(count):
            rng = for_item(seed, f"pair/{item.id}/{j}")
            start = int(rng.integers(max(item.frames - t, 0) + 1))
            gt = load_frames(item, start, t)  # (T, H, W, C) uint8
            h, w = gt.shape[1:3]
            if h < crop or w < crop:
                raise UserFacingError(f"{item.source}: {w}x{h} is smaller than the {crop}-pixel crop")
            top, left = int(rng.integers(h - crop + 1)), int(rng.integers(w - crop + 1))
            x = torch.from_numpy(gt[:, top : top + crop, left : left + crop].copy()).permute(0, 3, 1, 2)
            name = f"{item.id}-{j}"
            lq, _, _ = degrader.degrade(x[None].float() / 255.0, [name])
            strip = (lq[0].permute(0, 2, 3, 1).reshape(-1, crop // scale, 3) * 255).round().clamp(0, 255)
            Image.fromarray(strip.to(torch.uint8).numpy()).save(out / f"{name}.png", optimize=True)
            row = (name, item.id, item.kind, start, t, top, left, crop, scale, preset, f"{name}.png")
            rows.append(dict(zip(PAIR_FIELDS, row, strict=True)))
        if n % 50 == 0 or n == len(items):
            print(f"pairs: {n}/{len(items)} items, {len(rows)} pairs", file=sys.stderr, flush=True)
    lines = ["\t".join(PAIR_FIELDS)] + ["\t".join(str(r[f]) for f in PAIR_FIELDS) for r in rows]
    write_bytes_atomic(out / TABLE, ("\n".join(lines) + "\n").encode())
    return read_pairs(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.make_pairs", description=__doc__.split("\n\n")[0])
    ap.add_argument("train", type=Path, help="the training media (e.g. a pack's train/ folder)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--preset", default="realbasicvsr", help="degradation preset (default realbasicvsr)")
    ap.add_argument("--photos", type=int, default=4, help="crops per photo (default 4)")
    ap.add_argument("--clips", type=int, default=8, help="windows per clip (default 8)")
    ap.add_argument("--frames", type=int, default=9, help="frames per clip window (4T+1; default 9 = 2 latents)")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    def work() -> str:
        pairs = make_pairs(a.train, a.out, preset=a.preset, photos=a.photos, clips=a.clips, frames=a.frames,
                           crop=a.crop, scale=a.scale, seed=a.seed)  # fmt: skip
        return f"{len(pairs)} pairs in {a.out}"

    return one_line_main("make_pairs", work)


if __name__ == "__main__":
    sys.exit(main())
