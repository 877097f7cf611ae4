"""A small lazy registry: name -> import target, default kwargs, required packages, metadata.

Listing and filtering never import the targets, so `flashvsr --help`, leaderboards and listings stay
free of torch. `build()` checks the declared packages first and imports the target only then.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vsrcore.deps import require


@dataclass(frozen=True)
class Entry:
    """One registered name. `target` is "package.module:Attribute"."""

    name: str
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """Import and return the target attribute (a class, function or object)."""
        module_name, _, attr = self.target.partition(":")
        if not attr:
            raise ValueError(f"registry target '{self.target}' must look like 'pkg.module:Attr'")
        return getattr(importlib.import_module(module_name), attr)


def unknown_name(kind: str, name: str, known: list[str]) -> str:
    """One line for an unknown name: "unknown metric 'msuiq'; did you mean 'musiq' or 'ms_ssim'?" (or every known
    name when none is close)."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return f"unknown {kind} '{name}'; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown {kind} '{name}'; known: {', '.join(sorted(known)) or 'none'}"


class Registry:
    """A named table of entries. Unknown names raise KeyError with "did you mean" suggestions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(
        self,
        name: str,
        target: str,
        *,
        kwargs: dict[str, Any] | None = None,
        requires: tuple[str, ...] = (),
        **meta: Any,
    ) -> Entry:
        """Register `name`; registering the same name twice is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        entry = Entry(name, target, dict(kwargs or {}), tuple(requires), dict(meta))
        self._entries[name] = entry
        return entry

    def spec(self, name: str) -> Entry:
        """The entry for `name`, or KeyError with close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(unknown_name(self.kind, name, list(self._entries))) from None

    def names(self, pattern: str = "*", **meta_filter: Any) -> list[str]:
        """Sorted names matching an fnmatch pattern and equal on every given metadata key."""
        return sorted(
            e.name
            for e in self._entries.values()
            if fnmatch.fnmatch(e.name, pattern) and all(e.meta.get(k) == v for k, v in meta_filter.items())
        )

    def build(self, name: str, **overrides: Any) -> Any:
        """Check required packages, import the target and call it with {**kwargs, **overrides}."""
        entry = self.spec(name)
        require(*entry.requires, feature=f"{self.kind} '{name}'")
        return entry.load()(**{**entry.kwargs, **overrides})

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[n] for n in sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
