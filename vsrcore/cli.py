"""The `flashvsr` command: a thin dispatcher over each package's own CLI module.

Subcommands are a table of import strings, resolved only for the chosen command, so `flashvsr --help`
imports no torch, ray or av. Errors caused by input or environment print one line naming the file and
the problem (exit 2); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence


# name -> (one-line help, "module:configure" or None while the owning issue is open).
# `configure(parser)` adds the subcommand's arguments and sets `func(args) -> int` as a default.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "info": ("versions, devices, sample media, and which weights are present or missing", "vsrcore.info:configure"),
    "probe": ("print a video's header metadata as JSON (no decoding)", "vsrcore.probe_cli:configure"),
    "samples": ("list the embedded sample media with provenance and licences", "vsrcore.samples.cli:configure"),
    "curate": ("raw footage -> VSR shards (Ray Data pipeline)", "curation.cli:configure"),
    "degrade": ("HQ clips -> LQ clips with recorded, reproducible degradations", "degradation.cli:configure"),
    "train": ("train FlashVSR stages and the decoder", "training.cli:configure"),
    "upscale": ("upscale a video with FlashVSR or a baseline, streaming", "model.cli:configure"),
    "bench": ("run methods x datasets x metrics into result records", "benchmark.cli:configure"),
    "leaderboard": ("render result records into Markdown and HTML", "leaderboard.cli:configure"),
    "weights": ("list, verify or fetch known weights", "model.weights_cli:configure"),
}
# Which issue builds each command still missing from this version.
PENDING: dict[str, int] = {}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only the chosen `command`'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="flashvsr",
        description="FlashVSR toolkit: curate, degrade, train, upscale, benchmark.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, target) in COMMANDS.items():
        shown = help_text if target else f"{help_text} [not in this version yet]"
        p = sub.add_parser(name, help=shown, description=shown)
        if name == command and target:
            module, _, attr = target.partition(":")
            getattr(importlib.import_module(module), attr)(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flashvsr` console script."""
    from vsrcore.errors import UserFacingError

    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return 0
    if COMMANDS[args.command][1] is None:
        print(
            f"flashvsr {args.command}: not available in this version yet (issue {PENDING[args.command]})",
            file=sys.stderr,
        )
        return 2
    try:
        return int(args.func(args) or 0)
    except UserFacingError as e:
        if args.debug:
            raise
        print(f"flashvsr {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"flashvsr {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
