"""`flashvsr bench`: methods x datasets x metrics -> result records (parquet) -> leaderboard (md + html)."""

from __future__ import annotations

import argparse
import sys


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


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the bench arguments."""
    from benchmark.runner import SUITES

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
        "(all, center, first:N), crop_border (repeatable)",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present)")
    parser.add_argument("--weights-dir", help="folder searched first for weights (also $FLASHVSR_WEIGHTS)")
    parser.add_argument(
        "--command-method",
        dest="command_methods",
        action="append",
        default=[],
        metavar="NAME=TEMPLATE",
        help="add a command method: a shell template with {input} {output} {scale} {ffmpeg}",
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

    suite = SUITES[args.suite]
    commands = _pairs(args.command_methods, "--command-method")
    user = _pairs(args.user_datasets, "--dataset")
    methods = _list(args.methods) or list(suite["methods"])
    methods += [c for c in commands if c not in methods]
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
        dataset_options=_pairs(args.settings, "--set"),
    )
    summary = run_bench(cfg)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items()))
    print(
        f"{summary.records} records written to {cfg.out} ({counts}; {summary.skipped_clips} clips already done, "
        f"{summary.method_failures} method failures)"
    )
    if not args.no_leaderboard:
        from leaderboard import write_leaderboard

        paths = write_leaderboard([cfg.out], cfg.out / "leaderboard")
        print(f"leaderboard: {paths['markdown']} and {paths['html']}")
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
