"""`flashvsr degrade`: HQ media -> LQ media (lossless) + manifest of the exact parameters used."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vsrcore.limits import add_max_pixels_argument, set_max_pixels


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the degrade arguments."""
    from degradation import PRESETS

    parser.add_argument("input", help="a video, an image, a folder of videos/images/frame folders, or a VSR shard dir")
    parser.add_argument("output", help="output folder (re-running on it resumes)")
    parser.add_argument("--preset", default="realbasicvsr", choices=PRESETS.names())
    parser.add_argument("--scale", type=int, default=4, help="downscaling factor (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="global seed; each clip draws from (seed, clip id)")
    parser.add_argument(
        "--drift",
        action="store_true",
        help="realbasicvsr: continuous parameters random-walk per frame (default: fixed per clip)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset option, e.g. --set bitrate_per_frame=false (repeatable)",
    )
    parser.add_argument(
        "--clip-frames",
        type=int,
        default=100,
        help="split videos into clips of this many frames, each with its own draw (0: whole video)",
    )
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (one clip each)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_max_pixels_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch; exit 1 if some inputs failed (they are listed in OUTPUT/failed.jsonl)."""
    from degradation.batch import DegradeSettings
    from degradation.batch import run as run_batch

    set_max_pixels(args.max_pixels)
    options: dict[str, Any] = {"scale": args.scale}
    if args.drift:
        options["drift"] = True
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"flashvsr degrade: --set needs KEY=VALUE, got '{item}'", file=sys.stderr)
            return 2
        options[key] = _value(value)
    summary = run_batch(
        args.input,
        args.output,
        DegradeSettings(args.preset, args.seed, options),
        workers=args.workers,
        clip_frames=args.clip_frames,
        progress=not args.quiet,
    )
    print(f"{summary['done']} clips in {args.output} ({summary['failed']} failed)")
    return 1 if summary["failed"] else 0
