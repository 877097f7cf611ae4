"""`flashvsr probe FILE...`: header metadata as JSON lines."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the probe arguments."""
    parser.add_argument("files", nargs="+", help="video files")
    parser.add_argument("--decode", action="store_true", help="also decode every frame and report the true count")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Probe each file; the first bad file stops with a one-line error naming it."""
    from vsrcore.video.decode import iter_frames
    from vsrcore.video.probe import probe

    for path in args.files:
        meta = probe(path).to_dict()
        if args.decode:
            meta["decoded_frames"] = sum(1 for _ in iter_frames(path))
        print(json.dumps(meta))
    return 0
