"""The `flashvsr` command: a thin dispatcher over each package's own CLI module.

Subcommands are a table of import strings, resolved only for the chosen command, so `flashvsr --help` imports no
torch, ray or av. The exit-code contract is decided here, in `main`, for every command (README "Exit codes"):

- 0: done;
- 2: bad input or usage (argparse errors, unknown names, unreadable files, missing weights or packages);
- 3: the command finished but some items failed and were recorded (commands return `EXIT_PARTIAL`);
- 130: interrupted (SIGINT / Ctrl-C, or SIGTERM);
- 1: an unexpected exception, i.e. a bug.

Every error is one line on stderr naming the file and the problem; `--debug` (before or after the subcommand) adds
the traceback. `--quiet` (also either side) silences progress and summary output; warnings and errors remain.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn


# name -> (one-line help, "module:configure").
# `configure(parser)` adds the subcommand's arguments and sets `func(args) -> int` as a default.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("versions, devices, sample media, and which weights are present or missing", "vsrcore.info:configure"),
    "list": ("models, metrics, datasets, suites, degradation presets: what each needs", "vsrcore.list_cli:configure"),
    "probe": ("print a video's header metadata as JSON (no decoding)", "vsrcore.probe_cli:configure"),
    "samples": ("list the embedded sample media with provenance and licences", "vsrcore.samples.cli:configure"),
    "curate": ("raw footage -> VSR shards (Ray Data pipeline)", "curation.cli:configure"),
    "degrade": ("HQ clips -> LQ clips with recorded, reproducible degradations", "degradation.cli:configure"),
    "train": ("train FlashVSR stages and the decoder", "training.cli:configure"),
    "upscale": ("upscale a video with FlashVSR or a baseline, streaming", "model.cli:configure"),
    "prepare-data": (
        "lay out downloaded benchmark datasets (REDS, Vid4, UDM10 ...) for --data-root",
        "benchmark.prepare:configure",
    ),
    "bench": ("run methods x datasets x metrics into result records", "benchmark.cli:configure"),
    "leaderboard": ("render result records into Markdown and HTML", "leaderboard.cli:configure"),
    "weights": ("list, verify or fetch known weights", "model.weights_cli:configure"),
}


class Parser(argparse.ArgumentParser):
    """argparse with the toolkit's conventions: a usage error is one line (exit 2), and a value outside an
    argument's choices (a subcommand, a registry name) names the closest valid ones."""

    def error(self, message: str) -> NoReturn:
        from vsrcore.errors import EXIT_USAGE

        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check lists every choice over several lines; ours suggests the closest in one
        if action.choices is not None and value not in action.choices:
            from vsrcore.errors import UnknownName
            from vsrcore.registry import suggest

            kind = "command" if isinstance(action, argparse._SubParsersAction) else action.dest.replace("_", " ")
            known = [str(c) for c in action.choices]
            raise argparse.ArgumentError(action, str(UnknownName(kind, str(value), suggest(str(value), known), known)))


class _Version(argparse.Action):
    """`--version`: computed only when asked (it may run git)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from vsrcore.version import version_string

        print(version_string())
        parser.exit()


def _add_common(parser: argparse.ArgumentParser, top: bool) -> None:
    """`--debug` and `--quiet`, accepted before and after the subcommand. Below the top level their default is
    SUPPRESS, so a flag given before the subcommand is not reset by the subcommand's parser."""
    default: Any = False if top else argparse.SUPPRESS
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")
    parser.add_argument(
        "--quiet", action="store_true", default=default, help="no progress or summary output (warnings, errors stay)"
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only the chosen `command`'s module is imported to add its arguments."""
    parser = Parser(prog="flashvsr", description="FlashVSR toolkit: curate, degrade, train, upscale, benchmark.")
    parser.add_argument("--version", action=_Version, help="print the version (and git commit) and exit")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, target) in COMMANDS.items():
        # "resolve": a command module that declares --quiet itself gets the shared flag instead
        p = sub.add_parser(name, help=help_text, description=help_text, conflict_handler="resolve")
        if name == command:
            module, _, attr = target.partition(":")
            getattr(importlib.import_module(module), attr)(p)
        _add_common(p, top=False)
    return parser


def _command_name(args: list[str]) -> str | None:
    return next((a for a in args if not a.startswith("-")), None)


@contextmanager
def _quiet_environment(quiet: bool) -> Iterator[None]:
    """Under --quiet, silence the progress bars and INFO logs of libraries the commands do not configure (tqdm's
    defaults, Ray's driver logger, any `logging` record below WARNING); all is restored afterwards."""
    if not quiet:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("TQDM_DISABLE", "RAY_LOGGER_LEVEL")}
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.setdefault("RAY_LOGGER_LEVEL", "warning")
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _fail(prog: str, message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    print(f"{prog}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flashvsr` console script; returns the exit code (see the module docstring)."""
    from vsrcore.cliargs import resolve_aliases
    from vsrcore.errors import (
        DISK_FULL,
        EXIT_INTERNAL,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_USAGE,
        DiskFull,
        UserFacingError,
    )

    args_list = list(sys.argv[1:] if argv is None else argv)
    command = _command_name(args_list)
    prog = f"flashvsr {command}" if command in COMMANDS else "flashvsr"
    debug = "--debug" in args_list[: args_list.index("--")] if "--" in args_list else "--debug" in args_list
    out = None
    try:
        parser = build_parser(command if command in COMMANDS else None)
        try:
            args = parser.parse_args(args_list)
        except SystemExit as e:  # --help, --version, or a usage error already printed in one line
            return EXIT_OK if e.code is None else int(e.code)
        debug = args.debug
        out = getattr(args, "out", None)
        if not args.command:
            parser.print_help()
            return EXIT_OK
        resolve_aliases(args, prog)
        if argv is None:  # a real command line: whatever it starts must not outlive it, even after kill -9
            from vsrcore.reaper import start_reaper

            start_reaper()
        with _quiet_environment(args.quiet), _sigterm_interrupts():
            return int(args.func(args) or EXIT_OK)
    except UserFacingError as e:
        _fail(prog, str(e), debug)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        _fail(prog, f"interrupted{f' ({e})' if str(e) else ''}", debug)
        return EXIT_INTERRUPTED
    except OSError as e:  # a file the command could not read or write: name it
        if e.errno in DISK_FULL:
            _fail(prog, str(DiskFull(e.filename or out or ".", e)), debug)
            return EXIT_USAGE
        where = f"{e.filename}: " if e.filename else f"{out}: " if out else ""
        _fail(prog, f"{where}{e.strerror or e}", debug)
        return EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - a bug: one line, the traceback with --debug
        _fail(prog, f"internal error: {type(e).__name__}: {e} (a bug; --debug shows the traceback)", debug)
        return EXIT_INTERNAL


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (`kill`, a batch scheduler's stop) ends a command like Ctrl-C: KeyboardInterrupt runs the same
    cleanup (pool workers stopped, Ray shut down, finished items kept) and the exit code is 130."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("terminated")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
