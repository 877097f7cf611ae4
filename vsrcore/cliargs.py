"""Arguments every `flashvsr` command spells the same way, and the old spellings kept for one release.

- output: `-o/--out PATH` (`add_output`);
- options: `--set KEY=VALUE`, repeatable, values parsed as JSON when they look like JSON (`add_set`, `parse_set`);
- `info(args, text)`: a progress or summary line, silenced by `--quiet` (warnings and errors go to stderr always).

An old spelling (a positional OUTPUT, `--output`, `--option`, `--config` ...) is parsed into a hidden destination
and merged into the new one by `resolve_aliases` after parsing, with a one-line deprecation warning on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vsrcore.errors import UsageError


ALIASES = "_deprecated_aliases"  # namespace attribute listing the parser's Alias entries
_REMOVAL = "it will be removed in the next release"


@dataclass(frozen=True)
class Alias:
    """An old spelling (`old`, parsed into `src`) of the option now spelled `new` (destination `dest`)."""

    old: str
    new: str
    src: str
    dest: str
    append: bool = False
    required: bool = False
    prefix: str = ""  # prepended to each KEY=VALUE item of an old --set spelling (--config k=v -> --set model.k=v)


def _register(parser: argparse.ArgumentParser, alias: Alias) -> None:
    parser.set_defaults(**{ALIASES: [*(parser.get_default(ALIASES) or []), alias]})
    if alias.old:
        note = f"deprecated: {alias.old} (use {alias.new}; {_REMOVAL})"
        parser.epilog = f"{parser.epilog}; {note}" if parser.epilog else note


def add_output(
    parser: argparse.ArgumentParser,
    help: str,
    *,
    required: bool = True,
    positional: bool = False,
    flags: tuple[str, ...] = (),
) -> None:
    """Add `-o/--out` (destination `out`); `positional` and `flags` keep old spellings as hidden aliases."""
    parser.add_argument("-o", "--out", metavar="PATH", help=help + (" (required)" if required else ""))
    if positional:
        parser.add_argument("_old_out_positional", nargs="?", metavar="OUTPUT", help=argparse.SUPPRESS)
        _register(parser, Alias("OUTPUT as a positional argument", "-o/--out", "_old_out_positional", "out"))
    for flag in flags:
        src = "_old_out" + flag.replace("-", "_")
        parser.add_argument(flag, dest=src, metavar="PATH", help=argparse.SUPPRESS)
        _register(parser, Alias(flag, "-o/--out", src, "out"))
    if required:  # checked after the aliases are merged (argparse cannot: an alias may give it)
        _register(parser, Alias("", "-o/--out", "", "out", required=True))


def add_method_dirs(parser: argparse.ArgumentParser, dir_help: str, python_help: str) -> None:
    """`--method-dir NAME=PATH` and `--method-python NAME=PYTHON` (repeatable): an external method's checkout and
    the interpreter of its own environment (`benchmark.external_methods`)."""
    parser.add_argument(
        "--method-dir", dest="method_dirs", action="append", default=[], metavar="NAME=PATH", help=dir_help
    )
    parser.add_argument(
        "--method-python", dest="method_pythons", action="append", default=[], metavar="NAME=PYTHON", help=python_help
    )


def add_set(parser: argparse.ArgumentParser, help: str, *, flags: dict[str, str] | None = None) -> None:
    """Add `--set KEY=VALUE` (repeatable, destination `set`); `flags` keep old spellings as hidden aliases, each
    mapped to the key prefix its items get (`{"--option": ""}`: same keys; `{"--config": "model."}`)."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help + " (repeatable)")
    for flag, prefix in (flags or {}).items():
        src = "_old_set" + flag.replace("-", "_")
        parser.add_argument(flag, dest=src, action="append", default=[], metavar="KEY=VALUE", help=argparse.SUPPRESS)
        new = f"--set {prefix}KEY=VALUE" if prefix else "--set"
        _register(parser, Alias(flag, new, src, "set", append=True, prefix=prefix))


def resolve_aliases(args: argparse.Namespace, prog: str) -> None:
    """Merge old spellings into the new destinations (warning once per spelling used); UsageError on a conflict
    or when a required option is given in no spelling."""
    for alias in getattr(args, ALIASES, None) or []:
        if alias.required:
            if getattr(args, alias.dest, None) is None:
                raise UsageError(f"the following arguments are required: {alias.new}")
            continue
        old = getattr(args, alias.src, None)
        delattr(args, alias.src)
        if not old:
            continue
        print(f"{prog}: warning: {alias.old} is deprecated, use {alias.new} ({_REMOVAL})", file=sys.stderr)
        new = getattr(args, alias.dest, None)
        if alias.append:
            setattr(args, alias.dest, [*(alias.prefix + item for item in old), *(new or [])])
        elif new is not None and new != old:
            raise UsageError(f"{alias.new} {new} and {alias.old} {old} disagree; give it once, with {alias.new}")
        else:
            setattr(args, alias.dest, old)
    if hasattr(args, ALIASES):
        delattr(args, ALIASES)


def parse_value(text: str) -> Any:
    """A `--set` value: JSON when it parses (numbers, true/false, null, lists, objects), else the text itself.
    Text that starts like JSON (`[`, `{`, `"`) but does not parse is a UsageError rather than a silent string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if text.startswith(("[", "{", '"')):
            raise UsageError(f"--set value {text!r} is not JSON ({e.msg} at character {e.pos})") from None
        return text


def parse_set(items: list[str], flag: str = "--set") -> dict[str, Any]:
    """{key: value} from repeated KEY=VALUE items (the last of a repeated key wins); UsageError when malformed."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} needs KEY=VALUE, got '{item}'")
        out[key.strip()] = parse_value(value)
    return out


def override_fields(config: Any, overrides: dict[str, Any], what: str = "field", _prefix: str = "") -> Any:
    """A copy of the dataclass `config` with `overrides` applied; a dotted key ("segments.window_s") reaches into
    a nested dataclass, and JSON lists become tuples for tuple-typed fields. An unknown field is UnknownName (with
    the closest field names)."""
    from vsrcore.registry import check_known

    fields = {f.name: f for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        check_known(what, [_prefix + head], [_prefix + n for n in fields])
        if rest:
            if not dataclasses.is_dataclass(getattr(config, head)):
                raise UsageError(f"--set {_prefix}{key}: '{_prefix}{head}' has no sub-fields")
            nested.setdefault(head, {})[rest] = value
        else:
            is_tuple = "tuple" in str(fields[head].type)
            changes[head] = tuple(value) if isinstance(value, list) and is_tuple else value
    for head, sub in nested.items():
        changes[head] = override_fields(getattr(config, head), sub, what, f"{_prefix}{head}.")
    return dataclasses.replace(config, **changes)


def info(args: argparse.Namespace, text: str) -> None:
    """Print a progress or summary line on stdout unless `--quiet`."""
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def one_line_main(prog: str, work: Callable[[], str]) -> int:
    """A `python -m` entry point: run `work` and print the summary line it returns (exit 0), or one line on stderr:
    `prog: message` for bad input (exit 2), `prog: interrupted` for Ctrl-C (exit 130)."""
    from vsrcore.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserFacingError

    try:
        summary = work()
    except UserFacingError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary)
    return EXIT_OK
