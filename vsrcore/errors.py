"""Errors that reach users as one line (the CLI prints them without a traceback)."""

from __future__ import annotations

import errno
from pathlib import Path


class UserFacingError(Exception):
    """An error caused by input or environment, not by a bug; its message is a complete sentence."""


class MediaError(UserFacingError):
    """A file that is missing, empty, truncated or not the media it claims to be."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple:  # rebuilt from (path, problem) after crossing to or from a worker process
        return (type(self), (self.path, self.problem))


# errno values that mean "the output cannot grow": no space, file too large (RLIMIT_FSIZE), quota exceeded
DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class DiskFull(UserFacingError):
    """Writing under `path` failed because the disk (or a size limit or quota) is full; finished work is kept."""

    def __init__(self, path: str | Path, error: OSError) -> None:
        self.path = str(path)
        self.error = error
        where = f" (writing {error.filename})" if error.filename else ""
        reason = error.strerror or str(error)
        super().__init__(
            f"{self.path}: {reason}{where}; finished items are kept, free some space and re-run the same command "
            "to resume"
        )

    def __reduce__(self) -> tuple:  # picklable from a worker process (the default would pass only the message)
        return (DiskFull, (self.path, self.error))


class MissingDependency(UserFacingError, ImportError):
    """An optional package a feature needs is not installed."""


class MissingWeights(UserFacingError):
    """Pretrained weights are absent; the message names the files, where they come from, and how to provide them."""

    def __init__(self, name: str, missing: list[str], searched: list[str], source: str) -> None:
        self.name = name
        self.missing = missing
        self.searched = searched
        self.source = source
        where = ", ".join(searched) if searched else "no weights directory"
        super().__init__(
            f"weights '{name}' missing: {', '.join(missing)} not found in {where}; "
            f"get them from {source} and put them in --weights-dir or $FLASHVSR_WEIGHTS"
        )


# The exit-code contract of every `flashvsr` command (decided in vsrcore.cli.main; documented in README.md).
EXIT_OK = 0
EXIT_USAGE = 2  # bad input or usage: unknown names, bad arguments, unreadable files, missing weights
EXIT_PARTIAL = 3  # the command finished, but some items failed and were recorded (which, and why)
EXIT_INTERRUPTED = 130  # SIGINT / Ctrl-C (128 + 2, the shell convention)
EXIT_INTERNAL = 1  # an unexpected exception: a bug (`--debug` shows the traceback)


class UsageError(UserFacingError):
    """A command line that cannot run as given (conflicting or missing arguments, bad KEY=VALUE ...)."""


class UnknownName(UserFacingError, KeyError):
    """A name that is not in a table (registry, subcommands, option keys); the message suggests the closest.

    A KeyError too, so `except KeyError` around registry look-ups keeps working.
    """

    def __init__(self, kind: str, name: str, suggestions: list[str], known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = suggestions
        if suggestions:
            hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?"
        else:
            shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
            hint = f"; known: {shown or 'none'}"
        self.message = f"unknown {kind} '{name}'{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError.__str__ would quote the message
        return self.message
