"""`flashvsr prepare-data NAME --from DOWNLOAD --data-root DIR`: official downloads -> the registry's folder layout.

    prepare("reds30", ["~/Downloads/val_sharp.zip", "~/Downloads/val_sharp_bicubic.zip"], "/data")
    # -> /data/REDS/val_sharp -> .downloads/val_sharp/val/val_sharp (a relative symlink), ...

Each dataset is a `Recipe`: the folders (`Part`s) the registry reads under the data root (benchmark.datasets), and
where each one sits inside what users download (candidate paths, tried in order, `*` matching one wrapper folder).
A DOWNLOAD (`--from`, repeatable) is a folder or a .zip; a zip is extracted once under `DIR/.downloads/<stem>/`
through the project's member gate (`vsrcore.untrusted.extract_zip`: no absolute or `..` names, no links, size
cap), resumably. Every part is then a symlink to the folder that holds it (relative when it lies under the data
root), so nothing is copied. Everything is checked before anything is linked: a missing part, missing clips or a
clip whose GT and LQ frame counts differ give one line listing all of them (DatasetError, exit 2), and what was
already extracted stays for the next run. Re-running is a no-op once the layout is in place.

No source of these nine datasets publishes checksums (REDS, DOVE's test sets, mmagic's Vid4, RealBasicVSR's
VideoLQ, RealVSR, MVSR4x), so none are verified; the layout record `DIR/.prepared/<name>.json` keeps each archive's
size and each part's clip and frame counts, so two machines can compare what they prepared.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.datasets import DatasetError, frame_files
from vsrcore.atomic import write_json_atomic


@dataclass(frozen=True)
class Part:
    """One folder of clip folders the registry reads: `target` under the data root, found in a download at the
    first existing `sources` pattern that holds clip folders. `clips`: names that must be there; `count`: how many
    clips the dataset has (when names are not fixed). An `optional` part is linked when found."""

    target: str
    sources: tuple[str, ...]
    what: str
    clips: tuple[str, ...] = ()
    count: int | None = None
    optional: bool = False


@dataclass(frozen=True)
class Recipe:
    """How to prepare one dataset: its parts, which (gt, lq) parts must agree in frame count per clip, where to
    download it, and what an absent optional part means."""

    name: str
    parts: tuple[Part, ...]
    download: str
    pairs: tuple[tuple[str, str], ...] = ()
    notes: dict[str, str] = field(default_factory=dict)


def _dove(name: str, folder: str, count: int, clips: tuple[str, ...] = (), gt: bool = True) -> Recipe:
    """A test set in DOVE's layout (`<folder>/GT/<clip>/*.png`, `<folder>/LQ/<clip>/*.png`, one zip per set)."""

    def part(side: str, what: str) -> Part:
        return Part(f"{folder}/{side}", (f"{folder}/{side}", f"*/{folder}/{side}", side), what, clips, count)

    parts = ((part("GT", "GT frames"),) if gt else ()) + (part("LQ", "LQ frames"),)
    pairs = ((f"{folder}/GT", f"{folder}/LQ"),) if gt else ()
    return Recipe(name, parts, f"{folder}.zip from DOVE's Google Drive test sets (zhengchen1999/DOVE README)", pairs)


