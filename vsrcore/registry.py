"""A small lazy registry: name -> import target, default kwargs, required packages, metadata.

Listing and filtering never import the targets, so `flashvsr --help`, leaderboards and listings stay
free of torch. `build()` checks the declared packages first and imports the target only then.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vsrcore.deps import require
from vsrcore.errors import UnknownName


def suggest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` names of `known` closest to `name` (case-insensitive; close spellings first, then prefixes)."""
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(k.lower(), k)
    key = name.lower()
    close = difflib.get_close_matches(key, list(by_lower), n=n, cutoff=0.5)
    prefixed = [k for k in by_lower if len(key) >= 3 and k.startswith(key) and k not in close]
    return [by_lower[k] for k in [*close, *sorted(prefixed)][:n]]


def check_known(kind: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Raise UnknownName (one line: the first unknown name and the closest known ones) unless every name is known.

    The one "did you mean" of the toolkit: registries, subcommands, option keys and command-line lists use it.
    `kind` is what a name is, in the singular ("metric", "dataset", "command").
    """
    known = list(known)
    valid = set(known)
    for name in names:
        if name not in valid:
            raise UnknownName(kind, name, suggest(name, known), sorted(known))


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
    """The one-line message of `check_known` for an unknown name (for callers that raise their own error type)."""
    return UnknownName(kind, name, suggest(name, known), sorted(known)).message


class Registry:
    """A named table of entries. Unknown names raise UnknownName (a KeyError) with "did you mean" suggestions."""

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
        """The entry for `name`, or UnknownName (a KeyError) with close matches."""
        self.check([name])
        return self._entries[name]

    def check(self, names: Iterable[str]) -> None:
        """UnknownName for the first of `names` that is not registered (see `check_known`)."""
        check_known(self.kind, names, self._entries)

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
