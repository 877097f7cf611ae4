"""`flashvsr bench`: methods x datasets x metrics -> result records (parquet) -> leaderboard (md + html)."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from typing import Any


def _list(text: str | None) -> list[str] | None:
    return [t for t in text.split(",") if t] if text else None


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    """NAME=VALUE items of a repeatable flag; BenchInputError for one without '=' or with an empty side."""
    from benchmark.runner import BenchInputError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise BenchInputError(f"{flag} needs NAME=VALUE, got '{item}'")
        if key in out:
            raise BenchInputError(f"{flag} {key} is given twice")
        out[key] = value
    return out


def _external_methods(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, Any]]:
    """(the --set options of datasets, {name: ExternalMethod} of the presets given a --method-dir, --method-python
    or a --set NAME.KEY option); BenchInputError for an unknown preset name or option."""
    from benchmark.external_methods import PRESETS, MethodSetupError, external_method
    from benchmark.runner import BenchInputError
    from vsrcore.cliargs import parse_value
    from vsrcore.registry import unknown_name

    dirs = _pairs(args.method_dirs, "--method-dir")
    pythons = _pairs(args.method_pythons, "--method-python")
    dataset_options, options = {}, {}
    for key, value in _pairs(args.settings, "--set").items():
        head, dot, rest = key.partition(".")
        if dot and head in PRESETS:
            options.setdefault(head, {})[rest] = parse_value(value)
        elif dot:
            raise BenchInputError(unknown_name("external method (--set NAME.KEY=VALUE)", head, list(PRESETS)))
        else:
            dataset_options[key] = value
    external = {}
    for name in dict.fromkeys([*dirs, *pythons, *options]):
        if name not in PRESETS:
            raise BenchInputError(unknown_name("external method", name, list(PRESETS)))
        try:
            external[name] = external_method(
                name, 4, checkout=dirs.get(name), python=pythons.get(name), options=options.get(name)
            )
        except MethodSetupError as e:
            raise BenchInputError(str(e)) from None
    return dataset_options, external


def _say_missing(methods: list[str], commands: dict[str, Any]) -> None:
    """One line on stderr per requested external method that cannot run here (its cells are recorded as missing)."""
    from benchmark.external_methods import PRESETS, ExternalMethod, external_method

    for name in methods:
        method = commands.get(name) or (external_method(name, 4) if name in PRESETS else None)
        if isinstance(method, ExternalMethod):
            problems = method.check()
            if problems:
                print(f"flashvsr bench: {name} will be recorded as missing: {problems[0]}", file=sys.stderr)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the bench arguments."""
    from benchmark.runner import SUITES
    from vsrcore.cliargs import add_method_dirs

    parser.add_argument(
        "--suite",
        default="default",
        choices=sorted(SUITES),
        help="default: the embedded sample set (CPU is enough); paper: standard sets under --data-root",
    )
    parser.add_argument("--datasets", help="comma list of registered datasets overriding the suite's")
    parser.add_argument(
        "--dataset",
        dest="user_datasets",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="add a folder of your own clips: DIR/gt/ and/or DIR/lq/ holding videos, images or frame folders "
        "(repeatable; without --datasets only these run)",
    )
    parser.add_argument("--methods", help="comma list overriding the suite's methods (models or command methods)")
    parser.add_argument("--metrics", help="comma list overriding the suite's metrics")
    parser.add_argument(
        "--lq", help="comma list of LQ variants for sets that synthesise LQ (bi, bd, realbasicvsr or a preset)"
    )
    parser.add_argument("--data-root", help="folder holding the standard datasets (REDS, UDM10, ...)")
    parser.add_argument("-o", "--out", default="results", help="results folder (re-running resumes)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of --dataset folders: scale (default 4), seed (LQ synthesis, default 0), frames "
        "(all, center, first:N), crop_border; or of an external method: NAME.KEY=VALUE (dove.seed=1, "
        "seedvr2-3b.gpus=2, star.weights=PATH, NAME.args='...'; see docs/benchmark.md) (repeatable)",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present)")
    parser.add_argument("--backend", default="local", choices=["local", "ray"],
                        help="local: cells one after another in this process; ray: each (dataset, method) a Ray "
                             "task, one GPU per model where the cluster has GPUs (same records)")  # fmt: skip
    parser.add_argument("--address", help="Ray cluster to join with --backend ray (default: start a local one)")
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.add_argument(
        "--command-method",
        dest="command_methods",
        action="append",
        default=[],
        metavar="NAME=TEMPLATE",
        help="add a command method: a shell template with {input} {output} {scale} {ffmpeg}",
    )
    add_method_dirs(
        parser,
        "run an external method from your checkout of it: dove, seedvr2-3b, seedvr2-7b, star (repeatable; "
        "adds NAME to the methods)",
        "the python interpreter of an external method's own environment (default: python on PATH)",
    )
    parser.add_argument("--no-leaderboard", action="store_true", help="do not render the leaderboard")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite and render the leaderboard. Exit 0 when every requested record scored or is missing for a stated
    reason, 3 when any errored (each recorded with its reason), 2 for bad input (one line, before any work)."""
    from pathlib import Path

    from benchmark.runner import SUITES, BenchConfig
    from benchmark.runner import run as run_bench
    from vsrcore.cliargs import info

    suite = SUITES[args.suite]
    commands: dict[str, Any] = _pairs(args.command_methods, "--command-method")
    user = _pairs(args.user_datasets, "--dataset")
    settings, external = _external_methods(args)
    methods = _list(args.methods) or list(suite["methods"])
    methods += [c for c in [*commands, *external] if c not in methods]
    commands.update(external)
    datasets = _list(args.datasets) or ([] if user else list(suite["datasets"]))
    cfg = BenchConfig(
        methods=methods,
        datasets=datasets,
        metrics=_list(args.metrics) or list(suite["metrics"]),
        out=Path(args.out),
        lq=_list(args.lq) or list(suite["lq"]),
        data_root=args.data_root,
        device=args.device,
        weights_dir=args.weights_dir,
        commands=commands,
        progress=not args.quiet,
        user_datasets=user,
        dataset_options=settings,
    )
    _say_missing(methods, commands)
    start = time.monotonic()
    if args.backend == "ray":
        from benchmark.ray_backend import run_on_ray
        from vsrcore.ray_cluster import shutdown_ray

        try:
            summary = run_bench(cfg, execute=functools.partial(run_on_ray, address=args.address))
        finally:
            shutdown_ray()
    else:
        summary = run_bench(cfg)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items()))
    info(
        args,
        f"{summary.records} records written to {cfg.out} ({counts}; {summary.skipped_clips} clips already done, "
        f"{summary.method_failures} method failures) in {time.monotonic() - start:.0f} s",
    )
    if not args.no_leaderboard:
        from leaderboard import write_leaderboard

        paths = write_leaderboard([cfg.out], cfg.out / "leaderboard")
        info(args, f"leaderboard: {paths['markdown']} and {paths['html']}")
    if summary.exit_code:
        from leaderboard.board import load_records

        errors = [r for r in load_records(cfg.out) if r.get("status") == "error"]
        first = f"{errors[0].get('reason', '')}; " if errors else ""
        print(
            f"flashvsr bench: {first}{summary.statuses['error']} records are errors (status 'error', reason in the "
            f"records in {cfg.out})",
            file=sys.stderr,
        )
    return summary.exit_code
