"""`flashvsr samples`: the embedded sample media, where each file is, and its licence."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the samples arguments."""
    parser.add_argument("--kind", choices=["video", "image"], help="only this kind")
    parser.add_argument("--split", choices=["train", "heldout"], help="only this split (heldout = the benchmark set)")
    parser.add_argument("--paths", action="store_true", help="print only the paths of available files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per sample."""
    from vsrcore.samples import list_samples

    for s in list_samples(args.kind, split=args.split):
        if args.paths:
            if s.available():
                print(s.path())
            continue
        where = str(s.path()) if s.available() else f"missing (install the '{s.package}' package)"
        print(f"{s.name:20s} {s.kind:5s} {s.split:7s} {s.licence:40s} {where}")
    return 0
