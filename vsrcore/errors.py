"""Errors that reach users as one line (the CLI prints them without a traceback)."""

from __future__ import annotations

from pathlib import Path


class UserFacingError(Exception):
    """An error caused by input or environment, not by a bug; its message is a complete sentence."""


class MediaError(UserFacingError):
    """A file that is missing, empty, truncated or not the media it claims to be."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


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
