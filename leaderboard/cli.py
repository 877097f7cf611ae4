"""`flashvsr leaderboard RESULTS... -o DIR`: render result records into Markdown and static HTML."""

from __future__ import annotations

import argparse

from vsrcore.cliargs import add_output, info


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the leaderboard arguments to `parser` and set its `func`."""
    parser.add_argument(
        "results", nargs="+", help="result files (.parquet, .jsonl, .json, .csv) or `flashvsr bench` results folders"
    )
    add_output(parser, "output folder (leaderboard.md, index.html)")
    parser.add_argument("--no-published", action="store_true", help="leave out the rows transcribed from papers")
    parser.add_argument("--title", default="FlashVSR leaderboard", help="page title")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the leaderboard; a missing or unreadable results file is one line on stderr (exit 2)."""
    import sys

    from leaderboard.api import write_leaderboard

    try:
        paths = write_leaderboard(args.results, args.out, published=not args.no_published, title=args.title)
    except (FileNotFoundError, ValueError) as e:
        print(f"flashvsr leaderboard: {e}", file=sys.stderr)
        return 2
    for kind, p in paths.items():
        info(args, f"{kind}: {p}")
    return 0
