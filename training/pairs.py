"""Degraded pairs made ahead of training (`python -m training.make_pairs`): the table, its rows, their LQ.

A pairs folder holds `pairs.tsv` (one row per pair: the item id, kind, first frame, crop box, scale, preset and LQ
file) and the LQ of each pair as one lossless PNG strip (T*h, w, C). The GT is not stored: the trainer cuts it from
the same training item by the recorded box (`flashvsr train --pairs DIR --pair-share P`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsrcore.errors import UserFacingError


PAIR_FIELDS = ("pair", "item", "kind", "start", "frames", "top", "left", "size", "scale", "preset", "lq")
TABLE = "pairs.tsv"


@dataclass(frozen=True)
class Pair:
    """One stored pair: the GT is `frames` frames from `start` of item `item`, box (top, left, size); `lq` is the
    PNG strip of its x`scale` LQ."""

    pair: str
    item: str
    kind: str
    start: int
    frames: int
    top: int
    left: int
    size: int
    scale: int
    preset: str
    lq: Path


def read_pairs(folder: str | Path) -> list[Pair]:
    """The pairs listed in `folder`/pairs.tsv; a missing table, column or LQ file is a one-line error."""
    table = Path(folder) / TABLE
    if not table.is_file():
        raise UserFacingError(f"{table}: no pairs table (make one with python -m training.make_pairs)")
    with table.open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = set(PAIR_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise UserFacingError(f"{table}: missing columns {', '.join(sorted(missing))}")
        pairs = []
        for row in reader:
            try:
                ints = {k: int(row[k]) for k in ("start", "frames", "top", "left", "size", "scale")}
            except ValueError:
                raise UserFacingError(f"{table}: pair {row['pair']!r} has a non-integer field") from None
            lq = (Path(folder) / row["lq"]).resolve()
            if lq.parent != Path(folder).resolve() or not lq.is_file():
                raise UserFacingError(f"{table}: pair {row['pair']!r}: LQ file {row['lq']!r} is not in {folder}")
            pairs.append(Pair(row["pair"], row["item"], row["kind"], preset=row["preset"], lq=lq, **ints))
    return pairs


def load_lq(pair: Pair) -> np.ndarray:
    """The pair's LQ as uint8 (T, h, w, C)."""
    from vsrcore.video.image import decode_image

    strip = decode_image(pair.lq.read_bytes(), name=str(pair.lq))
    side = pair.size // pair.scale
    if strip.shape[:2] != (pair.frames * side, side):
        raise UserFacingError(f"{pair.lq}: {strip.shape[1]}x{strip.shape[0]}, expected {side}x{pair.frames * side}")
    return np.array(strip.reshape(pair.frames, side, side, strip.shape[-1]), copy=True)  # writable