_REDS = "https://seungjunnah.github.io/Datasets/reds.html"
_VID4 = ("calendar", "city", "foliage", "walk")
_UDM10 = (
    "archpeople", "archwall", "auditorium", "band", "caffe", "camera", "clap", "lake", "photography", "polyflow",
)  # fmt: skip

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "reds4",
            (
                Part(
                    "REDS/train_sharp",
                    ("train/train_sharp", "train_sharp", "*/train_sharp"),
                    "train_sharp (GT)",
                    ("000", "011", "015", "020"),
                ),
                Part(
                    "REDS/train_sharp_bicubic/X4",
                    ("train/train_sharp_bicubic/X4", "train_sharp_bicubic/X4", "*/train_sharp_bicubic/X4"),
                    "train_sharp_bicubic/X4 (BIx4 LQ)",
                    ("000", "011", "015", "020"),
                ),
            ),  # fmt: skip
            f"train_sharp.zip and train_sharp_bicubic.zip from {_REDS}",
            (("REDS/train_sharp", "REDS/train_sharp_bicubic/X4"),),
        ),
        Recipe(
            "reds30",
            (
                Part(
                    "REDS/val_sharp",
                    ("val/val_sharp", "val_sharp", "*/val_sharp"),
                    "val_sharp (GT)",
                    tuple(f"{i:03d}" for i in range(30)),
                ),
                Part(
                    "REDS/val_sharp_bicubic/X4",
                    ("val/val_sharp_bicubic/X4", "val_sharp_bicubic/X4", "*/val_sharp_bicubic/X4"),
                    "val_sharp_bicubic/X4 (BIx4 LQ)",
                    tuple(f"{i:03d}" for i in range(30)),
                    optional=True,
                ),
            ),  # fmt: skip
            f"val_sharp.zip (and val_sharp_bicubic.zip for the BI set) from {_REDS}",
            (("REDS/val_sharp", "REDS/val_sharp_bicubic/X4"),),
            {
                "REDS/val_sharp_bicubic/X4": "without val_sharp_bicubic.zip only the paper suite's "
                "reds30+realbasicvsr (LQ made from the GT) runs, not reds30 (official BIx4)"
            },
        ),
        _dove("udm10", "UDM10", 10, _UDM10),
        _dove("spmcs", "SPMCS", 30),
        _dove("youhq40", "YouHQ40", 40),
        _dove("realvsr", "RealVSR", 50),
        _dove("mvsr4x", "MVSR4x", 15),
        Recipe(
            "videolq",
            (
                Part(
                    "VideoLQ/LQ", ("VideoLQ/LQ", "*/VideoLQ/LQ", "LQ", "VideoLQ", "*/VideoLQ"), "LQ frames", count=50
                ),
            ),  # fmt: skip
            "VideoLQ.zip from the RealBasicVSR README (Dropbox/Google Drive/OneDrive) or DOVE's Google Drive",
        ),
        Recipe(
            "vid4",
            (
                Part("Vid4/GT", ("Vid4/GT", "*/Vid4/GT", "GT"), "GT frames", _VID4),
                Part("Vid4/BIx4", ("Vid4/BIx4", "*/Vid4/BIx4", "BIx4"), "BIx4 LQ", _VID4),
                Part("Vid4/BDx4", ("Vid4/BDx4", "*/Vid4/BDx4", "BDx4"), "BDx4 LQ", _VID4, optional=True),
            ),
            "Vid4.zip (GT, BIx4, BDx4) linked from mmagic's configs/basicvsr_pp README",
            (("Vid4/GT", "Vid4/BIx4"), ("Vid4/GT", "Vid4/BDx4")),
            {"Vid4/BDx4": "without BDx4 only vid4 (BIx4) runs, not vid4-bd"},
        ),
    )
}
DOWNLOADS_DIR = ".downloads"
RECORDS_DIR = ".prepared"


def _clip_dirs(folder: Path) -> dict[str, int]:
    """clip name -> number of frames, for every sub-folder of `folder` holding PNG/JPG frames."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.name.startswith("."):
            n = len(frame_files(p, (".png", ".jpg", ".jpeg")))
            if n:
                out[p.name] = n
    return out


def _find(part: Part, roots: Sequence[Path]) -> Path | None:
    """The first folder matching one of the part's patterns, in download order, that holds clip folders."""
    for pattern in part.sources:
        for root in roots:
            for candidate in sorted(root.glob(pattern)) if "*" in pattern else [root / pattern]:
                if candidate.is_dir() and _clip_dirs(candidate):
                    return candidate
    return None


def _problems(part: Part, clips: dict[str, int]) -> list[str]:
    missing = [c for c in part.clips if c not in clips]
    if missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        return [f"{part.what}: clips {shown} missing"]
    if part.count is not None and len(clips) < part.count:
        return [f"{part.what}: {len(clips)} of {part.count} clips"]
    return []


