"""`flashvsr bench`: methods x datasets x metrics -> result records (parquet) -> leaderboard (md + html)."""

from __future__ import annotations

import argparse
import sys


def _list(text: str | None) -> list[str] | None:
    return [t for t in text.split(",") if t] if text else None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the bench arguments."""
    from benchmark.runner import SUITES

    parser.add_argument(
        "--suite",
        default="default",
        choices=sorted(SUITES),
        help="default: the embedded sample set (CPU is enough); paper: standard sets under --data-root",
    )
    parser.add_argument("--datasets", help="comma list overriding the suite's datasets")
    parser.add_argument("--methods", help="comma list overriding the suite's methods (models or command methods)")
    parser.add_argument("--metrics", help="comma list overriding the suite's metrics")
    parser.add_argument("--lq", help="comma list of LQ variants for synthetic sets (samples: bi,bd,realbasicvsr)")
    parser.add_argument("--data-root", help="folder holding the standard datasets (REDS, UDM10, ...)")
    parser.add_argument("--out", default="results", help="results folder (re-running resumes)")
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
    """Run the suite and render the leaderboard."""
    from pathlib import Path

    from benchmark.runner import SUITES, BenchConfig
    from benchmark.runner import run as run_bench

    suite = SUITES[args.suite]
    commands = {}
    for item in args.command_methods:
        name, sep, template = item.partition("=")
        if not sep or not template:
            print(f"flashvsr bench: --command-method needs NAME=TEMPLATE, got '{item}'", file=sys.stderr)
            return 2
        commands[name] = template
    methods = _list(args.methods) or list(suite["methods"])
    methods += [c for c in commands if c not in methods]
    cfg = BenchConfig(
        methods=methods,
        datasets=_list(args.datasets) or list(suite["datasets"]),
        metrics=_list(args.metrics) or list(suite["metrics"]),
        out=Path(args.out),
        lq=_list(args.lq) or list(suite["lq"]),
        data_root=args.data_root,
        device=args.device,
        weights_dir=args.weights_dir,
        commands=commands,
        progress=not args.quiet,
    )
    counts = run_bench(cfg)
    print(
        f"{counts['records']} records written to {cfg.out / 'results.parquet'} "
        f"({counts['skipped_clips']} clips already done, {counts['method_failures']} method failures)"
    )
    if not args.no_leaderboard:
        from leaderboard import write_leaderboard

        paths = write_leaderboard([cfg.out / "results.parquet"], cfg.out / "leaderboard")
        print(f"leaderboard: {paths['markdown']} and {paths['html']}")
    return 0
