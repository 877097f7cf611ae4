"""`flashvsr degrade`: HQ media -> LQ media (lossless) + manifest of the exact parameters used."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vsrcore.cliargs import add_output, add_set, info, parse_set
from vsrcore.errors import EXIT_OK, EXIT_PARTIAL
from vsrcore.limits import add_input_limit_arguments, apply_input_limits


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the degrade arguments."""
    from degradation import PRESETS

    parser.add_argument("input", help="a video, an image, a folder of videos/images/frame folders, or a VSR shard dir")
    add_output(parser, "output folder (re-running on it resumes)", positional=True)
    parser.add_argument("--preset", default="realbasicvsr", choices=PRESETS.names())
    parser.add_argument("--scale", type=int, default=4, help="downscaling factor (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="global seed; each clip draws from (seed, clip id)")
    parser.add_argument(
        "--drift",
        action="store_true",
        help="realbasicvsr: continuous parameters random-walk per frame (default: fixed per clip)",
    )
    add_set(parser, "override a preset option, e.g. --set bitrate_per_frame=false")
    parser.add_argument(
        "--clip-frames",
        type=int,
        default=100,
        help="split videos into clips of this many frames, each with its own draw (0: whole video)",
    )
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (one clip each)")
    add_input_limit_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch; exit 3 if some inputs failed (they are listed in OUT/failed.jsonl)."""
    from degradation.batch import DegradeSettings
    from degradation.batch import run as run_batch

    apply_input_limits(args)
    options: dict[str, Any] = {"scale": args.scale}
    if args.drift:
        options["drift"] = True
    options.update(parse_set(args.set))
    summary = run_batch(
        args.input,
        args.out,
        DegradeSettings(args.preset, args.seed, options),
        workers=args.workers,
        clip_frames=args.clip_frames,
        progress=not args.quiet,
    )
    info(args, f"{summary['done']} clips in {args.out} ({summary['failed']} failed)")
    if not summary["failed"]:
        return EXIT_OK
    failed = Path(args.out) / "failed.jsonl"
    first = json.loads(failed.read_text().splitlines()[0])
    more = f" (and {summary['failed'] - 1} more)" if summary["failed"] > 1 else ""
    print(f"flashvsr degrade: {first['error']}{more}; failures are listed in {failed}", file=sys.stderr)
    return EXIT_PARTIAL