def _unpack(downloads: Sequence[str | Path], data_root: Path) -> list[Path]:
    """The download folders: each folder as given, each zip extracted (resumably) under DATA_ROOT/.downloads/."""
    from vsrcore.untrusted import extract_zip

    roots = []
    for d in downloads:
        p = Path(d).expanduser()
        if p.is_dir():
            roots.append(p)
        elif p.is_file() and p.suffix.lower() == ".zip":
            dest = data_root / DOWNLOADS_DIR / p.stem
            done = dest / ".extracted.json"
            stamp = {"archive": str(p.resolve()), "bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
            if not (done.is_file() and json.loads(done.read_text()) == stamp):
                extract_zip(p, dest)
                write_json_atomic(done, stamp)  # written last: an interrupted extraction resumes next time
            roots.append(dest)
        elif p.exists():
            raise DatasetError(f"{p}: not a folder or a .zip (prepare-data reads downloaded zips or their folders)")
        else:
            raise DatasetError(f"{p}: no such file or folder")
    return roots


def _link(target: Path, source: Path, data_root: Path) -> str:
    """Make `target` a symlink to `source` (relative when the source lies under the data root, so the folder can
    move); what was done."""
    src = source.resolve()
    under_root = src.is_relative_to(data_root.resolve())
    link = os.path.relpath(src, target.parent.resolve()) if under_root else str(src)
    if target.is_symlink():
        if target.resolve() == src:
            return f"{target}: already in place"
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(link, target_is_directory=True)
    return f"{target} -> {link}"


def prepare(name: str, downloads: Sequence[str | Path], data_root: str | Path) -> list[str]:
    """Lay dataset `name` out under `data_root` from the `downloads` (folders or zips); returns one line per action.
    DatasetError (one line, every problem listed, nothing linked) when a required part or clip is missing."""
    if name not in RECIPES:
        from vsrcore.registry import unknown_name

        raise DatasetError(unknown_name("dataset to prepare", name, sorted(RECIPES)))
    recipe = RECIPES[name]
    root = Path(data_root).expanduser()
    if not downloads:
        raise DatasetError(f"prepare-data {name}: no --from given; download {recipe.download}")
    root.mkdir(parents=True, exist_ok=True)
    roots = _unpack(downloads, root)
    found: dict[str, tuple[Path, dict[str, int]]] = {}
    problems: list[str] = []
    notes: list[str] = []
    for part in recipe.parts:
        target = root / part.target
        in_place = target.is_dir() and not target.is_symlink() and _clip_dirs(target)
        source = target if in_place else _find(part, roots)
        if source is None:
            if part.optional:
                notes.append(f"{part.what} not found: {recipe.notes.get(part.target, 'skipped')}")
            else:
                problems.append(f"{part.what} (any of {', '.join(part.sources)})")
            continue
        clips = _clip_dirs(source)
        problems += _problems(part, clips)
        found[part.target] = (source, clips)
    for gt, lq in recipe.pairs:
        if gt in found and lq in found:
            (_, g), (_, q) = found[gt], found[lq]
            bad = [c for c in q if c in g and g[c] != q[c]]
            if bad:
                problems.append(f"clip {bad[0]}: {g[bad[0]]} GT frames but {q[bad[0]]} LQ frames ({len(bad)} clips)")
    if problems:
        looked = ", ".join(str(r) for r in roots)
        raise DatasetError(
            f"prepare-data {name}: missing {'; '.join(problems)} (looked in {looked}; download {recipe.download})"
        )
    done = []
    for target_rel, (source, _) in found.items():
        target = root / target_rel
        done.append(f"{target}: already in place" if source == target else _link(target, source, root))
    record: dict[str, Any] = {
        "dataset": name,
        "downloads": [
            {"path": str(Path(d).expanduser().resolve()), "bytes": Path(d).expanduser().stat().st_size}
            for d in downloads
            if Path(d).expanduser().is_file()
        ],
        "parts": {t: {"source": str(s), "clips": len(c), "frames": sum(c.values())} for t, (s, c) in found.items()},
    }
    write_json_atomic(root / RECORDS_DIR / f"{name}.json", record)
    return done + notes


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the prepare-data arguments and set `func`."""
    parser.add_argument("name", choices=sorted(RECIPES), help="dataset to lay out")
    parser.add_argument(
        "--from",
        dest="downloads",
        action="append",
        default=[],
        metavar="DOWNLOAD",
        help="a downloaded .zip or an unpacked folder (repeatable, e.g. val_sharp.zip and val_sharp_bicubic.zip)",
    )
    parser.add_argument("--data-root", required=True, help="the folder `flashvsr bench --data-root` reads")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the dataset; errors are one line (DatasetError, exit 2 via the top-level CLI)."""
    from vsrcore.cliargs import info

    for line in prepare(args.name, args.downloads, args.data_root):
        info(args, line)
    info(args, f"{args.name} ready under {args.data_root} (flashvsr bench --data-root {args.data_root})")
    return 0
